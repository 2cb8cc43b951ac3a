"""Employee badges (modelled on Lobsters hats) and the one-time links that prove a work address.

The work address itself is never stored: a badge keeps the domain, the dates and a keyed
hash (HMAC-SHA256) of the normalized address, so one address cannot badge several accounts.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db


class EmployeeBadge(db.Model):
    """One grant of the badge to a member: by e-mail verification or by a moderator.

    Rows are never deleted: posts point at the badge they were written with, so an
    expired or revoked badge still reads "verified employee at the time" on old posts.
    """

    __tablename__ = "employee_badges"
    __table_args__ = (Index("ix_employee_badges_user_expires", "user_id", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    company: Mapped[str] = mapped_column(String(120))
    # "email" (the member proved a work address) or "moderator" (granted by hand).
    method: Mapped[str] = mapped_column(String(20))
    domain: Mapped[str | None] = mapped_column(String(253))
    address_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    grant_reason: Mapped[str] = mapped_column(Text, default="")
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    expiry_notice_sent_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    def is_active(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or utcnow())

    @property
    def label(self) -> str:
        return f"Employee · {self.company}"


class BadgeVerification(db.Model):
    """A pending one-time link: the token's SHA-256 and the address's keyed hash, never either in clear."""

    __tablename__ = "badge_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    domain: Mapped[str] = mapped_column(String(253))
    address_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The outbox row that carried the link: its recipient is blanked once it is no longer needed.
    mail_id: Mapped[int | None]

    user: Mapped[User] = relationship()


# The id of the member's longest-lasting unrevoked badge (None for nearly everyone). Loaded with
# the logged-in user (forum.auth.services.load_session_user undefers it), so a page learns that
# its viewer holds no badge without a query of its own (forum.badges.permissions.active_badge).
User.latest_badge_id = column_property(
    select(EmployeeBadge.id)
    .where(EmployeeBadge.user_id == User.id, EmployeeBadge.revoked_at.is_(None))
    .order_by(EmployeeBadge.expires_at.desc(), EmployeeBadge.id.desc())
    .limit(1)
    .correlate_except(EmployeeBadge)
    .scalar_subquery(),
    deferred=True,
)
