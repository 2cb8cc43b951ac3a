"""The company's response in numbers: monthly figures per question board, computed by a
periodic job (`flask known figures`, hourly in the worker) into `response_figures`, so the
page reads one small table and never scans the threads.

A thread belongs to the month it was asked in (UTC). Every figure is an aggregate; a cell
computed from fewer than MIN_THREADS threads is shown as "too few" (and is null in the open
data), so a quiet board cannot point at one conversation or one employee.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from forum.boards.models import Board, Post, Thread
from forum.boards.visibility import thread_is_visible
from forum.db import utcnow
from forum.extensions import db
from forum.known.models import KnownIssue, ResponseFigure
from forum.templating import number

MIN_THREADS = 5
RECENT_MONTHS = 12  # the page shows a year unless asked for every month (the open data has all)
SCHEMA = "roundabout-response/1"
# The open data's columns, in order: the stable schema of /response.csv and /response.json.
COLUMNS = (
    "month", "board", "questions",
    "employee_replied", "employee_reply_share", "first_employee_reply_median_hours",
    "solved", "solved_share", "solution_median_hours",
    "known_issues", "acknowledged", "acknowledge_median_hours", "fixed", "fix_median_hours",
)  # fmt: skip


@dataclass
class _Cell:
    questions: int = 0
    employee_replied: int = 0
    first_reply: list[float] | None = None
    solved: int = 0
    solution: list[float] | None = None
    known: int = 0
    acknowledged: int = 0
    acknowledge: list[float] | None = None
    fixed: int = 0
    fix: list[float] | None = None


def _median(values: list[float] | None) -> int | None:
    return int(median(values)) if values else None


def compute_figures(now: datetime | None = None) -> int:
    """Recompute every month and board from the rows (four grouped statements); the caller
    commits. Returns how many cells (month x board) there are."""
    now = now or utcnow()
    first_reply = aliased(Post)
    employee_first = (
        select(first_reply.thread_id, func.min(first_reply.created_at).label("at"))
        .where(first_reply.position > 1, first_reply.badge_id.is_not(None), first_reply.deleted_at.is_(None))
        .group_by(first_reply.thread_id)
        .subquery()
    )
    solution = aliased(Post)
    rows = db.session.execute(
        select(
            Thread.board_id,
            Thread.created_at,
            employee_first.c.at,
            solution.created_at,
            KnownIssue.marked_at,
            KnownIssue.acknowledged_at,
            KnownIssue.fixed_at,
        )  # fmt: skip
        .join(Board, Board.id == Thread.board_id)
        .outerjoin(employee_first, employee_first.c.thread_id == Thread.id)
        .outerjoin(solution, solution.id == Thread.solution_post_id)
        .outerjoin(KnownIssue, KnownIssue.thread_id == Thread.id)
        .where(
            Board.kind == "questions",
            thread_is_visible(),
            Thread.merged_into_id.is_(None),
        )
        .execution_options(yield_per=2000)
    )
    cells: dict[tuple[str, int], _Cell] = defaultdict(_Cell)
    for board_id, asked, replied, solved, marked, acknowledged, fixed in rows:
        cell = cells[(asked.strftime("%Y-%m"), board_id)]
        cell.questions += 1
        if replied is not None:
            cell.employee_replied += 1
            cell.first_reply = (cell.first_reply or []) + [max(0.0, (replied - asked).total_seconds())]
        if solved is not None:
            cell.solved += 1
            cell.solution = (cell.solution or []) + [max(0.0, (solved - asked).total_seconds())]
        if marked is not None:
            cell.known += 1
            if acknowledged is not None:
                cell.acknowledged += 1
                cell.acknowledge = (cell.acknowledge or []) + [
                    max(0.0, (acknowledged - asked).total_seconds())
                ]
            if fixed is not None:
                cell.fixed += 1
                cell.fix = (cell.fix or []) + [max(0.0, (fixed - asked).total_seconds())]
    db.session.execute(delete(ResponseFigure))
    db.session.add_all(
        ResponseFigure(
            month=month,
            board_id=board_id,
            questions=c.questions,
            employee_replied=c.employee_replied,
            first_reply_median_s=_median(c.first_reply),
            solved=c.solved,
            solution_median_s=_median(c.solution),
            known_issues=c.known,
            acknowledged=c.acknowledged,
            acknowledge_median_s=_median(c.acknowledge),
            fixed=c.fixed,
            fix_median_s=_median(c.fix),
            computed_at=now,
        )  # fmt: skip
        for (month, board_id), c in sorted(cells.items())
    )
    db.session.flush()
    return len(cells)


@dataclass
class Shown:
    """One figure as the page and the open data show it: None means "too few"."""

    value: float | int | None
    basis: int
    kind: str = "count"  # "count", "share" (a fraction, shown as a percentage) or "hours"

    @property
    def too_few(self) -> bool:
        return self.value is None

    def __html__(self) -> str:
        """The table cell, written here rather than by a macro: the page shows a row of nine
        figures for every month and board (350 rows at size L cost 40 ms through a macro)."""
        if self.value is None:
            threads = "thread" if self.basis == 1 else "threads"
            return f'<span class="too-few" title="based on {self.basis} {threads}">too few</span>'
        if self.kind == "share":
            return f"{round(self.value * 100)}%"
        if self.kind == "hours":
            return f"{self.value} h"
        return number(int(self.value))


def _share(count: int, basis: int) -> Shown:
    return Shown(round(count / basis, 3) if basis >= MIN_THREADS else None, basis, "share")


def _hours(seconds: int | None, basis: int) -> Shown:
    return Shown(
        round(seconds / 3600, 1) if basis >= MIN_THREADS and seconds is not None else None, basis, "hours"
    )


def _count(count: int, basis: int) -> Shown:
    return Shown(count if basis >= MIN_THREADS else None, basis)


@dataclass
class FigureRow:
    month: str
    board: Board
    questions: int
    employee_replied: Shown
    employee_reply_share: Shown
    first_reply_hours: Shown
    solved: Shown
    solved_share: Shown
    solution_hours: Shown
    known_issues: Shown
    acknowledged: Shown
    acknowledge_hours: Shown
    fixed: Shown
    fix_hours: Shown

    def open_data(self) -> dict[str, object]:
        values = (
            self.month, self.board.slug, self.questions,
            self.employee_replied, self.employee_reply_share, self.first_reply_hours,
            self.solved, self.solved_share, self.solution_hours,
            self.known_issues, self.acknowledged, self.acknowledge_hours, self.fixed, self.fix_hours,
        )  # fmt: skip
        return {
            name: (v.value if isinstance(v, Shown) else v) for name, v in zip(COLUMNS, values, strict=True)
        }


def recent_months_start(months: int = RECENT_MONTHS, now: datetime | None = None) -> str:
    """The first of the last `months` months (this one included), as stored: "YYYY-MM"."""
    today = now or utcnow()
    index = today.year * 12 + today.month - 1 - (months - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def figure_rows(
    board: Board | None = None, since: str | None = None
) -> tuple[list[FigureRow], datetime | None]:
    """The stored figures, newest month first, boards in their order (from the month `since`
    on, when given): one statement."""
    query = (
        select(ResponseFigure, Board)
        .join(Board, Board.id == ResponseFigure.board_id)
        .order_by(ResponseFigure.month.desc(), Board.position, Board.id)
    )
    if board is not None:
        query = query.where(ResponseFigure.board_id == board.id)
    if since is not None:
        query = query.where(ResponseFigure.month >= since)
    result = []
    computed_at = None
    for f, b in db.session.execute(query).all():
        computed_at = max(computed_at, f.computed_at) if computed_at else f.computed_at
        q = f.questions
        result.append(
            FigureRow(
                month=f.month,
                board=b,
                questions=q,
                employee_replied=_count(f.employee_replied, q),
                employee_reply_share=_share(f.employee_replied, q),
                first_reply_hours=_hours(f.first_reply_median_s, f.employee_replied),
                solved=_count(f.solved, q),
                solved_share=_share(f.solved, q),
                solution_hours=_hours(f.solution_median_s, f.solved),
                known_issues=_count(f.known_issues, q),
                acknowledged=_count(f.acknowledged, f.known_issues),
                acknowledge_hours=_hours(f.acknowledge_median_s, f.acknowledged),
                fixed=_count(f.fixed, f.known_issues),
                fix_hours=_hours(f.fix_median_s, f.fixed),
            )  # fmt: skip
        )
    return result, computed_at
