"""`flask users ...`: the first admin, roles and passwords from the command line."""

from __future__ import annotations

import click
from flask import Blueprint

from forum.auth import services
from forum.errors import ServiceError
from forum.extensions import db

bp = Blueprint("users", __name__, cli_group="users")


@bp.cli.command("create-admin")
@click.option("--username", prompt=True)
@click.option("--email", prompt=True)
@click.password_option(help="Prompted (twice) when not given.")
def create_admin(username: str, email: str, password: str) -> None:
    """Create an administrator account (there are no default credentials)."""
    try:
        user = services.register_user(username, email, password, role="admin")
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Administrator {user.username} created.")


@bp.cli.command("set-password")
@click.argument("username")
@click.password_option()
def set_password(username: str, password: str) -> None:
    """Set a member's password and log them out everywhere."""
    try:
        user = services.get_user_by_username(username)
        services.set_password(user, password)
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"Password of {user.username} changed; their sessions are ended.")
