"""`flask notifications ...`: the batching drain and the daily digest (run from cron)."""

from __future__ import annotations

import click
from flask import Blueprint

from forum.mail import services as mail
from forum.notifications import services

bp = Blueprint("notifications_cli", __name__, cli_group="notifications")


def _deliver() -> None:
    while True:
        sent, failed = mail.send_pending()
        if sent + failed == 0 or (sent == 0 and failed):
            return


@bp.cli.command("send-pending")
def send_pending_command() -> None:
    """Mail notification batches that waited long enough (run every minute)."""
    mailed = services.send_immediate_batches()
    _deliver()
    click.echo(f"Queued {mailed} notification mail(s); {mail.pending_count()} waiting in the outbox.")


@bp.cli.command("send-digests")
def send_digests_command() -> None:
    """Mail the daily digests that are due (run once a day)."""
    mailed = services.send_digests()
    _deliver()
    click.echo(f"Queued {mailed} digest(s); {mail.pending_count()} waiting in the outbox.")
