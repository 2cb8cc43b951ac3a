"""The PostgreSQL full-text backend: for several app servers that cannot share a directory.

Documents live in search_documents (tsvector columns with GIN indexes), written by the
outbox drain in the drain's own transaction; rows are claimed with FOR UPDATE SKIP LOCKED,
so any number of processes may drain at once. Text is normalised (forum.search.language)
before to_tsvector, and queries rank by the rules of forum.search.scoring, the same as the
Whoosh backend's: each clause a tsquery, idf from its document frequency (counted once and
kept for a few minutes), titles boosted, coverage squared. Snippets are made in Python.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from datetime import time as dtime
from typing import NamedTuple

from flask import current_app
from sqlalchemy import (
    Boolean,
    and_,
    case,
    column,
    delete,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    values,
)
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.orm import Session

from forum.extensions import db
from forum.search import language, scoring
from forum.search.documents import Document
from forum.search.models import SearchDocument, SearchTitleWord
from forum.search.query import ParsedQuery, Term
from forum.search.results import Hit, Hits

NEEDS_LOCK = False
CONFIG = "english"
FREQUENCIES_KEPT = 300.0  # seconds a document frequency is reused (idf moves slowly)


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
    rows = values(
        *[column(name, table.c[name].type) for name in names],
        column("title_words", table.c.title.type),
        column("body_words", table.c.body.type),
        name="incoming",
    ).data(
        [
            (*_values(doc).values(), language.normalise(doc.title), language.normalise(doc.body))
            for doc in docs
        ]
    )
    title_vector = func.setweight(func.to_tsvector(CONFIG, rows.c.title_words), literal_column("'A'"))
    body_vector = func.setweight(func.to_tsvector(CONFIG, rows.c.body_words), literal_column("'B'"))
    # Cast each column: a NULL in VALUES has no type of its own (PostgreSQL reads it as
    # text), and SQLAlchemy drops a cast to the type a column already has, so spell it out.
    dialect = session.get_bind().dialect
    typed = [
        literal_column(f"CAST(incoming.{name} AS {table.c[name].type.compile(dialect=dialect)})")
        for name in names
    ]
    # A title is searched in its thread's opening post (and its wiki page) only, as with Whoosh.
    titled = or_(rows.c.opening, rows.c.kind == "wiki")
    source = select(
        *typed,
        case((titled, title_vector.op("||")(body_vector)), else_=body_vector),
        func.to_tsvector(CONFIG, rows.c.title_words),
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
    if parsed.thread_id is not None:
        conditions.append(doc.thread_id == parsed.thread_id)
    if parsed.thread_ids is not None:  # problem details (issue #17)
        conditions.append(doc.thread_id.in_(sorted(parsed.thread_ids)))
    if parsed.threads_only:
        conditions.append(doc.kind == "post")
    if parsed.after:
        conditions.append(doc.created_at >= datetime.combine(parsed.after, dtime.min, tzinfo=UTC))
    if parsed.before:
        conditions.append(doc.created_at < datetime.combine(parsed.before, dtime.min, tzinfo=UTC))
    return conditions


_frequencies_lock = threading.Lock()


def _kept() -> dict[str, tuple[float, int]]:
    """This app's kept frequencies (per app: two apps in one process never share them)."""
    return current_app.extensions.setdefault("search_frequencies", {})


def _term_tsquery(term: Term, *, loose: bool = False):  # noqa: ANN202 (a SQL expression)
    """The term as a tsquery; a phrase, when loose, as its words anywhere in the text."""
    text_ = " ".join(language.normalise(term.text).split())
    if term.phrase and not loose:
        return func.phraseto_tsquery(CONFIG, text_)
    return func.plainto_tsquery(CONFIG, text_)


def _frequencies(session: Session, wanted: list[tuple[str, object]]) -> list[int]:
    """Documents matching each condition (key "" is every document), kept a few minutes;
    those not kept are counted in one statement."""
    now = time.monotonic()
    found: dict[str, int] = {}
    _frequencies_kept = _kept()
    with _frequencies_lock:
        for key, _condition in wanted:
            cached = _frequencies_kept.get(key)
            if cached is not None and now - cached[0] < FREQUENCIES_KEPT:
                found[key] = cached[1]
    missing = {key: condition for key, condition in wanted if key not in found}
    if missing:
        counts = session.execute(
            select(
                *[
                    select(func.count()).select_from(SearchDocument).where(condition).scalar_subquery()
                    for condition in missing.values()
                ]
            )
        ).one()
        with _frequencies_lock:
            if len(_frequencies_kept) > 50_000:
                _frequencies_kept.clear()
            for key, count in zip(missing, counts, strict=True):
                _frequencies_kept[key] = (now, count or 0)
                found[key] = count or 0
    return [found[key] for key, _condition in wanted]


class Scored(NamedTuple):
    """What a query with words asks of the documents, built by _scored."""

    condition: object  # every rule: deciding and required words, phrases, excluded words
    loose: object | None  # the same with each phrase's words anywhere (None: no phrase)
    score: object
    titled: object  # an opening post or wiki page whose title has a deciding word
    matching: int  # documents meeting the condition (estimated from each word's own count)
    loose_matching: int  # ... meeting the loose one


def _scored(session: Session, parsed: ParsedQuery) -> Scored:
    """The query's conditions and score by the rules of forum.search.scoring.

    Excluded words are part of the one tsquery (a row's vector is unpacked once, not once per
    word). A phrase is tested on its words first: GIN answers "every word" exactly, but a
    phrase only after reading each matching row's vector again (a recheck), so the newest
    candidates are read with the loose condition and the phrase tested on those only."""
    doc = SearchDocument
    vector = doc.title_tsv if parsed.in_title else doc.tsv
    terms = [(clause, term, _term_tsquery(term)) for clause in parsed.clauses for term in clause]
    phrases = [term for clause in parsed.clauses for term in clause if term.phrase]
    # In titles only, an excluded word is still tested on the whole post (its own condition).
    excluded = [] if parsed.in_title else parsed.excluded

    def key(term: Term, *, phrase: bool) -> str:
        return f"{int(parsed.in_title)}{int(phrase)}:{term.text.lower()}"

    wanted = [("", literal(True))]
    wanted += [(key(term, phrase=term.phrase), vector.op("@@")(tsquery)) for _clause, term, tsquery in terms]
    wanted += [
        (key(term, phrase=False), vector.op("@@")(_term_tsquery(term, loose=True))) for term in phrases
    ]
    wanted += [(key(term, phrase=term.phrase), doc.tsv.op("@@")(_term_tsquery(term))) for term in excluded]
    counts = _frequencies(session, wanted)
    documents, counts = counts[0], counts[1:]
    term_counts = counts[: len(terms)]
    loose_counts = dict(
        zip(
            [key(term, phrase=False) for term in phrases],
            counts[len(terms) : len(terms) + len(phrases)],
            strict=True,
        )
    )
    excluded_counts = counts[len(terms) + len(phrases) :]
    title_counts = or_(doc.opening.is_(True), doc.kind == "wiki")
    clause_scores, clause_matches, weights, deciding, frequencies, loose_frequencies = [], [], [], [], [], []
    at = 0
    for clause in parsed.clauses:
        term_scores, term_matches, idf, frequency = [], [], 0.0, 0
        for _clause, term, tsquery in terms[at : at + len(clause)]:
            count = term_counts[at]
            at += 1
            term_idf = scoring.idf(documents, count)
            if term.weight == 1.0:
                idf, frequency = max(idf, term_idf), max(frequency, count)
            matches = vector.op("@@")(tsquery)
            in_title = and_(title_counts, doc.title_tsv.op("@@")(tsquery))
            value = term_idf * term.weight
            title_value = value * (scoring.TITLE_BOOST + (0.0 if parsed.in_title else 1.0))
            term_scores.append(case((in_title, title_value), (matches, value), else_=0.0))
            term_matches.append(matches)
        clause_scores.append(term_scores[0] if len(term_scores) == 1 else func.greatest(*term_scores))
        clause_matches.append(or_(*term_matches))
        weights.append(idf)
        deciding.append(scoring.is_deciding(documents, frequency))
        frequencies.append(sum(term_counts[at - len(clause) : at]))
        loose_frequencies.append(
            sum(
                loose_counts.get(key(term, phrase=False), count)
                for term, count in zip(clause, term_counts[at - len(clause) : at], strict=True)
            )
        )
    if not any(deciding):
        deciding = [True] * len(deciding)
    total_weight = sum(weights) or 1.0
    matched = sum(
        (
            case((condition, weight / total_weight), else_=0.0)
            for condition, weight in zip(clause_matches, weights, strict=True)
        ),
        literal(0.0),
    )
    score = sum(clause_scores, literal(0.0)) * matched * matched

    def tsquery_of(*, loose: bool):  # noqa: ANN202 (a SQL expression)
        """(any deciding clause) && every required one && no excluded word, as one tsquery."""
        queries = [
            [_term_tsquery(term, loose=loose) for term in clause] if loose else
            [tsquery for _clause, _term, tsquery in terms if _clause is clause]
            for clause in parsed.clauses
        ]  # fmt: skip
        any_deciding = _either([q for qs, d in zip(queries, deciding, strict=True) if d for q in qs])
        required = [
            _either(qs) for qs, clause in zip(queries, parsed.clauses, strict=True) if clause.required
        ]
        # An excluded phrase cannot be loosened (its words elsewhere do not exclude a post).
        negated = [func.tsquery_not(_term_tsquery(term)) for term in excluded if not (loose and term.phrase)]
        return _both([any_deciding, *required, *negated]), any_deciding

    query, any_deciding = tsquery_of(loose=False)
    condition = vector.op("@@")(query)
    loose = vector.op("@@")(tsquery_of(loose=True)[0]) if phrases else None
    titled = and_(title_counts, doc.title_tsv.op("@@")(any_deciding))
    requirements = [clause.required for clause in parsed.clauses]
    kept = 1.0
    for count in excluded_counts:  # taken as independent of the words searched for
        kept *= 1.0 - min(1.0, count / max(1, documents))

    def matching(found: list[int]) -> int:
        shares = [min(1.0, f / max(1, documents)) for f in found]
        return round(_matching_share(shares, deciding, requirements) * documents * kept)

    return Scored(condition, loose, score, titled, matching(frequencies), matching(loose_frequencies))


def _matching_share(shares: list[float], deciding: list[bool], required: list[bool]) -> float:
    """The share of documents with any deciding clause and every required one, taking the
    clauses as independent of each other (each clause's share counted exactly)."""
    none_deciding = 1.0
    for share, is_deciding in zip(shares, deciding, strict=True):
        none_deciding *= (1.0 - share) if is_deciding else 1.0
    # A required deciding clause already meets "any deciding clause".
    met = any(d and r for d, r in zip(deciding, required, strict=True))
    result = 1.0 if met else 1.0 - none_deciding
    for share, is_required in zip(shares, required, strict=True):
        result *= share if is_required else 1.0
    return result


def _either(tsqueries: list):  # noqa: ANN202 (a SQL expression)
    combined = tsqueries[0]
    for tsquery in tsqueries[1:]:
        combined = combined.op("||")(tsquery)
    return combined


def _both(tsqueries: list):  # noqa: ANN202 (a SQL expression)
    combined = tsqueries[0]
    for tsquery in tsqueries[1:]:
        combined = combined.op("&&")(tsquery)
    return combined


def _candidate_bound() -> int:
    return int(current_app.config["SEARCH_CANDIDATES"])


def _estimated_rows(session: Session, statement) -> int:  # noqa: ANN001
    """The planner's estimate of the rows a statement returns (its statistics, no scan)."""
    compiled = statement.compile(dialect=session.get_bind().dialect)
    plan = session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return int(plan[0]["Plan"]["Plan Rows"])


CONSISTENT_PAGES = 5  # the first five pages rank one set of candidates
_PLANNER_SETTINGS = ("enable_bitmapscan", "enable_indexscan", "enable_seqscan")


def _tell_planner(session: Session, off: tuple[str, ...]) -> None:
    """Turn these planner methods off, and the others back on, for this transaction only
    (one statement). JIT compilation stays off: an index walk's cost estimate passes its
    threshold, and compiling took 580 ms for a statement that runs in 200 (10xL)."""
    session.execute(
        select(
            func.set_config("jit", "off", True),
            *[
                func.set_config(setting, "off" if setting in off else "on", True)
                for setting in _PLANNER_SETTINGS
            ],
        )
    )


WALK_COST_RATIO = 3.0  # reading one match from GIN and its heap page / testing one post on the walk


def _walks_newest_first(session: Session, parsed: ParsedQuery, matching: int | None, bound: int) -> bool:
    """Whether to read matches newest first by walking the created_at index (else: every match
    from the GIN indexes, once), with the planner told how, for this transaction only.

    Walking and testing each post pays when matches are common; for rarer words it would test
    most of the forum, and reading every match from GIN, then sorting, is cheaper. A walked
    post costs a test of its vector; a GIN match a visit to its heap page, about three times
    as much at 10xL, where the table is far larger than shared_buffers (measured: 44,587 matches
    of "powerline adapter" read 33,765 pages in 226 ms; the walk tested 54,000 posts in 90 ms).
    The planner cannot tell (a match test costs far more than it assumes), so it is told.
    """
    if matching is None or parsed.thread_id is not None:
        return True
    if matching**2 * WALK_COST_RATIO >= bound * _frequencies(session, [("", literal(True))])[0]:
        _tell_planner(session, off=("enable_bitmapscan", "enable_seqscan"))
        return True
    _tell_planner(session, off=("enable_indexscan", "enable_seqscan"))
    return False


def _ranked_rows(session: Session, parsed: ParsedQuery, limit: int, offset: int) -> tuple[list, int, bool]:
    """The page's rows, the number of results and whether that number is exact.

    Only a bounded set of candidates is ranked (Discourse ranks recent posts first): the
    newest matching posts, SEARCH_CANDIDATES of them, plus the newest opening posts whose
    title matches, so an old thread named for the question still ranks first; four times as
    many while they hold fewer threads than CONSISTENT_PAGES pages show (a few busy threads)
    or than the page asked for. A phrase's candidates are the newest posts with its words,
    those holding the phrase kept: still the newest matches, fewer of them. What it trades:
    an old post that matches only in its text, beyond the newest candidates, is not found;
    the number of results is then estimated and shown as "about"; and a page past the fifth
    may rank a larger set than the first five, so a result can show twice or not at all
    across that boundary.
    """
    doc = SearchDocument
    conditions = _filters(parsed)
    scored = None
    if parsed.clauses:
        scored = _scored(session, parsed)
    if scored is None or parsed.in_title:
        for term in parsed.excluded:
            conditions.append(not_(doc.tsv.op("@@", return_type=Boolean)(_term_tsquery(term))))
    filters = list(conditions)
    exact = None
    if scored is not None:
        conditions.append(scored.loose if scored.loose is not None else scored.condition)
        exact = scored.condition if scored.loose is not None else None
    read = None if scored is None else scored.loose_matching
    # The candidates depend on the query, not on the page, so the first pages rank one set.
    bound = _candidate_bound()
    wanted = max(CONSISTENT_PAGES * limit, offset + limit)
    while True:
        walk = _walks_newest_first(session, parsed, read, bound)
        rows, results, newest_read, newest_count, newest_groups = _ranked_page(
            session, parsed, conditions, exact, scored, walk, bound, limit, offset
        )
        if newest_read <= bound:
            return rows, results, True
        if results >= wanted:
            break
        bound *= 4
    _tell_planner(session, off=())  # planning with them off took 25 ms
    # The words' own counts say how many documents have them (exactly, for one word or
    # phrase); the planner's statistics guess phrases and rare words (an exact 1,453 as 892),
    # so they only say which share of those the filters leave.
    if scored is None:
        matching = _estimated_rows(session, select(doc.key).where(*conditions))
    else:
        matching = scored.matching
        if filters:
            planned = _estimated_rows(session, select(doc.key).where(*conditions))
            matching = round(
                matching * planned / max(1, _estimated_rows(session, select(doc.key).where(conditions[-1])))
            )
    # Results are threads: scale by the share of distinct threads among the newest matches.
    estimate = round(matching * newest_groups / max(1, newest_count))
    return rows, max(results, estimate), False


def _ranked_page(  # noqa: PLR0913 (one statement's parts)
    session: Session,
    parsed: ParsedQuery,
    conditions: list,
    exact,  # noqa: ANN001 (the phrase test on the newest rows read, or None)
    scored: Scored | None,
    walk: bool,
    bound: int,
    limit: int,
    offset: int,
) -> tuple[list, int, int, int, int]:
    """One statement: (the page's rows, results among the candidates, newest rows read,
    matches among them, distinct threads among those).

    Walking, the newest matches and the newest matching titles are two walks (the titles' own
    index); from GIN, every match is read once and both are taken from it."""
    doc = SearchDocument
    group = doc.key if parsed.thread_id is not None else doc.group_key
    latest = parsed.order == "latest" or scored is None  # a thread's newest matching post stands for it
    score = literal_column("0.0") if scored is None else scored.score
    by_title = None
    # The title test first: it reads the short title vector, and most posts fail it.
    titled = (
        None
        if scored is None or latest
        else [scored.titled, *conditions[:-1], exact if exact is not None else conditions[-1]]
    )
    if walk:
        newest_first = doc.created_at.desc()
        read = (
            select(doc.key, group.label("grouping"))
            .where(*conditions)
            .order_by(newest_first)
            .limit(bound + 1)
        )
        if titled is not None:
            by_title = select(doc.key).where(*titled).order_by(newest_first).limit(max(1, bound // 4))
    else:
        # Every row here meets the conditions already; a phrase is tested on titled rows only.
        is_titled = (
            literal(False) if titled is None else and_(scored.titled, *([exact] if exact is not None else []))
        )
        matches = (
            select(doc.key, group.label("grouping"), doc.created_at, is_titled.label("titled"))
            .where(*conditions)
            .cte("matches")
        )
        newest_first = matches.c.created_at.desc()
        read = select(matches.c.key, matches.c.grouping).order_by(newest_first).limit(bound + 1)
        if titled is not None:
            by_title = (
                select(matches.c.key).where(matches.c.titled).order_by(newest_first).limit(max(1, bound // 4))
            )
    read = read.cte("newest_read")
    newest = read
    if exact is not None:  # the phrase, tested on the rows read only
        newest = (
            select(read.c.key, read.c.grouping).join(doc, doc.key == read.c.key).where(exact).cte("newest")
        )
    candidates = select(newest.c.key)
    if by_title is not None:
        candidates = candidates.union(by_title.subquery().select())
    candidates = candidates.cte("candidates")
    # Ties go to the earlier post, as with Whoosh (document order): on a tie the older thread
    # is the likelier original of a question asked again (issue #14).
    within_group = (doc.created_at.desc(),) if latest else (score.desc(), doc.created_at.asc(), doc.object_id)
    best = (
        select(doc.key, group.label("grouping"), doc.created_at, score.label("score"))
        .join(candidates, candidates.c.key == doc.key)
        .order_by(group, *within_group)
        .ext(distinct_on(group))
        .subquery()
    )

    def order(table):  # noqa: ANN001, ANN202
        if parsed.order == "latest":
            return (table.c.created_at.desc(),)
        return (table.c.score.desc(), table.c.created_at.asc(), table.c.key)

    page = (
        select(best.c.key, best.c.score, best.c.created_at, func.count().over().label("results"))
        .order_by(*order(best))
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    read_count = select(func.count()).select_from(read).scalar_subquery()
    newest_count = read_count if exact is None else select(func.count()).select_from(newest).scalar_subquery()
    newest_groups = select(func.count(newest.c.grouping.distinct())).scalar_subquery()
    found = session.execute(
        select(
            page.c.key,
            page.c.score,
            doc.kind,
            doc.object_id,
            doc.thread_id,
            doc.title,
            doc.body,
            page.c.results,
            read_count,
            newest_count,
            newest_groups,
        )  # fmt: skip
        .join(doc, doc.key == page.c.key)
        .order_by(*order(page))
    ).all()
    if found:
        return [row[:7] for row in found], *found[0][7:]
    # A page past the end (or nothing found): count without the page.
    counts = session.execute(
        select(
            select(func.count()).select_from(best).scalar_subquery(), read_count, newest_count, newest_groups
        )
    ).one()
    return [], *counts


def _hits(rows: list) -> list[Hit]:
    return [
        Hit(
            kind=kind,
            object_id=object_id,
            thread_id=thread_id,
            score=float(score or 0.0),
            title=title,
            body=body,
        )
        for _key, score, kind, object_id, thread_id, title, body in rows
    ]


def search(parsed: ParsedQuery, page: int, per_page: int) -> Hits:
    if not parsed.has_text and not parsed.excluded and not _filters(parsed):
        return Hits(total=0)
    with Session(db.engine) as session:
        rows, total, exact = _ranked_rows(session, parsed, per_page, (page - 1) * per_page)
    return Hits(total=total, hits=_hits(rows), exact=exact)


def similar_threads(parsed: ParsedQuery, limit: int) -> list[Hit]:
    """The threads whose posts best match a title being typed (parsed.threads_only), best first:
    each thread once, with its best post."""
    with Session(db.engine) as session:
        rows, _total, _exact = _ranked_rows(session, parsed, limit, 0)
    return _hits(rows)


_TITLE_WORDS = text(
    "SELECT word, ndoc FROM ts_stat($$SELECT title_tsv FROM search_documents WHERE opening OR kind = 'wiki'$$)"
)
SUGGEST_RARER = 20  # offer a word only if it is this many times as frequent as the one typed
SUGGEST_BELOW = 4  # ... and only for a word in fewer documents than this (a typo is rare)


def refresh_vocabulary(session: Session) -> int:
    """List the titles' words again (seconds at two million posts: a job's work, not a page's)."""
    session.execute(delete(SearchTitleWord))
    session.execute(
        insert(SearchTitleWord).from_select(
            ["word", "documents"],
            select(literal_column("word"), literal_column("ndoc"))
            .select_from(_TITLE_WORDS.columns(column("word"), column("ndoc")).subquery())
            .where(func.length(literal_column("word")) <= 100),
        )
    )
    current_app.extensions.pop("search_vocabulary", None)
    return session.scalar(select(func.count()).select_from(SearchTitleWord)) or 0


def _title_words(session: Session) -> dict[str, int]:
    """The titles' words, read from their table and kept a few minutes; listed there at once
    when the table is empty (a new forum, before its first job run)."""
    now = time.monotonic()
    vocabulary = current_app.extensions.get("search_vocabulary")
    if vocabulary is None or now - vocabulary[0] > FREQUENCIES_KEPT:
        words = dict(session.execute(select(SearchTitleWord.word, SearchTitleWord.documents)).all())
        if not words:
            with Session(db.engine) as writer:
                refresh_vocabulary(writer)
                writer.commit()
            words = dict(session.execute(select(SearchTitleWord.word, SearchTitleWord.documents)).all())
        vocabulary = (now, words)
        current_app.extensions["search_vocabulary"] = vocabulary
    return vocabulary[1]


def suggest(words: list[str]) -> dict[str, str]:
    """Corrections for words absent or much rarer than a close word of the titles.

    The titles' words (ts_stat lists the lexemes, stemmed: "dropping" is "drop", still a word
    people recognise) come from search_title_words, refreshed by a job (refresh_vocabulary).
    """
    import difflib

    candidates = [w for w in words if w.isalpha() and len(w) >= 3]
    if not candidates:
        return {}
    corrections = {}
    with Session(db.engine) as session:
        frequencies = _frequencies(
            session,
            [
                (
                    f"00:{word.lower()}",
                    SearchDocument.tsv.op("@@")(func.plainto_tsquery(CONFIG, word.lower())),
                )
                for word in candidates
            ],
        )
        for word, frequency in zip(candidates, frequencies, strict=True):
            lowered = word.lower()
            if frequency >= SUGGEST_BELOW:
                continue
            known = _title_words(session)
            close = difflib.get_close_matches(lowered, known, n=5, cutoff=0.75)
            better = [
                (known[option], option)
                for option in close
                if option != lowered
                and language.stem(option) != language.stem(lowered)
                and known[option] >= (frequency * SUGGEST_RARER if frequency else 1)
            ]
            if better:
                corrections[word] = max(better)[1]
    return corrections
