"""Denormalized counters: changed in SQL, never read-modify-write, and checkable against the rows.

Every counter the forum stores (a board's threads and posts, a thread's replies, a member's
posts, reputation, votes...) moves with `add_to()`, one `UPDATE ... SET n = n + 1`, so
simultaneous requests cannot lose each other's updates (issue #13: 16 replies at once moved
a board's count by 6). `forum.counters.rows` says what each counter must equal in terms of
the rows; `flask forum recount` checks and repairs them. `forum.counters.votes`: a member's
vote and the count that follows it (helpful votes, idea votes, "affected too").
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import update

from forum.extensions import db


def add_to(obj: Any, **deltas: int) -> None:
    """Add `deltas` to `obj`'s counter columns in one UPDATE, then forget the stale values.

    On PostgreSQL the UPDATE takes the row lock until commit, so a later statement in the
    same transaction that counts rows sees every committed change (see `lock_row`).
    """
    obj = _unproxied(obj)
    deltas = {name: delta for name, delta in deltas.items() if delta}
    if not deltas:
        return
    model = type(obj)
    db.session.execute(
        update(model)
        .where(_is_row(obj))
        .values({name: getattr(model, name) + delta for name, delta in deltas.items()})
        .execution_options(synchronize_session=False)
    )
    db.session.expire(obj, list(deltas))


def lock_row(obj: Any, column: str, *, refresh: bool = True) -> None:
    """Take `obj`'s row lock (an UPDATE setting `column` to itself) and read the row again.

    A check made on a row read before another transaction changed it ("is this post still
    visible?") is then made on the latest committed state: on PostgreSQL the UPDATE waits
    for that transaction, on SQLite it takes the database's write lock.
    """
    obj = _unproxied(obj)
    model = type(obj)
    db.session.execute(
        update(model)
        .where(_is_row(obj))
        .values({column: getattr(model, column)})
        .execution_options(synchronize_session=False)
    )
    if refresh:
        db.session.refresh(obj)


def recount_row(obj: Any, *columns: str) -> None:
    """Set `obj`'s counters `columns` to their recount from the rows, inside the UPDATE.

    The row lock comes first, in its own statement, so that on PostgreSQL the recount runs
    on a snapshot taken after any transaction that held the row has committed (a recount in
    the statement that waited would count from before it).
    """
    from forum.counters.rows import counters

    obj = _unproxied(obj)
    chosen = [counter for counter in counters() if counter.model is type(obj) and counter.column in columns]
    if len(chosen) != len(columns):
        raise ValueError(f"not counters of {type(obj).__name__}: {columns}")
    lock_row(obj, columns[0], refresh=False)
    model = type(obj)
    db.session.execute(
        update(model)
        .where(_is_row(obj))
        .values({counter.column: counter.expected() for counter in chosen})
        .execution_options(synchronize_session=False)
    )
    db.session.expire(obj, list(columns))


def _is_row(obj: Any) -> Any:
    """The condition that picks `obj`'s row by its primary key (`ideas` have `thread_id`, not `id`)."""
    key = type(obj).__mapper__.primary_key[0]
    return key == getattr(obj, key.key)


def _unproxied(obj: Any) -> Any:
    """The model object behind Flask-Login's `current_user` proxy (or `obj` itself)."""
    get = getattr(obj, "_get_current_object", None)
    return get() if get is not None else obj


def init_app(app: Flask) -> None:
    from forum.counters.cli import bp

    app.register_blueprint(bp)
