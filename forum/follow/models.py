"""Following a conversation: where each member stopped reading, drafts and bookmarks (issue #15)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, bindparam, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db

MAX_NOTE_LENGTH = 500


class ThreadRead(db.Model):
    """How far a member has read a thread, and how much of it existed when they last looked.

    `last_read_position`: the highest post position they were shown (unread counts and the
    "new since your last visit" divider). `seen_position`: the thread's post count when they
    last opened any page of it; notifications about posts at or before it count as read, so a
    visit clears them without a second write (forum.notifications.models.unread_clause).
    """

    __tablename__ = "thread_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    last_read_position: Mapped[int] = mapped_column(default=0)
    seen_position: Mapped[int] = mapped_column(default=0)
    read_at: Mapped[datetime] = mapped_column(default=utcnow)


class BoardRead(db.Model):
    """A member's "mark all read" on a board: threads without activity since then are read."""

    __tablename__ = "board_reads"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    board_id: Mapped[int] = mapped_column(
        ForeignKey("boards.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draft(db.Model):
    """An unsent reply (thread_id) or new thread (board_id), kept for the member who typed it."""

    __tablename__ = "drafts"
    __table_args__ = (
        UniqueConstraint("user_id", "thread_id", name="uq_drafts_user_thread"),
        UniqueConstraint("user_id", "board_id", name="uq_drafts_user_board"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bookmark(db.Model):
    """A post a member keeps, with an optional note to themself."""

    __tablename__ = "bookmarks"
    __table_args__ = (
        UniqueConstraint("user_id", "post_id", name="uq_bookmarks_user_post"),
        Index("ix_bookmarks_user_created", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(String(MAX_NOTE_LENGTH), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    post: Mapped[Post] = relationship()


# The reading member's relation to a thread and its posts, loaded with the rows they belong to
# for the member's id given as the "viewer_id" parameter (forum.boards.services undefers them
# for a member: LOAD_WITH_*_FOR_MEMBER), so the thread page and the lists run no query of their own.
def _for_viewer(model: type, column: object, *conditions: object) -> object:
    """`column` of the viewer's own row of `model` (its user_id is the viewer), where `conditions` hold."""
    return column_property(
        select(column)
        .where(model.user_id == bindparam("viewer_id"), *conditions)
        .correlate_except(model)
        .scalar_subquery(),
        deferred=True,
        raiseload=True,
    )


Thread.viewer_last_read = _for_viewer(
    ThreadRead, ThreadRead.last_read_position, ThreadRead.thread_id == Thread.id
)
Thread.viewer_seen = _for_viewer(ThreadRead, ThreadRead.seen_position, ThreadRead.thread_id == Thread.id)
Thread.viewer_board_marked_at = _for_viewer(
    BoardRead, BoardRead.marked_at, BoardRead.board_id == Thread.board_id
)
Thread.viewer_draft = _for_viewer(Draft, Draft.body, Draft.thread_id == Thread.id)
Post.viewer_bookmarked = _for_viewer(Bookmark, Bookmark.id, Bookmark.post_id == Post.id)
