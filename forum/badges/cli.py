"""`flask badges notify-expiring`: warn members before their badge ends (run it daily from cron)."""

from __future__ import annotations

import click

from forum.badges import expiry, verification
from forum.badges.views import bp
from forum.extensions import db


@bp.cli.command("notify-expiring")
def notify_expiring() -> None:
    """Tell members whose badge expires soon (once per badge), and forget used link addresses."""
    told = expiry.notify_expiring()
    forgotten = verification.forget_old_addresses()
    db.session.commit()
    click.echo(f"Told {told} member(s) their badge expires soon; forgot {forgotten} old work address(es).")
