"""Watches, notifications and password-reset tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    and_,
    bindparam,
    exists,
    func,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.follow.models import ThreadRead

# "affected" (issue #17, thread only): told of solved/acknowledged/workaround/fixed, not of posts.
WATCH_LEVELS = ("watching", "normal", "muted", "affected")
WATCH_TARGETS = ("thread", "board", "wiki")
EMAIL_MODES = ("immediate", "digest", "never")
KINDS = (
    "new_thread", "new_post", "mention", "quote", "solution", "helpful",
    "wiki_edit", "moderation", "badge_expiring", "notice", "idea_status", "known_update", "known_solved",
)  # fmt: skip
# Kinds that group: one unread row per member, thread and kind ("5 new replies in ..."), issue #15.
GROUPED_KINDS = ("new_post", "mention", "quote")
MAX_ACTOR_IDS = 400  # characters of the distinct-actor list kept on a grouped row


class Watch(db.Model):
    """How closely a member follows a thread, a board or a wiki page."""

    __tablename__ = "watches"
    __table_args__ = (
        UniqueConstraint("user_id", "target_type", "target_id"),
        Index("ix_watches_target", "target_type", "target_id", "level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(10))  # thread | board | wiki
    target_id: Mapped[int]
    level: Mapped[str] = mapped_column(String(10))  # watching | normal | muted
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The watch level the member reading a thread page chose for the thread (None: never chosen),
# for their id given as the "viewer_id" parameter: loaded with the page's thread
# (forum.boards.services.get_thread undefers it for a member), so the page runs no watch
# query. Without that parameter it means nothing, so it is never loaded otherwise, and
# reading it then raises.
Thread.viewer_watch_level = column_property(
    select(Watch.level)
    .where(
        Watch.user_id == bindparam("viewer_id"), Watch.target_type == "thread", Watch.target_id == Thread.id
    )
    .correlate_except(Watch)
    .scalar_subquery(),
    deferred=True,
    raiseload=True,
)


class Notification(db.Model):
    """Something a member should hear about. Content is looked up (and checked) when shown."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_user_updated", "user_id", "updated_at"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
        Index("ix_notifications_email_pending", "email_pending", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    wiki_page_id: Mapped[int | None] = mapped_column(
        ForeignKey("wiki_pages.id", ondelete="CASCADE"), index=True
    )
    # Batched and grouped kinds ("3 people found your post helpful", "5 new replies") count here.
    count: Mapped[int] = mapped_column(default=1)
    # A grouped row: the first post it told about (where a click lands), the latest post's
    # position (a visit that saw it reads the row), the previous distinct actor and how many
    # distinct actors there were ("by Tom, Priya and 3 others"; ids in `actor_ids`, newest first).
    first_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    post_position: Mapped[int | None]
    actor2_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_count: Mapped[int] = mapped_column(default=1)
    actor_ids: Mapped[str] = mapped_column(String(MAX_ACTOR_IDS), default="")
    # A short, non-secret detail: the moderator's action and reason, the badge name.
    detail: Mapped[str] = mapped_column(String(600), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When it last changed (a grouped row takes each new post): the list's order, newest first.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # True while an email (immediate or digest) may still go out for it.
    email_pending: Mapped[bool] = mapped_column(default=False)
    emailed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    actor2: Mapped[User | None] = relationship(foreign_keys=[actor2_id])
    thread: Mapped[Thread | None] = relationship()
    post: Mapped[Post | None] = relationship(foreign_keys=[post_id])


def unread_clause() -> ColumnElement[bool]:
    """A notification is unread until marked read, or until its member opened its thread after
    the post it tells about existed (ThreadRead.seen_position): reading a thread reads its
    notifications without writing them (issue #15)."""
    seen = exists().where(
        ThreadRead.user_id == Notification.user_id,
        ThreadRead.thread_id == Notification.thread_id,
        ThreadRead.seen_position >= Notification.post_position,
    )
    return and_(Notification.read_at.is_(None), ~seen)


class PasswordResetToken(db.Model):
    """A single-use reset link: only the SHA-256 of the token is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


# The bell's number, counted from the rows (indexed by user, unread): loaded with the logged-in
# user in the same query (forum.auth.services.load_session_user undefers it), so it costs no
# query and no transaction ever updates another member's row when notifying them.
User.unread_notification_count = column_property(
    select(func.count(Notification.id))
    .where(Notification.user_id == User.id, unread_clause())
    .correlate_except(Notification)
    .scalar_subquery(),
    deferred=True,
)


# How many of the reading member's unread notifications a visit to this thread reads (those about
# its posts): loaded with the thread page's thread for a member, so the bell can drop by that
# number without counting again (forum.follow.services.record_visit).
Thread.viewer_unread_notifications = column_property(
    select(func.count(Notification.id))
    .where(
        Notification.user_id == bindparam("viewer_id"),
        Notification.thread_id == Thread.id,
        Notification.post_position.is_not(None),
        unread_clause(),
    )
    .correlate_except(Notification)
    .scalar_subquery(),
    deferred=True,
    raiseload=True,
)
