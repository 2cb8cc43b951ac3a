"""Search for people (results pages, similar threads) and for operators (status, reindex).

Only the page shown is loaded from the database, with its boards and authors, in a fixed
number of queries. Rows are checked again on load, so content hidden a moment ago is not
shown even before the outbox drain has caught up.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum.boards.models import Board, Post, Thread
from forum.boards.visibility import post_is_visible, thread_is_visible
from forum.db import refresh_planner_statistics
from forum.extensions import db
from forum.search import documents, engine, language, outbox, snippets, synonyms
from forum.search.query import Clause, ParsedQuery, Term, loosened, parse
from forum.search.results import Hit
from forum.wiki.models import WikiPage

PER_PAGE = 20
MAX_PAGE = 50  # deeper pages cost more and nobody reads them: refine the query instead
MAX_QUERY_CHARS = 500  # a pasted essay is cut here (and to MAX_CLAUSES words by the parser)
SIMILAR_LIMIT = 5
SIMILAR_CANDIDATES = 15
SEMANTIC_CANDIDATES = 30  # with the semantic layer on, more candidates: its model judges them
SIMILAR_FLOOR = 0.5  # share of the best match's score a similar thread needs: none rather than noise
# Share of the title's words a similar thread must hold (in its title and best post), and the
# best one must hold for any to show (issue #14: 0.34, and 60% of what the best held, cut the
# real duplicates found in the top five from 0.36 to 0.27 on the Stack Exchange set).
SIMILAR_MIN_COVERAGE = 0.25
SOLVED_BOOST = 1.2  # a solved thread ranks as if it matched this much better
ANSWER_CHARS = 200
STOP_WORDS_NOTE = (
    "Only very common words were typed (like “the”, “my” or “how”), and they match almost "
    "everything. Add a word about the problem, like “router” or “refund”."
)

log = logging.getLogger(__name__)


@dataclass
class Result:
    kind: str  # "thread" or "wiki"
    title_html: Markup
    snippet_html: Markup
    url: str
    thread: Thread | None = None
    post_id: int | None = None
    page: WikiPage | None = None


@dataclass
class SearchPage:
    query: ParsedQuery
    text: str
    page: int = 1
    total: int = 0
    exact: bool = True
    results: list[Result] = field(default_factory=list)
    suggestion: str | None = None
    suggestion_total: int = 0  # how many results the suggested query has
    suggestion_exact: bool = True  # False: that number is estimated ("about")
    thread: Thread | None = None  # the thread searched in (thread:ID)

    @property
    def page_count(self) -> int:
        return min(MAX_PAGE, max(1, -(-self.total // PER_PAGE)))


@dataclass
class Choices:
    """The form controls on the results page; each overrides the same filter typed in q."""

    board: str = ""
    status: str = ""
    after: str = ""
    before: str = ""
    order: str = ""
    thread: str = ""  # a thread id: search inside that thread


def apply_choices(query: ParsedQuery, choices: Choices) -> None:
    if choices.board:
        query.board = choices.board.lower()
    if choices.status in ("solved", "unsolved"):
        query.status = choices.status
    elif choices.status == "wiki":
        query.wiki = True
    for name in ("after", "before"):
        value = getattr(choices, name)
        if value:
            try:
                setattr(query, name, date.fromisoformat(value))
            except ValueError:
                query.notes.append(f"The “{name}” date must look like 2024-01-31, so it was left out.")
    if choices.order in ("latest", "relevance"):
        query.order = choices.order
    if choices.thread:
        if choices.thread.isdigit() and len(choices.thread) < 12:
            query.thread_id = int(choices.thread)
        else:
            query.notes.append("The thread to search in must be a thread number, so it was left out.")


def search(text: str, *, page: int = 1, choices: Choices | None = None) -> SearchPage:
    """Results for what a person typed plus the form's choices; never raises for bad syntax."""
    text = "".join(
        c for c in (text or "")[:MAX_QUERY_CHARS] if c.isprintable()
    )  # no NUL (PostgreSQL refuses it)
    query = parse(text)
    if query.details:
        from forum.known.search import resolve_details

        resolve_details(query)  # model:hub-4 (issue #17)
    if choices:
        apply_choices(query, choices)
    result = SearchPage(query=query, text=text, page=max(1, min(page, MAX_PAGE)))
    if query.only_stop_words and not query.has_filters:
        query.notes.append(STOP_WORDS_NOTE)
        return result
    if query.is_empty and not query.excluded:
        return result
    if outbox.has_backlog():
        outbox.drain(wait=0.0)  # catch up if no writer did; someone else draining is fine too
    if query.thread_id is not None:
        result.thread = db.session.scalar(
            select(Thread).where(Thread.id == query.thread_id, thread_is_visible())
        )
        if result.thread is None:
            query.notes.append(f"There is no thread {query.thread_id} to search in.")
            return result
    synonyms.expand(query)
    backend = engine.backend()
    hits = backend.search(query, result.page, PER_PAGE)
    if hits.total == 0 and (loose := loosened(query)) is not None:
        # Nothing has every required word or exact phrase: say so, and show what has some.
        hits = backend.search(loose, result.page, PER_PAGE)
        if hits.total:
            required = [t.text for c in query.clauses if c.required for t in c.terms if t.weight == 1.0]
            loose.notes.append(
                "Nothing has all of "
                + ", ".join(f"“{text}”" for text in required)
                + " as typed, so these results have some of the words."
            )
            result.query = query = loose
    result.total = hits.total
    result.exact = hits.exact
    result.results = _load(hits.hits, snippets.query_stems(query.all_words()))
    if query.has_text:
        _offer_correction(result, backend)
    return result


def _offer_correction(result: SearchPage, backend: object) -> None:
    """ "Did you mean": only for a typed word the index lacks or has far less often than a
    close word it has; syntax (filters, phrases, rout*) is left as typed."""
    words = [
        word
        for clause in result.query.clauses
        for term in clause
        if not term.phrase and term.weight == 1.0
        for word in [term.text]
        if re.search(rf"(?<![\w@#:+\-\"]){re.escape(word)}(?![\w:*\"])", _outside_quotes(result.text), re.I)
    ]
    corrections = backend.suggest(words) if words else {}  # type: ignore[attr-defined]
    if not corrections:
        return
    suggestion = _corrected(result.text, corrections)
    if suggestion == result.text:
        return
    corrected = parse(suggestion)
    synonyms.expand(corrected)
    hits = backend.search(corrected, 1, 1)  # type: ignore[attr-defined]
    if hits.total:
        result.suggestion, result.suggestion_total, result.suggestion_exact = (
            suggestion,
            hits.total,
            hits.exact,
        )


def _outside_quotes(text: str) -> str:
    return re.sub(r'"[^"]*(?:"|$)', lambda m: " " * len(m.group(0)), text)


def _corrected(text: str, corrections: dict[str, str]) -> str:
    pieces = re.split(r'("[^"]*(?:"|$))', text)  # phrases are kept as typed
    for index in range(0, len(pieces), 2):
        for word, better in corrections.items():
            pieces[index] = re.sub(
                rf"(?<![\w@#:+\-]){re.escape(word)}(?![\w:*])", better, pieces[index], flags=re.IGNORECASE
            )
    return "".join(pieces)


def _load(hits: list[Hit], stems: frozenset[str]) -> list[Result]:
    """The page's threads (with board, author and last poster) and wiki pages: three queries."""
    thread_ids = {hit.thread_id for hit in hits if hit.kind == "post" and hit.thread_id}
    post_ids = {hit.object_id for hit in hits if hit.kind == "post"}
    page_ids = {hit.object_id for hit in hits if hit.kind == "wiki"}
    threads: dict[int, Thread] = {}
    visible_posts: set[int] = set()
    if thread_ids:
        threads = {
            thread.id: thread
            for thread in db.session.scalars(
                select(Thread)
                .options(joinedload(Thread.board), joinedload(Thread.author), joinedload(Thread.last_poster))
                .where(Thread.id.in_(thread_ids), thread_is_visible())
            ).unique()
        }
        visible_posts = set(
            db.session.scalars(select(Post.id).where(Post.id.in_(post_ids), post_is_visible()))
        )
    pages: dict[int, WikiPage] = {}
    if page_ids:
        pages = {
            page.id: page
            for page in db.session.scalars(
                select(WikiPage)
                .options(joinedload(WikiPage.board))
                .where(WikiPage.id.in_(page_ids), WikiPage.deleted_at.is_(None))
            )
        }
    results = []
    for hit in hits:
        if hit.kind == "post":
            thread = threads.get(hit.thread_id or 0)
            if thread is None or hit.object_id not in visible_posts:
                continue
            results.append(
                Result(
                    "thread",
                    snippets.highlight(hit.title, stems),
                    snippets.snippet(hit.body, stems),
                    f"/p/{hit.object_id}",
                    thread=thread,
                    post_id=hit.object_id,
                )
            )
        elif hit.kind == "wiki" and hit.object_id in pages:
            page = pages[hit.object_id]
            results.append(
                Result(
                    "wiki",
                    snippets.highlight(hit.title, stems),
                    snippets.snippet(hit.body, stems),
                    page.url,
                    page=page,
                )
            )
    return results


@dataclass
class Similar:
    thread: Thread
    answer: str | None  # the first lines of the accepted answer, when solved


def similar_query(title: str) -> ParsedQuery:
    """A title read as words only (no syntax), stop words out, against every post of threads.

    Not the opening posts only: the answers say what a thread is about in other words than its
    question (issue #14: on real Stack Exchange duplicates the original was in the top five for
    40% of titles instead of 36%, and first for 21% instead of 20%)."""
    words = list(dict.fromkeys(language.content_words(title)))[:12]
    query = ParsedQuery(clauses=[Clause([Term(word)]) for word in words], threads_only=True)
    synonyms.expand(query)
    return query


def similar_threads(title: str, limit: int = SIMILAR_LIMIT) -> list[Similar]:
    """Threads like a title being typed: only those close to the best match (none rather than
    noise), by relevance with solved ones boosted, each with its accepted answer's first lines.
    With the semantic layer on (forum.semantic), its model judges the candidates instead."""
    title = (title or "").strip()[:200]
    if len(title) < 3:
        return []
    query = similar_query(title)
    if not query.clauses:
        return []
    semantic = bool(current_app.extensions.get("semantic"))
    hits = [
        hit
        for hit in engine.backend().similar_threads(
            query, SEMANTIC_CANDIDATES if semantic else SIMILAR_CANDIDATES
        )
        if hit.thread_id
    ]
    if not hits:
        return []
    found = {
        thread.id: thread
        for thread in db.session.scalars(
            select(Thread)
            .options(joinedload(Thread.board))
            .where(
                Thread.id.in_([hit.thread_id for hit in hits]),
                thread_is_visible(),
            )
        )
    }
    hits = [hit for hit in hits if hit.thread_id in found]
    shown: list[int] = []
    judged: set[int] = set()
    if semantic:
        from forum.semantic.ranking import judge_similar

        verdict = judge_similar(title, [(hit.thread_id, hit.score) for hit in hits], limit)  # type: ignore[misc]
        if verdict is not None:
            shown, judged = verdict.shown, verdict.judged
    # Threads the layer did not judge (it is off, or they wait for their vector) by the lexical rules.
    lexical = [hit for hit in hits[:SIMILAR_CANDIDATES] if hit.thread_id not in judged]
    shown += [thread_id for thread_id in _lexically_similar(query, lexical, found) if thread_id not in shown]
    threads = [found[thread_id] for thread_id in shown[:limit]]
    answers = _answers([thread.solution_post_id for thread in threads if thread.solution_post_id])
    return [Similar(thread, answers.get(thread.solution_post_id or 0)) for thread in threads]


def _lexically_similar(query: ParsedQuery, hits: list[Hit], found: dict[int, Thread]) -> list[int]:
    """Thread ids of the hits that hold enough of the title's words and score close to the best
    one, solved ones boosted, best first."""
    if not hits:
        return []
    wanted = snippets.query_stems(query.words())

    def coverage(hit: Hit) -> float:
        held = snippets.query_stems([hit.title, hit.body[:2000]]) & wanted
        return len(held) / len(wanted) if wanted else 1.0

    if max(coverage(hit) for hit in hits[:3]) < SIMILAR_MIN_COVERAGE:
        return []
    hits = [hit for hit in hits if coverage(hit) >= SIMILAR_MIN_COVERAGE]

    def boosted(hit: Hit) -> float:
        return hit.score * (SOLVED_BOOST if found[hit.thread_id].is_solved else 1.0)  # type: ignore[index]

    top = max((boosted(hit) for hit in hits), default=0.0)
    ranked = sorted(
        (hit for hit in hits if boosted(hit) >= SIMILAR_FLOOR * top), key=lambda hit: -boosted(hit)
    )
    return [hit.thread_id for hit in ranked]  # type: ignore[misc]


def _answers(post_ids: list[int]) -> dict[int, str]:
    """The opening of each accepted answer, as plain text cut at a word (one query)."""
    if not post_ids:
        return {}
    rows = db.session.execute(select(Post.id, Post.body_html).where(Post.id.in_(post_ids), post_is_visible()))
    answers = {}
    for post_id, body_html in rows:
        text = " ".join(documents.plain_text(body_html).split())
        if len(text) > ANSWER_CHARS:
            text = text[:ANSWER_CHARS].rsplit(" ", 1)[0] + "…"
        answers[post_id] = text
    return answers


def board_choices() -> list[Board]:
    return list(db.session.scalars(select(Board).order_by(Board.position, Board.name)))


# -- operators ----------------------------------------------------------------------------


@dataclass
class Status:
    backend: str
    indexed: int
    backlog: int
    searchable: int  # documents the database says should be indexed


def status() -> Status:
    return Status(
        backend=current_app.config["SEARCH_BACKEND"],
        indexed=engine.backend().document_count(),
        backlog=outbox.backlog(),
        searchable=documents.count_documents(db.session),
    )


def count_documents() -> int:
    return documents.count_documents(db.session)


def catch_up(progress: Callable[[int], None] = lambda done: None) -> str:
    """Bring an index that is behind the database back in step; says what it did.

    The outbox keeps the index in step with every change made through the app, but not with
    a database that changed under it: an upgrade from a release whose changes bypassed the
    outbox, a restored backup, an import, a lost index directory. Those show as a different
    number of documents once the outbox is drained; then the index is rebuilt (issue #13).
    Run by the `search-consistency` periodic job, so nobody has to remember `reindex`.
    """
    backend = engine.backend()
    for _look in range(2):  # a second look: posts written while counting are not a drift
        outbox.drain(wait=5.0)
        expected = documents.count_documents(db.session)
        db.session.rollback()
        indexed = backend.document_count()
        if indexed == expected or outbox.backlog():
            return f"in step: {indexed} documents indexed"
    log.warning("search index behind the database (%d documents, %d expected): rebuilding", indexed, expected)
    rebuilt = reindex(progress)
    return f"rebuilt: the index had {indexed} documents, the database {expected}; now {rebuilt}"


def reindex(progress: Callable[[int], None], lock_wait: float = 60.0) -> int:
    """Rebuild the whole index from the database; returns the number of documents.

    Holds the index lock for the rebuild, so outbox rows written meanwhile wait, and are
    replayed on the new index once it is swapped in; rows written before it are covered by it
    and dropped (an import with SEARCH_DRAIN_AFTER_COMMIT off left one per thread).
    """
    backend = engine.backend()
    with db.engine.connect() as connection:
        from sqlalchemy.orm import Session

        refresh_planner_statistics(connection)  # an import may have left them describing empty tables
        connection.commit()

        with Session(bind=connection) as session:
            if backend.NEEDS_LOCK:
                with outbox.index_lock(lock_wait) as held:
                    if not held:
                        from forum.errors import Conflict

                        raise Conflict("Another process is writing the index; try again in a minute.")
                    total = outbox.rebuild(session, backend, progress)
            else:
                total = outbox.rebuild(session, backend, progress)
        # PostgreSQL plans each search by the documents' statistics: describe the new ones.
        refresh_planner_statistics(connection)
        connection.commit()
        if hasattr(backend, "refresh_vocabulary"):
            with Session(bind=connection) as session:
                backend.refresh_vocabulary(session)
                session.commit()
    outbox.drain(wait=lock_wait)
    return total
