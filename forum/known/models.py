"""Known problems: who is affected, per-board problem fields, the known-issue register and
the company's response figures (issue #17)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, bindparam, exists, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from forum.auth.models import User
from forum.badges.models import EmployeeBadge
from forum.boards.models import Thread
from forum.db import utcnow
from forum.extensions import db

# The register's statuses in their order; "recurred" reopens a fixed issue.
KNOWN_STATUSES = {
    "reported": "Reported",
    "acknowledged": "Acknowledged",
    "workaround": "Workaround available",
    "fixed": "Fixed",
    "recurred": "Recurred",
}
# Statuses the affected members hear about (their watch level "affected" is quiet otherwise).
TOLD_STATUSES = ("acknowledged", "workaround", "fixed")
FIELD_KINDS = {"choice": "A fixed list", "text": "Short text"}
TEXT_VALUE_MAX = 100
NOTE_MAX = 500


class AffectedMember(db.Model):
    """A member who said "I'm affected too" on a question (the asker counts without a row)."""

    __tablename__ = "affected_members"
    __table_args__ = (
        UniqueConstraint("thread_id", "user_id"),
        Index("ix_affected_members_day", "created_on", "thread_id"),
        # The register's 7-day counts and its chart, per listed issue (covering: no table reads)
        Index("ix_affected_members_recent", "thread_id", "created_on", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))  # first column of the unique index
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The UTC day of created_at, so the register's per-day chart is a GROUP BY on every backend.
    created_on: Mapped[date]

    user: Mapped[User] = relationship(lazy="raise")


class ProblemField(db.Model):
    """A problem detail an administrator asks for in one board ("Model": Hub 3, Hub 4, ...)."""

    __tablename__ = "problem_fields"
    __table_args__ = (UniqueConstraint("board_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"))
    key: Mapped[str] = mapped_column(String(40))  # in URLs and search: ?model=hub-4, model:hub-4
    label: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(10), default="choice")  # choice | text
    # One choice a line (kind "choice"); empty for text.
    choices: Mapped[str] = mapped_column(Text, default="")
    required: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def choice_list(self) -> list[str]:
        return [line for line in (part.strip() for part in self.choices.splitlines()) if line]

    @property
    def kind_label(self) -> str:
        return FIELD_KINDS.get(self.kind, self.kind)


class ProblemValue(db.Model):
    """A thread's value of one problem field; `value_key` is its slug, for filters and search."""

    __tablename__ = "problem_values"
    __table_args__ = (
        UniqueConstraint("thread_id", "field_id"),
        Index("ix_problem_values_field_key", "field_id", "value_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    field_id: Mapped[int] = mapped_column(ForeignKey("problem_fields.id"))
    value: Mapped[str] = mapped_column(String(TEXT_VALUE_MAX))
    value_key: Mapped[str] = mapped_column(String(TEXT_VALUE_MAX))

    field: Mapped[ProblemField] = relationship(lazy="joined")


class ProblemValueChange(db.Model):
    """The edit history of a thread's problem details. Inserted, never edited."""

    __tablename__ = "problem_value_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("problem_fields.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    old_value: Mapped[str] = mapped_column(String(TEXT_VALUE_MAX), default="")
    new_value: Mapped[str] = mapped_column(String(TEXT_VALUE_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    field: Mapped[ProblemField] = relationship(lazy="joined")
    actor: Mapped[User | None] = relationship(lazy="joined")


class KnownIssue(db.Model):
    """A question marked as a known issue; its status and the times the figures need."""

    __tablename__ = "known_issues"
    __table_args__ = (
        Index("ix_known_issues_status", "status", "marked_at"),
        # The register's order (forum.known.register.register_rows)
        Index("ix_known_issues_recent_affected", "recent_affected", "marked_at"),
    )

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="reported")
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]  # the first acknowledgement (or later status)
    fixed_at: Mapped[datetime | None]  # the latest fix; cleared when it recurs
    # Members affected since `recent_since`, stored so the register sorts on a column rather
    # than counting every issue's reports per request. The hourly recount
    # (services.recount_recent_affected) sets `recent_since` to 7 days ago; "affected too"
    # and its withdrawal move the count in between, so a report ages out only at a recount.
    recent_affected: Mapped[int] = mapped_column(default=0, server_default="0")
    recent_since: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def status_label(self) -> str:
        return KNOWN_STATUSES.get(self.status, self.status)

    @property
    def is_open(self) -> bool:
        return self.status != "fixed"


class KnownIssueChange(db.Model):
    """One step of a known issue's timeline: who, when, why. Inserted, never edited."""

    __tablename__ = "known_issue_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The badge the actor chose to act with: then the timeline reads "Employee · <Company>".
    badge_id: Mapped[int | None] = mapped_column(ForeignKey("employee_badges.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(lazy="joined")
    badge: Mapped[EmployeeBadge | None] = relationship(lazy="joined")

    @property
    def new_label(self) -> str:
        return KNOWN_STATUSES.get(self.new_status, self.new_status)


class ResponseFigure(db.Model):
    """The company's response for one month (of asking) and board, computed by a periodic job."""

    __tablename__ = "response_figures"
    __table_args__ = (UniqueConstraint("month", "board_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # 2026-11
    board_id: Mapped[int] = mapped_column(ForeignKey("boards.id"), index=True)
    questions: Mapped[int] = mapped_column(default=0)
    employee_replied: Mapped[int] = mapped_column(default=0)
    first_reply_median_s: Mapped[int | None]
    solved: Mapped[int] = mapped_column(default=0)
    solution_median_s: Mapped[int | None]
    known_issues: Mapped[int] = mapped_column(default=0)
    acknowledged: Mapped[int] = mapped_column(default=0)
    acknowledge_median_s: Mapped[int | None]
    fixed: Mapped[int] = mapped_column(default=0)
    fix_median_s: Mapped[int | None]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


# Loaded with the thread page's thread (forum.boards.services LOAD_WITH_THREAD*), so a
# question that is not a known issue and has no problem details costs the page no query.
Thread.known_status = column_property(
    select(KnownIssue.status)
    .where(KnownIssue.thread_id == Thread.id)
    .correlate_except(KnownIssue)
    .scalar_subquery(),
    deferred=True,
)
Thread.has_problem_values = column_property(
    exists().where(ProblemValue.thread_id == Thread.id).correlate_except(ProblemValue),
    deferred=True,
)
Thread.board_has_problem_fields = column_property(
    exists().where(ProblemField.board_id == Thread.board_id).correlate_except(ProblemField),
    deferred=True,
)
# Whether the member reading the page said "affected too" ("viewer_id" parameter: members only).
Thread.viewer_is_affected = column_property(
    exists()
    .where(AffectedMember.thread_id == Thread.id, AffectedMember.user_id == bindparam("viewer_id"))
    .correlate_except(AffectedMember),
    deferred=True,
    raiseload=True,
)
