"""Who may vote for ideas and set their status: named predicates for services and Jinja."""

from __future__ import annotations

from typing import Any

from forum.badges.permissions import is_employee
from forum.boards.models import Thread
from forum.boards.permissions import can_post, is_moderator_of


def is_idea(thread: Thread) -> bool:
    return thread.board.kind == "ideas"


def can_set_idea_status(user: Any, thread: Thread | None = None) -> bool:
    """Moderators, and verified employees (the company's answer on its ideas board)."""
    return is_moderator_of(user, thread.board if thread is not None else None) or is_employee(user)


def can_vote_idea(user: Any, thread: Thread) -> bool:
    """Members in good standing, on visible ideas by somebody else (open or closed: services say why)."""
    return (
        can_post(user)
        and is_idea(thread)
        and thread.author_id != user.id
        and thread.deleted_at is None
        and thread.hidden_at is None
    )
