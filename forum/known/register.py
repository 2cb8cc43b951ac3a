"""The known-issue register: its list, its 30-day chart and its feed. Each is a fixed number
of statements over the known issues and the last 30 days of affected rows, never every thread;
the list sorts on the 7-day counts stored on the issues (forum.known.services keeps them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import joinedload

from forum.boards.models import Board, Thread
from forum.boards.visibility import thread_is_visible
from forum.db import utcnow
from forum.errors import Invalid
from forum.extensions import db
from forum.known.fields import thread_filter_clause, value_key
from forum.known.models import KNOWN_STATUSES, AffectedMember, KnownIssue, KnownIssueChange, ProblemField

CHART_DAYS = 30
REGISTER_LIMIT = 200
REGISTER_FIRST = 50  # the page's first list; "show all" lists up to REGISTER_LIMIT


@dataclass
class RegisterFilters:
    board: Board | None = None
    status: str = "open"  # open | all | one of KNOWN_STATUSES
    values: list[tuple[ProblemField, str]] = field(default_factory=list)

    def query_args(self) -> dict[str, str]:
        args = {"board": self.board.slug} if self.board else {}
        if self.status != "open":
            args["status"] = self.status
        args.update({f.key: key for f, key in self.values})
        return args


def parse_filters(args: dict[str, str], boards: list[Board], fields: list[ProblemField]) -> RegisterFilters:
    """?board=<slug>&status=<status|open|all>&<field key>=<value>; unknown values say so (422)."""
    filters = RegisterFilters()
    slug = args.get("board", "")
    if slug:
        filters.board = next((b for b in boards if b.slug == slug), None)
        if filters.board is None:
            raise Invalid(f"There is no board “{slug[:60]}”.", "board")
    status = args.get("status", "") or "open"
    if status not in KNOWN_STATUSES and status not in ("open", "all"):
        raise Invalid("Choose a status: open, all, " + ", ".join(KNOWN_STATUSES) + ".", "status")
    filters.status = status
    for f in fields:
        raw = args.get(f.key, "")
        if raw.strip() and (filters.board is None or f.board_id == filters.board.id):
            filters.values.append((f, value_key(raw)))
    return filters


def _issue_conditions(filters: RegisterFilters) -> list:
    """The register's issues, each condition on known_issues: the thread's as one EXISTS and
    problem values matched on KnownIssue.thread_id. So SQLite, which keeps no statistics to
    tell, starts from the few hundred issues rather than from every thread or a board's
    threads (at size L, ?board=: 2.8 ms as a join; the chart of ?status=all: 7 ms)."""
    on_thread = [Thread.id == KnownIssue.thread_id, thread_is_visible()]
    if filters.board is not None:
        on_thread.append(Thread.board_id == filters.board.id)
    conditions = [exists().where(*on_thread).correlate_except(Thread)]  # also where Thread is joined
    if filters.status == "open":
        conditions.append(KnownIssue.status != "fixed")
    elif filters.status != "all":
        conditions.append(KnownIssue.status == filters.status)
    conditions.extend(thread_filter_clause(filters.values, KnownIssue.thread_id))
    return conditions


@dataclass
class RegisterRow:
    issue: KnownIssue
    thread: Thread
    last_7_days: int


def register_rows(filters: RegisterFilters, limit: int = REGISTER_LIMIT) -> list[RegisterRow]:
    """Issues by members affected in the last 7 days, then all time, then newest: one statement.

    The 7-day count is the one stored on each issue (KnownIssue.recent_affected), moved by
    "affected too" at once and recounted hourly, so a report older than 7 days still counts
    until the next recount; counting per request cost every issue a subquery (issue #17).
    """
    rows = db.session.execute(
        select(KnownIssue, Thread)
        .join(Thread, Thread.id == KnownIssue.thread_id)
        .options(joinedload(Thread.board))
        .where(*_issue_conditions(filters))
        .order_by(
            KnownIssue.recent_affected.desc(), Thread.affected_count.desc(), KnownIssue.marked_at.desc()
        )
        .limit(limit)
    )
    return [RegisterRow(issue, thread, issue.recent_affected) for issue, thread in rows.all()]


@dataclass
class ChartDay:
    day: date
    count: int


def chart_days(filters: RegisterFilters, now: datetime | None = None) -> list[ChartDay]:
    """New "affected" reports per UTC day for the last 30 days (today included), on the
    register's issues: one grouped statement."""
    today = (now or utcnow()).date()
    first = today - timedelta(days=CHART_DAYS - 1)
    listed = select(KnownIssue.thread_id).where(*_issue_conditions(filters))
    # From each listed issue to its recent reports (ix_affected_members_recent), rather than
    # from 30 days of every thread's reports to the issues: as a join, SQLite chose the latter
    # (5 ms at size L, against 2.7 ms). count(*), as count(id) tests each row for NULL.
    counts = dict(
        db.session.execute(
            select(AffectedMember.created_on, func.count())
            .where(AffectedMember.created_on >= first, AffectedMember.thread_id.in_(listed))
            .group_by(AffectedMember.created_on)
        ).all()
    )
    return [
        ChartDay(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0))
        for i in range(CHART_DAYS)
    ]


@dataclass
class ChartBar:
    x: float
    y: float
    width: float
    height: float
    day: date
    count: int


@dataclass
class Chart:
    width: int
    height: int
    bars: list[ChartBar]
    peak: int
    total: int
    first: date
    last: date


def draw_chart(days: list[ChartDay], width: int = 600, height: int = 160) -> Chart:
    """Bar geometry for the SVG template: the tallest day fills the height."""
    peak = max((d.count for d in days), default=0)
    slot = width / max(1, len(days))
    bars = []
    for i, d in enumerate(days):
        h = 0.0 if not peak else round(d.count / peak * (height - 20), 1)
        bars.append(
            ChartBar(round(i * slot + 1, 1), round(height - h, 1), round(slot - 2, 1), h, d.day, d.count)
        )
    return Chart(width, height, bars, peak, sum(d.count for d in days), days[0].day, days[-1].day)


def recent_changes(limit: int = 30) -> list[tuple[KnownIssueChange, Thread]]:
    """The feed: the latest status changes of visible threads."""
    return list(
        db.session.execute(
            select(KnownIssueChange, Thread)
            .join(Thread, Thread.id == KnownIssueChange.thread_id)
            .where(thread_is_visible())
            .order_by(KnownIssueChange.created_at.desc(), KnownIssueChange.id.desc())
            .limit(limit)
        ).all()
    )


def still_waiting(now: datetime | None = None, days: int = 30) -> list[tuple[KnownIssue, Thread]]:
    """Open known issues older than `days` without any acknowledgement, oldest first."""
    before = (now or utcnow()) - timedelta(days=days)
    return list(
        db.session.execute(
            select(KnownIssue, Thread)
            .join(Thread, Thread.id == KnownIssue.thread_id)
            .options(joinedload(Thread.board))
            .where(
                KnownIssue.acknowledged_at.is_(None),
                KnownIssue.status.in_(("reported", "recurred")),
                KnownIssue.marked_at < before,
                thread_is_visible(),
            )
            .order_by(KnownIssue.marked_at)
            .limit(REGISTER_LIMIT)
        ).all()
    )
