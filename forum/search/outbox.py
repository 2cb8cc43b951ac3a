"""Index changes through an outbox: a session hook records them, a drain applies them.

The hook runs after every flush, in the flushing transaction, and inserts (kind, id) rows
into search_outbox for each changed post, thread and wiki page, so the note commits or
rolls back with the change itself. After a commit, the drain (after the response, or at
once outside requests) loads those rows in a fresh session and brings the index in line:
whoever gets the lock drains everything; a process that dies mid-drain leaves its rows for
the next one, and replaying a row is harmless. Services never call the index.

A bulk import into an empty forum queues one REBUILD row instead of a row per thread: the
drain then rebuilds the index from the database with the bulk writer (as `flask search
reindex` does) and drops every row the rebuild covers. Replaying 20,000 thread rows, 500 at
a time through the incremental writer, cost ten times the import itself.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context
from sqlalchemy import delete, event, func, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.search import documents
from forum.search.models import SearchOutbox
from forum.wiki.models import WikiPage, WikiRevision

log = logging.getLogger(__name__)

BATCH_SIZE = 500
REBUILD = "rebuild"  # an outbox kind: rebuild the whole index from the database (object_id 0)
# Changes that alter what a post's or thread's index entries hold (counters do not).
POST_FIELDS = ("body_html", "deleted_at", "hidden_at", "thread_id", "author_id", "created_at")
THREAD_FIELDS = ("title", "board_id", "deleted_at", "hidden_at", "solution_post_id", "has_employee_reply")
WIKI_FIELDS = ("title", "board_id", "deleted_at", "current_revision_id", "slug")


def _changed(obj: object, names: tuple[str, ...]) -> bool:
    attrs = inspect(obj).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _entries(session: Session) -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    for obj in session.new:
        if isinstance(obj, Post):
            found.add(("post", obj.id))
        elif isinstance(obj, Thread):
            found.add(("thread", obj.id))
        elif isinstance(obj, WikiPage):
            found.add(("wiki", obj.id))
        elif isinstance(obj, WikiRevision):
            found.add(("wiki", obj.page_id))
    for obj in session.dirty:
        if isinstance(obj, Post) and _changed(obj, POST_FIELDS):
            found.add(("post", obj.id))
        elif isinstance(obj, Thread) and _changed(obj, THREAD_FIELDS):
            found.add(("thread", obj.id))
        elif isinstance(obj, WikiPage) and _changed(obj, WIKI_FIELDS):
            found.add(("wiki", obj.id))
    for obj in session.deleted:
        if isinstance(obj, Post):
            found.add(("post", obj.id))
        elif isinstance(obj, Thread):
            found.add(("thread", obj.id))
        elif isinstance(obj, WikiPage):
            found.add(("wiki", obj.id))
    return {(kind, object_id) for kind, object_id in found if object_id is not None}


def _after_flush(session: Session, flush_context: Any) -> None:
    entries = _entries(session)
    # A new thread's opening post is recorded on its own; the thread row adds nothing then.
    new_threads = {obj.id for obj in session.new if isinstance(obj, Thread)}
    entries -= {("thread", thread_id) for thread_id in new_threads}
    entries |= _renamed_entries(session)
    _record(session, entries)


def _record(session: Session, entries: set[tuple[str, int]]) -> None:
    if not entries:
        return
    now = utcnow()
    session.connection().execute(
        insert(SearchOutbox.__table__),
        [{"kind": kind, "object_id": object_id, "created_at": now} for kind, object_id in sorted(entries)],
    )
    session.info["search_outbox"] = True


def queue_rebuild(session: Session) -> None:
    """Have the next drain rebuild the whole index: one row, whatever the number of changes."""
    _record(session, {(REBUILD, 0)})


def _renamed_entries(session: Session) -> set[tuple[str, int]]:
    """A board's new slug (`#board`) or a member's new name (`@name`) is in every document of
    theirs: their threads and posts go through the outbox too (rare, so a SELECT of ids is fine)."""
    found: set[tuple[str, int]] = set()
    for obj in session.dirty:
        if isinstance(obj, Board) and _changed(obj, ("slug",)):
            found |= {
                ("thread", i) for i in session.scalars(select(Thread.id).where(Thread.board_id == obj.id))
            }
            found |= {
                ("wiki", i) for i in session.scalars(select(WikiPage.id).where(WikiPage.board_id == obj.id))
            }
        elif isinstance(obj, User) and _changed(obj, ("username",)):
            found |= {("post", i) for i in session.scalars(select(Post.id).where(Post.author_id == obj.id))}
            found |= {
                ("wiki", i)
                for i in session.scalars(
                    select(WikiPage.id)
                    .join(WikiRevision, WikiRevision.id == WikiPage.current_revision_id)
                    .where(WikiRevision.author_id == obj.id)
                )
            }
    return found


# Bulk UPDATEs (`session.execute(update(Thread)...)`) bypass the flush, so the after_flush
# hook never sees them: the Q&A solution is a compare-and-set UPDATE, and `status:solved`
# missed every thread solved since the last reindex (issue #13). This hook records the rows
# such a statement may change, when it sets a column the index holds.
_BULK_WATCHED = {"posts": ("post", POST_FIELDS), "threads": ("thread", THREAD_FIELDS),
                 "wiki_pages": ("wiki", WIKI_FIELDS)}  # fmt: skip


def _before_bulk_update(state: ORMExecuteState) -> None:
    if not state.is_update or state.bind_mapper is None:
        return
    mapper = state.bind_mapper
    watched = _BULK_WATCHED.get(mapper.local_table.name)
    if watched is None:
        return
    kind, fields = watched
    statement = state.statement
    values = getattr(statement, "_values", None) or {}
    names = {getattr(key, "key", key) for key in values}
    if not names & set(fields):
        return
    key = mapper.primary_key[0]
    query = select(key)
    if statement.whereclause is not None:
        query = query.where(statement.whereclause)
    ids = set(state.session.scalars(query))
    _record(state.session, {(kind, object_id) for object_id in ids})


def _after_commit(session: Session) -> None:
    if not session.info.pop("search_outbox", False):
        return
    try:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    except RuntimeError:
        return  # a session outside the app (the benchmark loader): `flask search drain` catches up
    if not app.config["SEARCH_DRAIN_AFTER_COMMIT"]:
        return
    if has_request_context():
        g.search_drain = True
    else:
        drain(wait=app.config["SEARCH_LOCK_WAIT"])


def _after_rollback(session: Session) -> None:
    session.info.pop("search_outbox", None)


_hooks_installed = False


def install_hooks(app: Flask) -> None:
    """Watch every session (idempotent) and drain after responses that changed content."""
    global _hooks_installed
    app.config.setdefault("SEARCH_DRAIN_AFTER_COMMIT", True)
    app.config.setdefault("SEARCH_LOCK_WAIT", 2.0)
    if not _hooks_installed:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _before_bulk_update)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", lambda session, previous: _after_rollback(session))
        _hooks_installed = True

    @app.after_request
    def drain_search_after_response(response: Response) -> Response:
        if g.pop("search_drain", False):

            def run() -> None:
                with app.app_context():
                    try:
                        drain(wait=app.config["SEARCH_LOCK_WAIT"])
                    except Exception:  # the rows stay in the outbox for the next drain
                        log.exception("search outbox drain failed; the next drain retries")

            response.call_on_close(run)
        return response


# -- draining -------------------------------------------------------------------------------


@contextmanager
def index_lock(wait: float) -> Iterator[bool]:
    """The one-writer lock (a flock on a file beside the index): yields whether we hold it."""
    path = Path(current_app.config["SEARCH_INDEX_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    with open(path / "drain.lock", "a+") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def backlog() -> int:
    with Session(db.engine) as session:
        return session.scalar(select(func.count()).select_from(SearchOutbox)) or 0


def has_backlog() -> bool:
    return db.session.execute(select(SearchOutbox.id).limit(1)).first() is not None


def drain(wait: float = 0.0) -> int:
    """Apply outbox rows to the index until none are left; returns how many were applied."""
    from forum.search import engine

    backend = engine.backend()
    if backend.NEEDS_LOCK:
        done = 0
        for _attempt in range(3):
            with index_lock(wait) as held:
                if not held:
                    return done  # the holder drains what we wrote, or the next drain does
                done += _drain_batches(backend)
            # A commit between our last look and the unlock may have missed the lock: look again.
            if not _pending():
                break
            wait = 0.0
        return done
    return _drain_batches(backend)


def _pending() -> bool:
    with Session(db.engine) as session:
        return session.execute(select(SearchOutbox.id).limit(1)).first() is not None


def _drain_batches(backend: Any) -> int:
    done = 0
    while True:
        with Session(db.engine) as session:
            statement = select(SearchOutbox.id, SearchOutbox.kind, SearchOutbox.object_id).order_by(
                SearchOutbox.id
            )
            statement = statement.limit(BATCH_SIZE)
            if not backend.NEEDS_LOCK:
                statement = statement.with_for_update(skip_locked=True)
            rows = session.execute(statement).all()
            if not rows:
                session.rollback()
                return done
            if any(kind == REBUILD for _id, kind, _object_id in rows):
                done += rebuild(session, backend, lambda _count: None)
                continue
            apply_rows(session, backend, [(kind, object_id) for _id, kind, object_id in rows])
            session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([row[0] for row in rows])))
            session.commit()
            done += len(rows)


def rebuild(session: Session, backend: Any, progress: Any) -> int:
    """Rebuild the index from the database, then delete the outbox rows it covers: those
    committed before it started reading, so they are not replayed one by one after it.
    Returns the number of documents. The caller holds the index lock (Whoosh)."""
    covered = session.scalar(select(func.max(SearchOutbox.id))) or 0
    total = 0

    def counted(count: int) -> None:
        nonlocal total
        total += count
        progress(count)

    backend.rebuild(documents.all_documents(session), counted)
    session.commit()  # ends the read (on PostgreSQL, releases the rows this drain locked)
    session.execute(delete(SearchOutbox).where(SearchOutbox.id <= covered))
    session.commit()
    return total


def apply_rows(session: Session, backend: Any, rows: list[tuple[str, int]]) -> None:
    """Load the current state of the rows' objects and update the index to match."""
    post_ids = {object_id for kind, object_id in rows if kind == "post"}
    thread_ids = {object_id for kind, object_id in rows if kind == "thread"}
    wiki_ids = {object_id for kind, object_id in rows if kind == "wiki"}
    docs = documents.thread_documents(session, thread_ids)
    docs += documents.post_documents(session, post_ids - {0})
    docs += documents.wiki_documents(session, wiki_ids)
    found = {doc.key for doc in docs}
    removed = [f"p{i}" for i in post_ids if f"p{i}" not in found]
    removed += [f"w{i}" for i in wiki_ids if f"w{i}" not in found]
    backend.apply_changes(docs, removed, sorted(thread_ids), session=session)
