"""Moderation test helpers: staff accounts, aged members, database snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, text

from forum.auth.models import User
from forum.boards.models import Board
from forum.db import utcnow
from forum.extensions import db
from forum.moderation import users as moderation_users
from forum.moderation.models import AuditEntry
from tests.factories import make_user


def make_member(username: str | None = None, **fields: Any) -> User:
    """A member past the new-account limits (a week old; tests need no posts behind them)."""
    fields.setdefault("created_at", utcnow() - timedelta(days=7))
    return make_user(username, **fields)


def make_new_member(username: str | None = None) -> User:
    return make_user(username)


def make_moderator(username: str | None = None) -> User:
    return make_member(username, role="moderator")


def make_admin(username: str | None = None) -> User:
    return make_member(username, role="admin")


def make_board_moderator(board: Board, username: str | None = None) -> User:
    user = make_member(username)
    moderation_users.set_role(user, "moderator", board=board, actor=None)
    db.session.commit()
    return user


def audit_rows(action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, to prove that a refused request changed nothing."""
    db.session.expire_all()
    tables = {}
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            rows = connection.execute(text(f'SELECT * FROM "{table.name}"')).all()
            tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return tables
