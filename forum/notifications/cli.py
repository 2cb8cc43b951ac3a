"""`flask notifications ...`: the batching drain and the daily digest (run from cron)."""

from __future__ import annotations

import click
from flask import Blueprint

from forum.mail import services as mail
from forum.notifications import delivery, inbox

bp = Blueprint("notifications_cli", __name__, cli_group="notifications")


def _deliver() -> None:
    while True:
        sent, failed = mail.send_pending()
        if sent + failed == 0 or (sent == 0 and failed):
            return


@bp.cli.command("send-pending")
def send_pending_command() -> None:
    """Mail notification batches that waited long enough (run every minute)."""
    mailed = delivery.send_immediate_batches()
    _deliver()
    click.echo(f"Queued {mailed} notification mail(s); {mail.pending_count()} waiting in the outbox.")


@bp.cli.command("send-digests")
def send_digests_command() -> None:
    """Mail the daily digests that are due (run once a day)."""
    mailed = delivery.send_digests()
    _deliver()
    click.echo(f"Queued {mailed} digest(s); {mail.pending_count()} waiting in the outbox.")


@bp.cli.command("prune")
@click.option(
    "--days", type=click.IntRange(min=1), default=None,
    help="Keep read notifications this many days (default: NOTIFICATION_RETENTION_DAYS, 90).",
)  # fmt: skip
def prune_command(days: int | None) -> None:
    """Delete read notifications older than the retention period (run daily). Unread ones stay."""
    from datetime import timedelta

    from flask import current_app

    from forum.db import utcnow
    from forum.extensions import db

    keep = days if days is not None else int(current_app.config["NOTIFICATION_RETENTION_DAYS"])
    removed = inbox.prune_read(utcnow() - timedelta(days=keep))
    db.session.commit()
    click.echo(f"Deleted {removed} read notification(s) older than {keep} day(s).")
