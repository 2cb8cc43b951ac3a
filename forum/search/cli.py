"""`flask search reindex`, `flask search status`, `flask search drain`."""

from __future__ import annotations

import click

from forum.errors import ServiceError
from forum.extensions import db
from forum.search import outbox, services, synonyms
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


@bp.cli.group("synonyms")
def synonyms_group() -> None:
    """List and edit the synonym pairs searches use (also at /admin/search/synonyms)."""


@synonyms_group.command("list")
def synonyms_list() -> None:
    """Print every pair."""
    for pair in synonyms.list_synonyms():
        click.echo(f"{pair.id:>5}  {pair.word} ~ {pair.synonym}")


def _admin(username: str):  # noqa: ANN202 (a User)
    from sqlalchemy import func, select

    from forum.auth.models import User

    user = db.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    if user is None:
        raise click.ClickException(f"There is no user {username!r}.")
    return user


@synonyms_group.command("add")
@click.argument("word")
@click.argument("synonym")
@click.option("--as", "username", required=True, help="The administrator making the change.")
def synonyms_add(word: str, synonym: str, username: str) -> None:
    """Make WORD and SYNONYM find each other."""
    try:
        pair = synonyms.add_synonym(word, synonym, actor=_admin(username))
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Added {pair.word} ~ {pair.synonym}.")


@synonyms_group.command("remove")
@click.argument("pair_id", type=int)
@click.option("--as", "username", required=True, help="The administrator making the change.")
def synonyms_remove(pair_id: int, username: str) -> None:
    """Remove the pair with this id (see `list`)."""
    try:
        pair = synonyms.remove_synonym(pair_id, actor=_admin(username))
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Removed {pair.word} ~ {pair.synonym}.")


@synonyms_group.command("seed")
def synonyms_seed() -> None:
    """Add the starting telecom pairs that are missing (evening ~ night, bill ~ invoice, ...)."""
    added = synonyms.seed()
    db.session.commit()
    click.echo(f"Added {added} pairs.")
