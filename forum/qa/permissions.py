"""Who may mark solutions and vote posts helpful: named predicates for services and Jinja."""

from __future__ import annotations

from typing import Any

from forum.boards.models import Post, Thread
from forum.boards.permissions import can_post, is_moderator_of, thread_viewer


def _is_member(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def can_mark_solution(user: Any, thread: Thread) -> bool:
    """The asker (while the thread is open) or a moderator, in a question board."""
    if not _is_member(user) or thread.deleted_at is not None or not thread.board.is_question_board:
        return False
    if is_moderator_of(user, thread.board):
        return True
    return thread.author_id == user.id and can_post(user) and not thread.is_locked


def can_be_solution(post: Post) -> bool:
    """A visible reply (never the question itself)."""
    return not post.is_opening and post.is_visible


def can_vote_helpful(user: Any, post: Post) -> bool:
    """Members in good standing, on visible posts by somebody else. `user` may be a ThreadViewer."""
    viewer = thread_viewer(user, post.thread)
    return (
        viewer.can_post and post.author_id != viewer.id and post.is_visible and post.thread.deleted_at is None
    )
