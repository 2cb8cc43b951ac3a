"""Who may do what with known problems: named predicates for services and Jinja."""

from __future__ import annotations

from typing import Any

from forum.badges.permissions import is_employee
from forum.boards.models import Board, Thread
from forum.boards.permissions import can_post, is_moderator_of


def takes_affected(thread: Thread) -> bool:
    """Questions take "affected too": open threads of question boards."""
    return (
        thread.board.is_question_board
        and thread.deleted_at is None
        and thread.merged_into_id is None
        and thread.duplicate_of_id is None
    )


def can_say_affected(user: Any, thread: Thread) -> bool:
    """A member in good standing, not the asker (who counts already), on an open question."""
    return can_post(user) and takes_affected(thread) and user.id != thread.author_id


def can_manage_known_issue(user: Any, thread: Thread) -> bool:
    """Moderators of the board and verified employees (an active badge: a revoked one is not)."""
    if not can_post(user) or not thread.board.is_question_board or thread.deleted_at is not None:
        return False
    return is_moderator_of(user, thread.board) or is_employee(user)


def can_edit_problem_details(user: Any, thread: Thread) -> bool:
    """The asker (in good standing, thread not locked) and the board's moderators."""
    if not can_post(user) or thread.deleted_at is not None:
        return False
    if is_moderator_of(user, thread.board):
        return True
    return user.id == thread.author_id and not thread.is_locked


def can_define_problem_fields(user: Any, board: Board | None = None) -> bool:
    """Administrators define the fields (they shape every question asked in a board)."""
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_admin", False))
