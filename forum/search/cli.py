"""`flask search reindex`, `flask search status`, `flask search drain`."""

from __future__ import annotations

import click

from forum.errors import ServiceError
from forum.search import outbox, services
from forum.search.views import bp


@bp.cli.command("reindex")
def reindex() -> None:
    """Rebuild the index from the database into a new directory, then swap it in."""
    total = services.count_documents()
    try:
        with click.progressbar(length=total, label="Indexing posts and wiki pages") as bar:
            done = services.reindex(bar.update)
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Indexed {done} documents.")


@bp.cli.command("status")
def status() -> None:
    """Show the backend, documents indexed and the outbox backlog."""
    state = services.status()
    click.echo(f"Backend:              {state.backend}")
    click.echo(f"Documents indexed:    {state.indexed}")
    click.echo(f"Searchable in the DB: {state.searchable}")
    click.echo(f"Outbox backlog:       {state.backlog}")


@bp.cli.command("drain")
@click.option("--wait", default=10.0, show_default=True, help="Seconds to wait for the index lock.")
def drain(wait: float) -> None:
    """Apply pending outbox rows to the index (cron-safe; normally done after each change)."""
    click.echo(f"Applied {outbox.drain(wait=wait)} outbox rows; {outbox.backlog()} left.")
