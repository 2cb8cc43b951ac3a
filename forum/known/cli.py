"""`flask known figures`: recompute the company's response figures and the register's 7-day
counts (also hourly in the worker)."""

from __future__ import annotations

import time

import click
from flask import Blueprint

from forum.extensions import db
from forum.known.response import compute_figures
from forum.known.services import recount_recent_affected

bp = Blueprint("known_cli", __name__, cli_group="known")


@bp.cli.command("figures")
def figures() -> None:
    """Recompute /response and the register's 7-day counts (a few grouped queries; run hourly)."""
    started = time.monotonic()
    click.echo("Computing the response figures…")
    cells = compute_figures()
    issues = recount_recent_affected()
    db.session.commit()
    click.echo(
        f"{cells} month × board cells, {issues} known issues' 7-day counts in {time.monotonic() - started:.1f} s."
    )
