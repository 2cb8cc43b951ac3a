"""The PostgreSQL full-text backend: for several app servers that cannot share a directory.

Documents live in search_documents (tsvector columns with GIN indexes), written by the
outbox drain in the drain's own transaction; rows are claimed with FOR UPDATE SKIP LOCKED,
so any number of processes may drain at once. Queries use websearch_to_tsquery (the same
syntax people type: words, "phrases", -words, OR) and ts_headline for snippets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from datetime import time as dtime

from sqlalchemy import and_, column, delete, func, literal_column, select, text, values
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.orm import Session

from forum.extensions import db
from forum.search.documents import Document
from forum.search.models import SearchDocument
from forum.search.query import ParsedQuery
from forum.search.results import Hit, Hits, marked, plain_snippet

NEEDS_LOCK = False
CONFIG = "english"
START, STOP = "\x02", "\x03"
HEADLINE_OPTIONS = (
    f'StartSel={START}, StopSel={STOP}, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "'
)


def _values(doc: Document) -> dict[str, object]:
    return {
        "key": doc.key,
        "kind": doc.kind,
        "group_key": doc.group,
        "object_id": doc.object_id,
        "thread_id": doc.thread_id,
        "board_slug": doc.board,
        "author": doc.author,
        "title": doc.title,
        "body": doc.body,
        "created_at": doc.created,
        "solved": doc.solved,
        "employee": doc.employee,
        "opening": doc.opening,
    }


def _upsert(session: Session, docs: list[Document]) -> None:
    """Insert or replace documents, computing their vectors in the same statement."""
    if not docs:
        return
    table = SearchDocument.__table__
    names = list(_values(docs[0]))
    rows = values(*[column(name, table.c[name].type) for name in names], name="incoming").data(
        [tuple(_values(doc).values()) for doc in docs]
    )
    title_vector = func.setweight(func.to_tsvector(CONFIG, rows.c.title), literal_column("'A'"))
    body_vector = func.setweight(func.to_tsvector(CONFIG, rows.c.body), literal_column("'B'"))
    # Cast each column: a NULL in VALUES has no type of its own (PostgreSQL reads it as
    # text), and SQLAlchemy drops a cast to the type a column already has, so spell it out.
    dialect = session.get_bind().dialect
    typed = [
        literal_column(f"CAST(incoming.{name} AS {table.c[name].type.compile(dialect=dialect)})")
        for name in names
    ]
    source = select(
        *typed,
        title_vector.op("||")(body_vector),
        func.to_tsvector(CONFIG, rows.c.title),
    )
    statement = insert(table).from_select([*names, "tsv", "title_tsv"], source)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={name: statement.excluded[name] for name in [*names, "tsv", "title_tsv"] if name != "key"},
    )
    session.execute(statement)


def apply_changes(
    documents: Iterable[Document],
    removed_keys: Iterable[str],
    removed_threads: Iterable[int],
    session: Session | None = None,
) -> None:
    """Remove, then upsert, in the caller's session (the drain commits with its outbox rows)."""
    own = session is None
    session = session or Session(db.engine)
    threads = list(removed_threads)
    keys = list(removed_keys)
    if threads:
        session.execute(delete(SearchDocument).where(SearchDocument.thread_id.in_(threads)))
    if keys:
        session.execute(delete(SearchDocument).where(SearchDocument.key.in_(keys)))
    docs = list({doc.key: doc for doc in documents}.values())  # one row per key per statement
    for start in range(0, len(docs), 1000):
        _upsert(session, docs[start : start + 1000])
    if own:
        session.commit()
        session.close()


def index_documents(documents: Iterable[Document]) -> None:
    apply_changes(documents, (), ())


def remove_documents(keys: Iterable[str]) -> None:
    apply_changes((), keys, ())


def document_keys() -> set[str]:
    with Session(db.engine) as session:
        return set(session.scalars(select(SearchDocument.key)))


def document_count() -> int:
    with Session(db.engine) as session:
        return session.scalar(select(func.count()).select_from(SearchDocument)) or 0


def rebuild(batches: Iterable[list[Document]], progress: Callable[[int], None]) -> None:
    """Rebuild in one transaction: searches see the old documents until it commits."""
    with Session(db.engine) as session:
        session.execute(delete(SearchDocument))
        for batch in batches:
            apply_changes(batch, (), (), session=session)
            progress(len(batch))
        session.commit()


# -- queries ------------------------------------------------------------------------------


def _filters(parsed: ParsedQuery) -> list[object]:
    doc = SearchDocument
    conditions: list[object] = []
    if parsed.author:
        conditions.append(doc.author == parsed.author)
    if parsed.board:
        conditions.append(doc.board_slug == parsed.board)
    if parsed.wiki:
        conditions.append(doc.kind == "wiki")
    if parsed.status:
        conditions.append(and_(doc.kind == "post", doc.solved.is_(parsed.status == "solved")))
    if parsed.employee:
        conditions.append(doc.employee.is_(True))
    if parsed.thread_ids is not None:  # problem details (issue #17)
        conditions.append(doc.thread_id.in_(sorted(parsed.thread_ids)))
    if parsed.after:
        conditions.append(doc.created_at >= datetime.combine(parsed.after, dtime.min, tzinfo=UTC))
    if parsed.before:
        conditions.append(doc.created_at < datetime.combine(parsed.before, dtime.min, tzinfo=UTC))
    return conditions


def search(parsed: ParsedQuery, page: int, per_page: int) -> Hits:
    doc = SearchDocument
    conditions = _filters(parsed)
    text_query = parsed.websearch_text()
    if not parsed.has_text and not parsed.excluded and not conditions:
        return Hits(total=0)
    tsquery = func.websearch_to_tsquery(CONFIG, text_query)
    vector = doc.title_tsv if parsed.in_title else doc.tsv
    if parsed.has_text or parsed.excluded:
        conditions.append(vector.op("@@")(tsquery))
    rank = func.ts_rank(vector, tsquery) if parsed.has_text else literal_column("0.0")
    within_group = (rank.desc(), doc.created_at.desc()) if parsed.has_text else (doc.created_at.desc(),)
    best = (
        select(doc.key, doc.group_key, doc.created_at, rank.label("score"))
        .where(*conditions)
        .order_by(doc.group_key, *within_group)
        .ext(distinct_on(doc.group_key))
        .subquery()
    )
    with Session(db.engine) as session:
        total = session.scalar(select(func.count()).select_from(best)) or 0
        order = (
            (best.c.created_at.desc(),)
            if parsed.order == "latest"
            else (best.c.score.desc(), best.c.created_at.desc())
        )
        page_rows = session.execute(
            select(best.c.key, best.c.score).order_by(*order).limit(per_page).offset((page - 1) * per_page)
        ).all()
        if not page_rows:
            return Hits(total=total)
        keys = [row[0] for row in page_rows]
        scores = dict(page_rows)
        headline_query = tsquery if parsed.has_text else func.to_tsquery(CONFIG, "")
        rows = session.execute(
            select(
                doc.key,
                doc.kind,
                doc.object_id,
                doc.thread_id,
                doc.title,
                doc.body,
                func.ts_headline(
                    CONFIG, doc.title, headline_query, f"StartSel={START}, StopSel={STOP}, HighlightAll=true"
                ),
                func.ts_headline(CONFIG, doc.body, headline_query, HEADLINE_OPTIONS),
            ).where(doc.key.in_(keys))
        ).all()
    by_key = {row[0]: row for row in rows}
    hits = []
    for key in keys:
        _key, kind, object_id, thread_id, title, body, title_marked, snippet = by_key[key]
        has_mark = START in (snippet or "")
        hits.append(
            Hit(
                kind=kind,
                object_id=object_id,
                thread_id=thread_id,
                score=float(scores[key] or 0.0),
                title_html=marked(title_marked or title, START, STOP),
                snippet_html=marked(snippet, START, STOP) if has_mark else plain_snippet(body),
            )
        )
    return Hits(total=total, hits=hits)


_TITLE_WORDS = text(
    "SELECT word FROM ts_stat($$SELECT title_tsv FROM search_documents WHERE opening OR kind = 'wiki'$$)"
)


def suggest(words: list[str]) -> dict[str, str]:
    """Corrections for unknown words from the words of titles (ts_stat lists the lexemes).

    Lexemes are stemmed ("dropping" is "drop"), which is still a word people recognise.
    Only asked when a search finds little, so scanning the titles is acceptable.
    """
    import difflib

    candidates = [w.lower() for w in words if w.isalpha() and len(w) >= 3]
    if not candidates:
        return {}
    corrections = {}
    with Session(db.engine) as session:
        known = set(session.scalars(_TITLE_WORDS))
        for word in candidates:
            stems = session.scalar(
                select(func.array_to_string(func.tsvector_to_array(func.to_tsvector(CONFIG, word)), " "))
            )
            if not stems or stems in known:
                continue
            close = difflib.get_close_matches(word, known, n=1, cutoff=0.7)
            if close:
                corrections[word] = close[0]
    return corrections


def similar_threads(title: str, limit: int) -> list[int]:
    doc = SearchDocument
    words = [w for w in "".join(c if c.isalnum() else " " for c in title[:200]).split() if len(w) > 1][:12]
    if not words:
        return []
    tsquery = func.to_tsquery(CONFIG, " | ".join(words))
    with Session(db.engine) as session:
        return list(
            session.scalars(
                select(doc.thread_id)
                .where(doc.opening.is_(True), doc.tsv.op("@@")(tsquery))
                .order_by(func.ts_rank(doc.tsv, tsquery).desc())
                .limit(limit * 2)
            )
        )
