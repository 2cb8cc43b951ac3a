"""`flask uploads cleanup`: forget uploads never posted, and delete bytes nothing needs."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Blueprint

from forum.extensions import db
from forum.uploads import services

bp = Blueprint("uploads_cli", __name__, cli_group="uploads")


@bp.cli.command("cleanup")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(min=0),
              help="Forget uploads not used in any post or wiki page after this many hours.")  # fmt: skip
def cleanup(hours: int) -> None:
    """Remove orphan uploads (the periodic "upload-cleanup" job does this daily)."""
    click.echo(f"Looking for uploads not posted within {hours} hour(s)…")
    forgotten, deleted = services.cleanup(timedelta(hours=hours))
    db.session.commit()
    click.echo(f"Forgot {forgotten} upload(s); deleted {deleted} stored file(s).")
