"""Who may do what with boards, threads and posts: named predicates, used by services and Jinja."""

from __future__ import annotations

from functools import cached_property
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


class ThreadViewer:
    """Someone reading one thread, as the post predicates see them: the parts of each rule that
    depend only on the reader and the thread (a member? in good standing? a moderator of this
    board?), each worked out once, when first needed.

    A thread page asks half a dozen predicates about each of its posts. Given the page's viewer
    in place of the user, `can_edit_post(viewer, post)` answers as `can_edit_post(user, post)`
    does, with a few comparisons instead of going through Flask-Login's proxy, the sanctions
    and the moderator scopes again for every post. The rules themselves stay in the predicates.
    """

    def __init__(self, user: Any, thread: Thread) -> None:
        self.user = user
        self.thread = thread
        self.is_member = _is_member(user)
        self.id: int | None = user.id if self.is_member else None

    @cached_property
    def can_post(self) -> bool:
        return can_post(self.user)

    @cached_property
    def moderates_board(self) -> bool:
        """is_moderator_of(user, thread.board): site-wide moderators, or this board's."""
        return is_moderator_of(self.user, self.thread.board)

    @cached_property
    def board_is_archived(self) -> bool:
        return self.thread.board.archived_at is not None

    @cached_property
    def is_site_moderator(self) -> bool:
        return self.is_member and self.user.is_moderator


def thread_viewer(user: Any, thread: Thread) -> ThreadViewer:
    """`user` (or None, or a ThreadViewer) as a reader of `thread`."""
    if isinstance(user, ThreadViewer):
        if user.thread is thread:
            return user
        user = user.user
    return ThreadViewer(user, thread)


# The post predicates take a user or a ThreadViewer of the post's thread (see above).


def can_edit_post(user: Any, post: Post) -> bool:
    viewer = thread_viewer(user, post.thread)
    if not viewer.is_member or post.deleted_at is not None:
        return False
    if viewer.moderates_board:
        return True
    # An author may not change a post a moderator hid or held, nor one in a locked thread or an
    # archived board (read-only history): moderators still can (issue #13).
    return (
        post.author_id == viewer.id
        and viewer.can_post
        and not post.thread.is_locked
        and post.hidden_at is None
        and not viewer.board_is_archived
    )


def can_delete_post(user: Any, post: Post) -> bool:
    viewer = thread_viewer(user, post.thread)
    if not viewer.is_member or post.deleted_at is not None:
        return False
    if viewer.moderates_board:
        return True
    return post.author_id == viewer.id and not post.thread.is_locked and not viewer.board_is_archived


def can_see_post_body(user: Any, post: Post) -> bool:
    """Hidden posts stay readable to moderators; deleted ones to nobody."""
    if post.deleted_at is not None:
        return False
    if post.hidden_at is not None:
        return thread_viewer(user, post.thread).moderates_board
    return True


def can_manage_boards(user: Any) -> bool:
    return _is_member(user) and isinstance(user, User) and user.is_admin


def can_see_thread(user: Any, thread: Thread) -> bool:
    if thread.deleted_at is not None or thread.hidden_at is not None:
        return is_moderator_of(user, thread.board)
    return True
