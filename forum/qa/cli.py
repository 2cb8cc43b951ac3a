"""`flask qa recount`: recompute helpful counts, solution counts, reputation and idea votes."""

from __future__ import annotations

import click
from flask import Blueprint

from forum.extensions import db
from forum.ideas import services as ideas
from forum.qa import services

bp = Blueprint("qa_cli", __name__, cli_group="qa")


@bp.cli.command("recount")
def recount() -> None:
    """Recompute Q&A counters from the vote and solution rows (they are kept live; this repairs drift)."""
    changed = services.recount() + ideas.recount()
    db.session.commit()
    click.echo(f"Recounted: {changed} counter row(s) corrected.")
