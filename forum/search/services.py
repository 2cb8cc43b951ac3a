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

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum.boards.models import Board, Post, Thread
from forum.db import refresh_planner_statistics
from forum.extensions import db
from forum.search import documents, engine, outbox
from forum.search.query import ParsedQuery, parse
from forum.search.results import Hit
from forum.wiki.models import WikiPage

PER_PAGE = 20
MAX_PAGE = 50  # deeper pages cost more and nobody reads them: refine the query instead
SIMILAR_LIMIT = 5
FEW_RESULTS = 3  # offer "did you mean" below this many

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


def search(text: str, *, page: int = 1, choices: Choices | None = None) -> SearchPage:
    """Results for what a person typed plus the form's choices; never raises for bad syntax."""
    text = "".join(c for c in (text or "")[:500] if c.isprintable())  # no NUL (PostgreSQL refuses it)
    query = parse(text)
    if query.details:
        from forum.known.search import resolve_details

        resolve_details(query)  # model:hub-4 (issue #17)
    if choices:
        apply_choices(query, choices)
    result = SearchPage(query=query, text=text, page=max(1, min(page, MAX_PAGE)))
    if query.is_empty and not query.excluded:
        return result
    if outbox.has_backlog():
        outbox.drain(wait=0.0)  # catch up if no writer did; someone else draining is fine too
    backend = engine.backend()
    hits = backend.search(query, result.page, PER_PAGE)
    result.total = hits.total
    result.exact = hits.exact
    result.results = _load(hits.hits)
    if query.has_text and hits.total < FEW_RESULTS:
        corrections = backend.suggest(query.words())
        if corrections:
            result.suggestion = _corrected(text, corrections)
    return result


def _corrected(text: str, corrections: dict[str, str]) -> str:
    for word, better in corrections.items():
        text = re.sub(rf"(?<![\w@#:]){re.escape(word)}(?!\w)", better, text)
    return text


def _load(hits: list[Hit]) -> list[Result]:
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
                .where(Thread.id.in_(thread_ids), Thread.deleted_at.is_(None), Thread.hidden_at.is_(None))
            ).unique()
        }
        visible_posts = set(
            db.session.scalars(
                select(Post.id).where(
                    Post.id.in_(post_ids), Post.deleted_at.is_(None), Post.hidden_at.is_(None)
                )
            )
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
                    hit.title_html,
                    hit.snippet_html,
                    f"/p/{hit.object_id}",
                    thread=thread,
                    post_id=hit.object_id,
                )
            )
        elif hit.kind == "wiki" and hit.object_id in pages:
            page = pages[hit.object_id]
            results.append(Result("wiki", hit.title_html, hit.snippet_html, page.url, page=page))
    return results


def similar_threads(title: str, limit: int = SIMILAR_LIMIT) -> list[Thread]:
    """Up to `limit` existing threads like a title being typed, solved ones first."""
    title = (title or "").strip()[:200]
    if len(title) < 3:
        return []
    ids = engine.backend().similar_threads(title, limit)
    if not ids:
        return []
    found = {
        thread.id: thread
        for thread in db.session.scalars(
            select(Thread)
            .options(joinedload(Thread.board))
            .where(Thread.id.in_(ids), Thread.deleted_at.is_(None), Thread.hidden_at.is_(None))
        )
    }
    ranked = [found[i] for i in dict.fromkeys(ids) if i in found][: limit * 2]
    ranked.sort(key=lambda thread: not thread.is_solved)  # stable: relevance within each group
    return ranked[:limit]


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
    from flask import current_app

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
    replayed on the new index once it is swapped in.
    """
    backend = engine.backend()
    total = 0

    def counted(done: int) -> None:
        nonlocal total
        total += done
        progress(done)

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
                    backend.rebuild(documents.all_documents(session), counted)
            else:
                backend.rebuild(documents.all_documents(session), counted)
    outbox.drain(wait=lock_wait)
    return total
