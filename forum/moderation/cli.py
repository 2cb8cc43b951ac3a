"""`flask users set-role USERNAME ROLE [--board SLUG]` (added to the existing `users` group)."""

from __future__ import annotations

import click

from forum.auth import services as accounts
from forum.auth.cli import bp as users_cli
from forum.boards import services as boards
from forum.errors import ServiceError
from forum.extensions import db
from forum.moderation import users


@users_cli.cli.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["member", "moderator", "admin"]))
@click.option("--board", "board_slug", help="Grant (moderator) or remove (member) moderation of one board.")
def set_role(username: str, role: str, board_slug: str | None) -> None:
    """Change a member's role; the change is written to the moderation log."""
    try:
        user = accounts.get_user_by_username(username)
        board = boards.get_board(board_slug) if board_slug else None
        change = users.set_role(user, role, board=board, actor=None)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Done: {change}.")
