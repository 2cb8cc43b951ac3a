"""Who may do what with boards, threads and posts: named predicates, used by services and Jinja."""

from __future__ import annotations

from typing import Any

from forum.auth.models import User
from forum.auth.services import is_silenced, is_suspended
from forum.boards.models import Board, Post, Thread


def _is_member(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_moderator_of(user: Any, board: Board | None = None) -> bool:
    """Site-wide moderators and admins; board moderators for their own boards (forum.moderation)."""
    if not _is_member(user):
        return False
    if user.is_moderator:
        return True
    if board is None or not getattr(user, "moderated_board_count", 0):
        return False
    from forum.moderation.scopes import moderated_board_ids

    return board.id in moderated_board_ids(user)


def can_post(user: Any) -> bool:
    """A member in good standing: not silenced, not suspended."""
    return _is_member(user) and not is_silenced(user) and not is_suspended(user)


def can_start_thread(user: Any, board: Board) -> bool:
    if not can_post(user) or board.archived_at is not None:
        return False
    if board.kind == "announcements":
        return is_moderator_of(user, board)
    return True


def can_reply(user: Any, thread: Thread) -> bool:
    if not can_post(user) or thread.deleted_at is not None or thread.board.archived_at is not None:
        return False
    if thread.is_locked:
        return is_moderator_of(user, thread.board)
    return True


def can_edit_post(user: Any, post: Post) -> bool:
    if not _is_member(user) or post.deleted_at is not None:
        return False
    if is_moderator_of(user, post.thread.board):
        return True
    return (
        post.author_id == user.id and can_post(user) and not post.thread.is_locked and post.hidden_at is None
    )


def can_delete_post(user: Any, post: Post) -> bool:
    if not _is_member(user) or post.deleted_at is not None:
        return False
    if is_moderator_of(user, post.thread.board):
        return True
    return post.author_id == user.id and not post.thread.is_locked


def can_see_post_body(user: Any, post: Post) -> bool:
    """Hidden posts stay readable to moderators; deleted ones to nobody."""
    if post.deleted_at is not None:
        return False
    if post.hidden_at is not None:
        return is_moderator_of(user, post.thread.board)
    return True


def can_manage_boards(user: Any) -> bool:
    return _is_member(user) and isinstance(user, User) and user.is_admin


def can_see_thread(user: Any, thread: Thread) -> bool:
    if thread.deleted_at is not None or thread.hidden_at is not None:
        return is_moderator_of(user, thread.board)
    return True
