"""Watches, notifications and password-reset tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, bindparam, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db

WATCH_LEVELS = ("watching", "normal", "muted")
WATCH_TARGETS = ("thread", "board", "wiki")
EMAIL_MODES = ("immediate", "digest", "never")
KINDS = (
    "new_thread", "new_post", "mention", "quote", "solution", "helpful",
    "wiki_edit", "moderation", "badge_expiring",
)  # fmt: skip


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
    # Batched kinds ("3 people found your post helpful") count here.
    count: Mapped[int] = mapped_column(default=1)
    # A short, non-secret detail: the moderator's action and reason, the badge name.
    detail: Mapped[str] = mapped_column(String(600), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    # True while an email (immediate or digest) may still go out for it.
    email_pending: Mapped[bool] = mapped_column(default=False)
    emailed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    thread: Mapped[Thread | None] = relationship()
    post: Mapped[Post | None] = relationship()


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
    .where(Notification.user_id == User.id, Notification.read_at.is_(None))
    .correlate_except(Notification)
    .scalar_subquery(),
    deferred=True,
)
