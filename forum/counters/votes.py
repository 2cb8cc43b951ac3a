"""A member's vote with a counter: helpful votes, idea votes and "affected too" (issue 20).

Each is one row per member and target (a unique constraint) and a count stored on the
target's row that must equal the rows. The row and the count are handled here once, so the
three keep the same guarantees: asking for the state already stored changes nothing (a
double click is harmless); a new row is flushed before the count moves, so a concurrent
duplicate fails with IntegrityError first (the views answer it like a repeated click); a
vote taken back by a concurrent request moves the count once, not twice; the count moves
by an increment in SQL (`add_to`). Who may vote, the messages, and what follows a vote
(reputation, watches, events) stay with each feature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from forum.counters import add_to
from forum.extensions import db


@dataclass(frozen=True)
class Vote:
    """What `set_vote` found and did."""

    was: bool  # the member's vote as read before the change
    on: bool  # and now
    moved: int = 0  # how the count moved: +1, -1, or 0 (nothing to do, or taken back concurrently)
    created_at: datetime | None = None  # when the row added or taken back was made


def has_vote(target: Any, voted_on: Any, user: Any) -> bool:
    """Has `user` (a visitor has no votes) voted on `voted_on`? `target` is the vote model's
    column holding its primary key, such as HelpfulVote.post_id for a post."""
    if not getattr(user, "is_authenticated", False):
        return False
    model = target.class_
    target_id = _id_of(voted_on)
    return (
        db.session.scalar(select(model.id).where(target == target_id, model.user_id == user.id)) is not None
    )


def voted_ids(target: Any, user: Any, target_ids: Iterable[int]) -> set[int]:
    """Which of `target_ids` `user` has voted on, in one query (for a list page)."""
    ids = list(target_ids)
    if not ids or not getattr(user, "is_authenticated", False):
        return set()
    model = target.class_
    return set(db.session.scalars(select(target).where(model.user_id == user.id, target.in_(ids))))


def set_vote(
    target: Any,
    counted: Any,
    counter: str,
    *,
    actor: Any,
    wanted: bool | None,
    before_adding: Callable[[], None] | None = None,
    after_adding: Callable[[Any], None] | None = None,
    **columns: Any,
) -> Vote:
    """Add or take back `actor`'s vote on `counted` (`wanted` None toggles) and move its `counter`.

    `target` is the vote model's column holding `counted`'s primary key (HelpfulVote.post_id
    for a post's helpful_count); `columns` go into a new row. Before the count moves, a
    feature can refuse a new vote by raising from `before_adding()` (before the insert) or
    `after_adding(row)` (after its flush): ideas keep a budget. The caller has checked the
    permissions, and commits.
    """
    target_id = _id_of(counted)
    was = has_vote(target, counted, actor)
    on = (not was) if wanted is None else wanted
    if on == was:
        return Vote(was, on)
    model = target.class_
    if on:
        if before_adding is not None:
            before_adding()
        row = model(**{target.key: target_id, "user_id": actor.id}, **columns)
        db.session.add(row)
        db.session.flush()  # a concurrent duplicate raises IntegrityError here, before the count moves
        if after_adding is not None:
            after_adding(row)
        created_at = row.created_at
    else:
        taken_back = db.session.scalars(
            delete(model).where(target == target_id, model.user_id == actor.id).returning(model.created_at)
        ).all()
        if not taken_back:
            return Vote(was, on)  # a concurrent request took it back and moved the count
        created_at = taken_back[0]
    moved = 1 if on else -1
    add_to(counted, **{counter: moved})
    return Vote(was, on, moved, created_at)


def _id_of(obj: Any) -> Any:
    """`obj`'s primary key: `id`, or `thread_id` for an idea."""
    return getattr(obj, type(obj).__mapper__.primary_key[0].key)
