"""`flask known figures`: recompute the company's response figures (also hourly in the worker)."""

from __future__ import annotations

import time

import click
from flask import Blueprint

from forum.extensions import db
from forum.known.response import compute_figures

bp = Blueprint("known_cli", __name__, cli_group="known")


@bp.cli.command("figures")
def figures() -> None:
    """Recompute /response from the threads (a few grouped queries; run hourly)."""
    started = time.monotonic()
    click.echo("Computing the response figures…")
    cells = compute_figures()
    db.session.commit()
    click.echo(f"{cells} month × board cells in {time.monotonic() - started:.1f} s.")
