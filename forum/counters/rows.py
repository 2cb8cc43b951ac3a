"""What every stored counter must equal, as SQL over the rows; finding and repairing drift.

Each `Counter` pairs a column with a correlated scalar subquery that recounts it. The same
definition serves `flask forum recount` (repair in batches), `--check` (report drift) and
the test suite's invariant after every test, so the rule is written once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, case, exists, false, func, select, true, update

from forum.extensions import db

BATCH_SIZE = 2000


@dataclass(frozen=True)
class Counter:
    """`model.column` must equal `expected()` (correlated with the model's row) for every row."""

    model: Any
    column: str
    expected: Callable[[], ColumnElement[Any]]

    @property
    def name(self) -> str:
        return f"{self.model.__tablename__}.{self.column}"

    @property
    def key(self) -> Any:
        return self.model.__mapper__.primary_key[0]


@dataclass(frozen=True)
class Drift:
    counter: str
    row_id: int
    stored: Any
    expected: Any

    def __str__(self) -> str:
        return f"{self.counter} of row {self.row_id}: stored {self.stored}, the rows say {self.expected}"


def _count(*where: Any, from_: Any) -> ColumnElement[int]:
    return select(func.count()).select_from(from_).where(*where).scalar_subquery()


@cache
def counters() -> tuple[Counter, ...]:
    """Every denormalized counter of the forum and its recount (models imported late: no cycles)."""
    from forum.auth.models import User
    from forum.boards.models import Board, Post, Thread
    from forum.boards.visibility import post_is_visible, thread_is_visible
    from forum.ideas.models import Idea, IdeaVote
    from forum.moderation.models import BoardModerator
    from forum.qa.models import HelpfulVote
    from forum.qa.services import SOLUTION_REPUTATION
    from forum.wiki.models import WikiPage, WikiRevision

    def board_last_thread() -> ColumnElement[Any]:
        return (
            select(Thread.id)
            .where(Thread.board_id == Board.id, thread_is_visible())
            .order_by(Thread.last_post_at.desc(), Thread.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    def thread_last_post() -> ColumnElement[Any]:
        return (
            select(Post.id)
            .where(Post.thread_id == Thread.id, post_is_visible())
            .order_by(Post.position.desc())
            .limit(1)
            .scalar_subquery()
        )

    def employee_reply() -> ColumnElement[int]:
        reply = exists().where(
            Post.thread_id == Thread.id, Post.position > 1, Post.badge_id.is_not(None), post_is_visible()
        )
        return case((reply, 1), else_=0)

    def solutions() -> ColumnElement[int]:
        """Accepted answers to someone else's question (answering your own earns nothing)."""
        return _count(
            Post.author_id == User.id,
            Thread.author_id != User.id,
            from_=Thread.__table__.join(Post.__table__, Thread.solution_post_id == Post.id),
        )

    def helpful_received() -> ColumnElement[int]:
        """Votes on the member's posts that are not deleted: the rows, and the carried counts."""
        carried = (
            select(func.coalesce(func.sum(Post.helpful_carried), 0))
            .where(Post.author_id == User.id, Post.deleted_at.is_(None))
            .scalar_subquery()
        )
        voted = _count(
            Post.author_id == User.id,
            Post.deleted_at.is_(None),
            from_=HelpfulVote.__table__.join(Post.__table__, HelpfulVote.post_id == Post.id),
        )
        return voted + carried

    return (
        Counter(
            Board,
            "thread_count",
            lambda: _count(Thread.board_id == Board.id, thread_is_visible(), from_=Thread),
        ),
        Counter(
            Board,
            "post_count",
            lambda: _count(
                Thread.board_id == Board.id,
                thread_is_visible(),
                post_is_visible(),
                from_=Post.__table__.join(Thread.__table__, Post.thread_id == Thread.id),
            ),
        ),
        Counter(Board, "last_thread_id", board_last_thread),
        Counter(Thread, "post_count", lambda: _count(Post.thread_id == Thread.id, from_=Post)),
        Counter(
            Thread,
            "reply_count",
            lambda: _count(Post.thread_id == Thread.id, Post.position > 1, post_is_visible(), from_=Post),
        ),
        Counter(Thread, "last_post_id", thread_last_post),
        Counter(Thread, "has_employee_reply", employee_reply),
        Counter(
            Post,
            "helpful_count",
            lambda: _count(HelpfulVote.post_id == Post.id, from_=HelpfulVote) + Post.helpful_carried,
        ),
        Counter(User, "post_count", lambda: _count(Post.author_id == User.id, post_is_visible(), from_=Post)),
        Counter(
            User,
            "thread_count",
            lambda: _count(Thread.author_id == User.id, Thread.deleted_at.is_(None), from_=Thread),
        ),
        Counter(User, "solution_count", solutions),
        Counter(User, "reputation", lambda: helpful_received() + SOLUTION_REPUTATION * solutions()),
        Counter(
            User,
            "moderated_board_count",
            lambda: _count(BoardModerator.user_id == User.id, from_=BoardModerator),
        ),
        Counter(
            Idea,
            "vote_count",
            lambda: _count(IdeaVote.thread_id == Idea.thread_id, from_=IdeaVote) + Idea.votes_carried,
        ),
        Counter(
            WikiPage,
            "revision_count",
            lambda: _count(WikiRevision.page_id == WikiPage.id, from_=WikiRevision),
        ),
    )


def find_drift(limit_per_counter: int = 20) -> list[Drift]:
    """Rows whose stored counter differs from the recount (at most `limit_per_counter` each)."""
    drift: list[Drift] = []
    for counter in counters():
        column = getattr(counter.model, counter.column)
        expected = counter.expected()
        if counter.column == "has_employee_reply":
            # Booleans: compare as 0/1 on both backends.
            column_value: Any = _as_int(column)
        else:
            column_value = column
        rows = db.session.execute(
            select(counter.key, column_value, expected)
            .where(column_value.is_distinct_from(expected))
            .order_by(counter.key)
            .limit(limit_per_counter)
        ).all()
        drift += [Drift(counter.name, row[0], row[1], row[2]) for row in rows]
    return drift


def _as_int(column: Any) -> ColumnElement[int]:
    return case((column == true(), 1), (column == false(), 0), else_=None)


def recount_batches(batch_size: int = BATCH_SIZE) -> Iterator[tuple[int, int]]:
    """Repair every counter, a batch of rows at a time; yields (rows looked at, rows corrected).

    Each UPDATE sets the column to its recount only where they differ, so a healthy database
    is read, not rewritten. The caller commits (per batch, so a big forum is not locked).
    """
    for counter in counters():
        key = counter.key
        highest = db.session.scalar(select(func.max(key))) or 0
        low = 0
        while low < highest:
            high = low + batch_size
            corrected = _repair(counter, key > low, key <= high)
            yield min(high, highest) - low, corrected
            low = high


def _repair(counter: Counter, *where: Any) -> int:
    column = getattr(counter.model, counter.column)
    expected = counter.expected()
    if counter.column == "has_employee_reply":
        value: Any = expected == 1
        compared: Any = _as_int(column)
    else:
        value, compared = expected, column
    result = db.session.execute(
        update(counter.model)
        .where(*where, compared.is_distinct_from(expected))
        .values({counter.column: value})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def rows_to_recount() -> int:
    """The total the progress bar counts to: the highest id of each counted table, summed."""
    return sum(db.session.scalar(select(func.max(counter.key))) or 0 for counter in counters())
