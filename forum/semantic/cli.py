"""`flask semantic reindex`, `flask semantic status`."""

from __future__ import annotations

import click
from flask import Blueprint

from forum.extensions import db
from forum.semantic import model, services

bp = Blueprint("semantic", __name__, cli_group="semantic")


def _require_on() -> None:
    if not services.is_on():
        raise click.ClickException(
            "The semantic layer is off: SEMANTIC_SEARCH is off, or the semantic extra or its model "
            "is not installed (README, Semantic similar threads)."
        )


@bp.cli.command("reindex")
@click.option("--all", "everything", is_flag=True, help="Recompute every thread, not only those waiting.")
def reindex(everything: bool) -> None:
    """Compute the vectors of the threads waiting for one (existing threads, after turning it on)."""
    _require_on()
    if everything:
        services.forget_vectors()
        db.session.commit()
    total = services.waiting_count()
    with click.progressbar(length=total, label="Embedding threads") as bar:
        done = services.embed_waiting(limit=total, progress=bar.update)
    click.echo(f"Embedded {done} threads; {services.waiting_count()} waiting.")


@bp.cli.command("status")
def status() -> None:
    """Whether the layer is on, the model, threads with a vector and threads waiting."""
    click.echo(f"Semantic layer: {'on' if services.is_on() else 'off'}")
    click.echo(
        f"Model:          {model.MODEL_NAME} ({'installed' if model.available() else 'not installed'})"
    )
    click.echo(f"With a vector:  {services.embedded_count()}")
    click.echo(f"Waiting:        {services.waiting_count()}")
