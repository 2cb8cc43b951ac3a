"""`flask mail ...`: deliver the outbox by hand (cron, or after an SMTP outage)."""

from __future__ import annotations

import click
from flask import Blueprint

from forum.mail import services

bp = Blueprint("mail", __name__, cli_group="mail")


@bp.cli.command("send-pending")
def send_pending_command() -> None:
    """Send every queued message that is due."""
    total_sent = total_failed = 0
    while True:
        sent, failed = services.send_pending()
        total_sent += sent
        total_failed += failed
        if sent + failed == 0 or (sent == 0 and failed):
            break
    click.echo(f"Sent {total_sent}, failed {total_failed}, pending {services.pending_count()}.")
