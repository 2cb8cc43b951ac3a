"""Boards, threads and posts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db

if TYPE_CHECKING:
    from forum.badges.models import EmployeeBadge

BOARD_KINDS = ("questions", "discussion", "ideas", "announcements")
THREADS_PER_PAGE = 30
POSTS_PER_PAGE = 20


class Board(db.Model):
    __tablename__ = "boards"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0, index=True)
    kind: Mapped[str] = mapped_column(String(20), default="questions")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    archived_at: Mapped[datetime | None]
    thread_count: Mapped[int] = mapped_column(default=0)
    post_count: Mapped[int] = mapped_column(default=0)
    # The latest thread by activity; a plain id (no FK) to avoid a boards<->threads cycle.
    last_thread_id: Mapped[int | None]

    threads: WriteOnlyMapped[Thread] = relationship(back_populates="board")
    last_thread: Mapped[Thread | None] = relationship(
        primaryjoin="foreign(Board.last_thread_id) == Thread.id", viewonly=True, lazy="raise"
    )

    @property
    def url(self) -> str:
        return f"/b/{self.slug}"

    @property
    def is_question_board(self) -> bool:
        return self.kind == "questions"


class Thread(db.Model):
    __tablename__ = "threads"
    __table_args__ = (
        Index("ix_threads_board_activity", "board_id", "is_pinned", "last_post_at"),
        Index("ix_threads_author_created", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_post_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_post_id: Mapped[int | None]
    last_poster_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # post_count counts every post row (pages and anchors use it); reply_count the visible replies.
    post_count: Mapped[int] = mapped_column(default=0)
    reply_count: Mapped[int] = mapped_column(default=0)
    is_pinned: Mapped[bool] = mapped_column(default=False)
    locked_at: Mapped[datetime | None]
    lock_reason: Mapped[str | None] = mapped_column(String(500))
    deleted_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]
    # Q&A: the accepted reply (a plain id: posts -> threads already points the other way).
    solution_post_id: Mapped[int | None]
    has_employee_reply: Mapped[bool] = mapped_column(default=False)
    # -- moderation --
    # Plain ids: a merged thread redirects to the one it went into; a duplicate links its original.
    merged_into_id: Mapped[int | None]
    duplicate_of_id: Mapped[int | None]
    # -- known (issue #17) --: members who said "I'm affected too" (the asker not included).
    affected_count: Mapped[int] = mapped_column(default=0, server_default="0")

    board: Mapped[Board] = relationship(back_populates="threads")
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    last_poster: Mapped[User | None] = relationship(foreign_keys=[last_poster_id])
    posts: WriteOnlyMapped[Post] = relationship(
        back_populates="thread", order_by="Post.position", foreign_keys="Post.thread_id"
    )

    @property
    def url(self) -> str:
        return f"/t/{self.id}/{self.slug}"

    @property
    def page_count(self) -> int:
        return max(1, -(-self.post_count // POSTS_PER_PAGE))

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def is_solved(self) -> bool:
        return self.solution_post_id is not None

    @property
    def affected_total(self) -> int:
        """Members affected: the asker first, then everyone who said "affected too"."""
        return self.affected_count + 1


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("thread_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # 1 for the opening post; stable, so /p/<id> finds its page without counting rows.
    position: Mapped[int]
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    edited_at: Mapped[datetime | None]
    edited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    deleted_at: Mapped[datetime | None]
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    hidden_at: Mapped[datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    helpful_count: Mapped[int] = mapped_column(default=0)
    # Of helpful_count, the votes that came as a number without their voters (an import from
    # another forum, a public archive): a recount adds them to the vote rows, never drops them.
    helpful_carried: Mapped[int] = mapped_column(default=0, server_default="0")

    thread: Mapped[Thread] = relationship(back_populates="posts", foreign_keys=[thread_id])
    author: Mapped[User] = relationship(foreign_keys=[author_id])

    # -- badges --
    # The employee badge this post was written with (None: posted without one). It stays
    # after the badge expires, so the post keeps "verified employee at the time".
    badge_id: Mapped[int | None] = mapped_column(ForeignKey("employee_badges.id"), index=True)
    badge: Mapped[EmployeeBadge | None] = relationship(lazy="joined")

    @property
    def url(self) -> str:
        return f"/p/{self.id}"

    @property
    def page(self) -> int:
        return (self.position - 1) // POSTS_PER_PAGE + 1

    @property
    def is_opening(self) -> bool:
        return self.position == 1

    @property
    def is_visible(self) -> bool:
        """Shown with its text to everyone (not deleted, not hidden by a moderator)."""
        return self.deleted_at is None and self.hidden_at is None


class PostSubmission(db.Model):
    """The one-time key of a reply or new-thread form, and the post it made: a POST retried after
    a lost response finds its post here instead of posting twice (issue #13)."""

    __tablename__ = "post_submissions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
