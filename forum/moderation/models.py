"""The audit log: one append-only row per moderator or admin action."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.auth.models import User
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
