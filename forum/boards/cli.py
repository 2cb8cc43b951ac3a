"""`flask boards ...` and `flask posts ...`."""

from __future__ import annotations

import click
from flask import Blueprint

from forum.boards import services
from forum.boards.models import BOARD_KINDS
from forum.errors import ServiceError
from forum.extensions import db

boards_cli = Blueprint("boards_cli", __name__, cli_group="boards")
posts_cli = Blueprint("posts_cli", __name__, cli_group="posts")


@boards_cli.cli.command("create")
@click.argument("name")
@click.option("--slug", help="Address part: /b/<slug>. Derived from the name if not given.")
@click.option("--description", default="")
@click.option("--kind", type=click.Choice(BOARD_KINDS), default="questions", show_default=True)
def create_board(name: str, slug: str | None, description: str, kind: str) -> None:
    """Create a board (placed last in the order)."""
    try:
        board = services.create_board(name, slug=slug, description=description, kind=kind)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Board {board.name!r} created at /b/{board.slug}.")


@boards_cli.cli.command("list")
def list_boards() -> None:
    """Show boards in display order with their counters."""
    for board in services.list_boards():
        click.echo(f"{board.position:>3}  /b/{board.slug:<24} {board.name:<28} "
                   f"{board.thread_count:>7} threads {board.post_count:>8} posts  ({board.kind})")  # fmt: skip


@posts_cli.cli.command("rerender")
@click.option("--batch-size", default=500, show_default=True)
def rerender(batch_size: int) -> None:
    """Render every post's Markdown again with the current rules."""
    total = services.count_posts()
    with click.progressbar(length=total, label="Rendering posts") as bar:
        for done in services.rerender_posts(batch_size):
            bar.update(done)
    click.echo(f"Rendered {total} posts.")
