"""Search by problem details (issue #17): `model:hub-4` keeps the threads whose field "model"
(in any board) has the value "hub-4"; several such terms must all hold."""

from __future__ import annotations

from sqlalchemy import select

from forum.extensions import db
from forum.known.fields import value_key
from forum.known.models import ProblemField, ProblemValue
from forum.search.query import Clause, ParsedQuery, Term

MAX_THREADS = 5000  # a value shared by more threads narrows little; the rest are left out


def resolve_details(query: ParsedQuery) -> None:
    """Turn query.details into query.thread_ids; a name no board defines is searched as words."""
    keys = {key for key, _ in query.details}
    known = set(db.session.scalars(select(ProblemField.key).where(ProblemField.key.in_(keys)).distinct()))
    matching: set[int] | None = None
    for key, value in query.details:
        if key not in known:
            query.notes.append(f"“{key}:” is not a filter we know, so “{key}:{value}” was searched as words.")
            words = " ".join(part for part in (key, value) if part)
            query.clauses.append(Clause([Term(words, phrase=True)]))
            continue
        ids = set(
            db.session.scalars(
                select(ProblemValue.thread_id)
                .join(ProblemField, ProblemField.id == ProblemValue.field_id)
                .where(ProblemField.key == key, ProblemValue.value_key == value_key(value))
                .limit(MAX_THREADS)
            )
        )
        matching = ids if matching is None else matching & ids
    if matching is not None:
        query.thread_ids = frozenset(matching)
