"""`flask wiki ...`: operator commands for the wiki."""

from __future__ import annotations

import click
from flask import Blueprint
from sqlalchemy import func, select

from forum.extensions import db
from forum.wiki import editing
from forum.wiki.models import WikiRevision

bp = Blueprint("wiki_cli", __name__, cli_group="wiki")


@bp.cli.command("rerender")
def rerender() -> None:
    """Render every wiki revision again and rebuild "what links here" (after Markdown changes)."""
    total = db.session.scalar(select(func.count()).select_from(WikiRevision)) or 0
    with click.progressbar(length=total, label="Rendering wiki revisions") as bar:
        for done in editing.rerender_revisions():
            bar.update(done)
    click.echo(f"Rendered {total:,} revision{'s' if total != 1 else ''}.")
