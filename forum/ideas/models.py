"""Ideas: the state of a thread in an ideas board, its votes and its status history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db

IDEA_STATUSES = {
    "new": "New",
    "under_review": "Under review",
    "planned": "Planned",
    "in_progress": "In progress",
    "done": "Done",
    "declined": "Declined",
}
# Votes on closed ideas stay as a record but no longer count against the member's budget.
CLOSED_STATUSES = ("done", "declined")


class Idea(db.Model):
    """One row per idea thread (created with the thread, or on first use for older threads)."""

    __tablename__ = "ideas"
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="new")
    vote_count: Mapped[int] = mapped_column(default=0)
    # Of vote_count, the votes imported as a number without their voters (see Post.helpful_carried).
    votes_carried: Mapped[int] = mapped_column(default=0, server_default="0")
    status_changed_at: Mapped[datetime | None]

    @property
    def status_label(self) -> str:
        return IDEA_STATUSES.get(self.status, self.status)

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES


class IdeaVote(db.Model):
    __tablename__ = "idea_votes"
    __table_args__ = (UniqueConstraint("thread_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))  # first column of the unique index
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdeaStatusChange(db.Model):
    """The status history shown in the idea's thread. Inserted, never edited."""

    __tablename__ = "idea_status_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    old_status: Mapped[str] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="raise")

    @property
    def old_label(self) -> str:
        return IDEA_STATUSES.get(self.old_status, self.old_status)

    @property
    def new_label(self) -> str:
        return IDEA_STATUSES.get(self.new_status, self.new_status)
