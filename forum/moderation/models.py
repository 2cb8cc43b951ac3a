"""The audit log: one append-only row per moderator or admin action."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.auth.models import User
from forum.boards.models import Board, Post
from forum.db import utcnow
from forum.extensions import db


class AuditEntry(db.Model):
    """Who did what to which target, when and why. Inserted, never updated or deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(30))  # "post", "thread", "user", "board", ...
    target_id: Mapped[int | None]
    target_label: Mapped[str] = mapped_column(String(300), default="")
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id"), index=True)
    affected_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    # Private details (previous text, e-mail-free notes): moderators only, never in the public log.
    details: Mapped[str] = mapped_column(Text, default="")

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    affected_user: Mapped[User | None] = relationship(foreign_keys=[affected_user_id])


class BoardModerator(db.Model):
    """A member who moderates one board (site-wide moderators have role "moderator" instead)."""

    __tablename__ = "board_moderators"
    __table_args__ = (UniqueConstraint("user_id", "board_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    board: Mapped[Board] = relationship()


FLAG_REASONS = {
    "spam": "Spam",
    "abusive": "Abusive or rude",
    "off_topic": "Off-topic",
    "moderator": "Needs a moderator's attention",
}
# Raised by the forum itself, not by a member (flagger_id is NULL).
SYSTEM_FLAG_REASONS = {"new_account": "New account: held for review", "auto_hidden": "Hidden after flags"}
FLAG_OUTCOMES = ("hide", "edit", "warn", "dismiss")


class Flag(db.Model):
    """A member's report about a post; open until a moderator resolves it (one per member and post)."""

    __tablename__ = "flags"
    __table_args__ = (
        UniqueConstraint("post_id", "flagger_id"),
        Index("ix_flags_open", "resolved_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    flagger_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    outcome: Mapped[str | None] = mapped_column(String(20))

    post: Mapped[Post] = relationship()
    flagger: Mapped[User | None] = relationship(foreign_keys=[flagger_id])

    @property
    def reason_label(self) -> str:
        return FLAG_REASONS.get(self.reason) or SYSTEM_FLAG_REASONS.get(self.reason, self.reason)


class PostRevision(db.Model):
    """The text a post had before one edit (inserted on every edit, never changed)."""

    __tablename__ = "post_revisions"
    __table_args__ = (UniqueConstraint("post_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    number: Mapped[int]
    body_source: Mapped[str] = mapped_column(Text)  # the text before this edit
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # when the edit happened

    editor: Mapped[User | None] = relationship()


class UserNotice(db.Model):
    """A private message from the moderators: a warning, a sanction, the outcome of a flag."""

    __tablename__ = "user_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]
