"""Synonyms administrators edit: a search for one word also finds the other, ranked lower.

Pairs work both ways. They are applied when a query is read (forum.search.services), so an
edit takes effect on the next search, with no reindex. Words are compared by stem, so the
pair "evening ~ night" also serves "evenings" and "nights".
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, or_, select

from forum.auth.models import User
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.search import language
from forum.search import query as query_syntax
from forum.search.models import SearchSynonym
from forum.search.query import ParsedQuery, Term
from forum.search.scoring import SYNONYM_WEIGHT

# The pairs a new forum starts with (migration 0017 seeds the same list).
SEED = [
    ("evening", "night"), ("broadband", "internet"), ("bill", "invoice"), ("charged", "billed"),
    ("refund", "money back"), ("disconnect", "drop"), ("slow", "sluggish"), ("cancel", "terminate"),
    ("router", "hub"), ("engineer", "technician"), ("outage", "fault"), ("mobile", "cell"),
    ("recording", "recorded"), ("vanished", "disappeared"), ("compensation", "refund"), ("lost", "disappeared"),
]  # fmt: skip
MAX_PER_WORD = 3  # synonyms added for one typed word
MAX_SYNONYMS = 2000  # rows read for one search: the table is meant to stay small
_ALLOWED = re.compile(r"^[a-z0-9][a-z0-9 '\-]{0,58}[a-z0-9]$|^[a-z0-9]$")


def can_manage_synonyms(user: Any) -> bool:
    """Administrators: synonyms change every member's search results."""
    return isinstance(user, User) and bool(user.is_authenticated) and user.is_admin


def _clean(text: str, field: str) -> str:
    cleaned = " ".join((text or "").lower().split())
    if not cleaned:
        raise Invalid("Type a word.", field=field)
    if not _ALLOWED.match(cleaned):
        raise Invalid(
            "Use letters, digits, spaces, hyphens and apostrophes (at most 60 characters).", field=field
        )
    if not language.content_words(cleaned):
        raise Invalid("That is too common a word to search by (like “the” or “my”).", field=field)
    return cleaned


def list_synonyms() -> list[SearchSynonym]:
    return list(db.session.scalars(select(SearchSynonym).order_by(SearchSynonym.word, SearchSynonym.synonym)))


def add_synonym(word: str, synonym: str, *, actor: Any) -> SearchSynonym:
    """Record that `word` and `synonym` mean the same to people searching."""
    if not can_manage_synonyms(actor):
        raise Forbidden("Only administrators can edit search synonyms.")
    word, synonym = _clean(word, "word"), _clean(synonym, "synonym")
    if language.stems(word) == language.stems(synonym):
        raise Invalid("These are already the same word to the search.", field="synonym")
    existing = db.session.scalar(
        select(SearchSynonym).where(
            or_(
                (SearchSynonym.word == word) & (SearchSynonym.synonym == synonym),
                (SearchSynonym.word == synonym) & (SearchSynonym.synonym == word),
            )
        )
    )
    if existing is not None:
        raise Conflict(f"“{word}” and “{synonym}” are synonyms already.", field="synonym")
    pair = SearchSynonym(word=word, synonym=synonym)
    db.session.add(pair)
    db.session.flush()
    return pair


def remove_synonym(pair_id: int, *, actor: Any) -> SearchSynonym:
    if not can_manage_synonyms(actor):
        raise Forbidden("Only administrators can edit search synonyms.")
    pair = db.session.get(SearchSynonym, pair_id)
    if pair is None:
        raise NotFound("There is no such synonym pair.")
    db.session.execute(delete(SearchSynonym).where(SearchSynonym.id == pair_id))
    return pair


def seed() -> int:
    """Add the starting pairs that are missing (for databases made without the migrations)."""
    have = {(pair.word, pair.synonym) for pair in list_synonyms()}
    added = 0
    for word, synonym in SEED:
        if (word, synonym) not in have and (synonym, word) not in have:
            db.session.add(SearchSynonym(word=word, synonym=synonym))
            added += 1
    db.session.flush()
    return added


def _table() -> dict[str, list[str]]:
    """Stemmed word -> the texts it is a synonym of (both directions)."""
    table: dict[str, list[str]] = {}
    rows = db.session.execute(select(SearchSynonym.word, SearchSynonym.synonym).limit(MAX_SYNONYMS))
    for word, synonym in rows:
        for one, other in ((word, synonym), (synonym, word)):
            key = " ".join(language.stems(one))
            if key:
                table.setdefault(key, []).append(other)
    return table


def expand(query: ParsedQuery) -> None:
    """Add each typed word's synonyms to its clause, weighted lower (one query, bounded)."""
    plain = [clause for clause in query.clauses if any(not term.phrase for term in clause)]
    if not plain:
        return
    table = _table()
    if not table:
        return
    total = sum(len(clause) for clause in query.clauses)
    for clause in plain:
        added: list[Term] = []
        for term in list(clause):
            if term.phrase or term.weight < 1.0:
                continue
            for other in table.get(" ".join(language.stems(term.text)), [])[:MAX_PER_WORD]:
                if total >= query_syntax.MAX_TERMS:
                    return
                if any(existing.text == other for existing in [*clause.terms, *added]):
                    continue
                added.append(Term(other, phrase=" " in other, weight=SYNONYM_WEIGHT))
                total += 1
        clause.terms.extend(added)
