"""What "visible" means for threads and posts, in SQL: written once, used by every feature.

A visible thread or post is one a reader who is not a moderator sees: not deleted and not
hidden by a moderator (Lobsters' `scope :active`, issue #20). A post's own conditions say
nothing of its thread: a caller that shows a post only in a visible thread joins the thread
and adds `thread_is_visible()` too. Places that mean something else on purpose (only
deleted rows left out, moderators' views, full exports) write their own conditions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select

from forum.boards.models import Post, Thread


def thread_is_visible(thread: Any = Thread) -> ColumnElement[bool]:
    """The thread (or an alias of it) is neither deleted nor hidden by a moderator."""
    return and_(thread.deleted_at.is_(None), thread.hidden_at.is_(None))


def post_is_visible(post: Any = Post) -> ColumnElement[bool]:
    """The post (or an alias of it) is neither deleted nor hidden by a moderator; its thread is not checked."""
    return and_(post.deleted_at.is_(None), post.hidden_at.is_(None))


def visible_threads() -> Select[tuple[Thread]]:
    """Threads neither deleted nor hidden by a moderator: a starting point to add to."""
    return select(Thread).where(thread_is_visible())


def visible_posts() -> Select[tuple[Post]]:
    """Posts neither deleted nor hidden by a moderator (their threads not checked): a starting point."""
    return select(Post).where(post_is_visible())
