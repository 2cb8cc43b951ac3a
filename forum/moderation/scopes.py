"""Per-board moderator scopes: which boards a member moderates."""

from __future__ import annotations

from sqlalchemy import select

from forum.auth.models import User
from forum.extensions import db
from forum.moderation.models import BoardModerator


def moderated_board_ids(user: User) -> frozenset[int]:
    """The boards `user` moderates, loaded once per user object (a request's worth)."""
    cached = user.__dict__.get("_moderated_board_ids")
    if cached is None:
        cached = frozenset(
            db.session.scalars(select(BoardModerator.board_id).where(BoardModerator.user_id == user.id))
        )
        user.__dict__["_moderated_board_ids"] = cached
    return cached


def forget_scopes(user: User) -> None:
    user.__dict__.pop("_moderated_board_ids", None)
