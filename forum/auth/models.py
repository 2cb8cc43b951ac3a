"""Accounts and their login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.db import utcnow
from forum.extensions import db

ROLES = ("member", "moderator", "admin")


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(60), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(20), default="member")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen_at: Mapped[datetime | None]
    email_confirmed_at: Mapped[datetime | None]
    # The address typed at registration when it already belonged to another account: shown to
    # this member like any unconfirmed address, never used (issue #21: no account enumeration).
    unconfirmed_email: Mapped[str | None] = mapped_column(String(254))
    # Denormalized counters, kept by the services (list pages never count rows).
    post_count: Mapped[int] = mapped_column(default=0)
    thread_count: Mapped[int] = mapped_column(default=0)
    solution_count: Mapped[int] = mapped_column(default=0)
    reputation: Mapped[int] = mapped_column(default=0)
    # Sanctions (moderation): silenced users read but cannot post; suspended cannot log in.
    silenced_until: Mapped[datetime | None]
    suspended_until: Mapped[datetime | None]
    sanction_reason: Mapped[str | None] = mapped_column(String(500))
    deleted_at: Mapped[datetime | None]
    # -- moderation --
    # How many boards this member moderates (board_moderators rows): 0 spares every member a query.
    moderated_board_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # The uploaded profile picture (forum.uploads), by content hash; None: the generated avatar.
    avatar_sha256: Mapped[str | None] = mapped_column(String(64))

    sessions: Mapped[list[LoginSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # Flask-Login: the session token this request authenticated with (set by the loader).
    login_token = None  # str | None, set per request; not a column

    @property
    def address_to_confirm(self) -> str:
        """The address this member typed (shown alike whether or not it was theirs to take)."""
        return self.email or self.unconfirmed_email or ""

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.login_token

    @property
    def name(self) -> str:
        """What other people see: the display name, or the username."""
        return self.display_name or self.username

    @property
    def is_moderator(self) -> bool:
        return self.role in ("moderator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def url(self) -> str:
        return f"/u/{self.username}"

    def __repr__(self) -> str:
        return f"<User {self.username}>"

    # -- notifications --
    # Email for notifications: immediate (batched a few minutes), digest (daily) or never.
    notify_email: Mapped[str] = mapped_column(String(10), default="immediate", server_default="immediate")
    # Starting or replying to a thread watches it.
    watch_on_post: Mapped[bool] = mapped_column(default=True, server_default=true())
    # unread_notification_count: a deferred count subquery added by forum.notifications.models
    # (not a stored counter: updating other members' rows while posting deadlocks on PostgreSQL).
    last_digest_at: Mapped[datetime | None]


class LoginSession(db.Model):
    """A server-side login: the cookie holds a random token, the database its hash.

    Deleting the row logs that browser out at once (logout, password change, suspension),
    which a client-side Flask session alone cannot do.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    remember: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship(back_populates="sessions")
