"""`flask exchange import`: stream a forum data file into the database, all or nothing.

Two passes over the file, one line in memory at a time:

1. check: every record's fields, uniqueness and references ("a record only refers to
   records on earlier lines"). The first bad record stops the import with its line number
   and the database is not touched at all.
2. load: rows are collected into batches and inserted with one executemany per table
   (SQLAlchemy Core, no ORM objects), Markdown is rendered a batch at a time, counters are
   computed with a few GROUP BY queries at the end, and everything is one transaction: if
   the database refuses anything, nothing stays.

Ids: into an empty forum a file's ids are kept (so /t/123 links survive a restore); with
--merge every id is shifted past the largest id already in its table, users with the same
e-mail address are the same person, boards with the same slug the same board, and taken
usernames or wiki slugs get a numbered suffix. Memory holds bitmaps of seen ids (max id / 8
bytes) and the users' names, never the posts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from markupsafe import Markup
from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.exc import SQLAlchemyError

from forum.db import refresh_planner_statistics
from forum.errors import Invalid
from forum.exchange.fields import IdSet, RecordError
from forum.exchange.files import files_folder
from forum.extensions import db
from forum.markup import render_markdown

Parsed = dict[str, Any]  # a record's checked values, as a record type's parse() returns them
BATCH_ROWS = 2000
SHORT_BODY = 300  # characters: bodies up to this long go through the render cache
FORMAT_NAME = "roundabout-corpus"
FORMAT_VERSION = 1


def render_or_escape(source: str) -> str:
    """Rendered HTML, or the source shown as escaped text when the current rules refuse it."""
    try:
        return str(render_markdown(source))
    except Invalid:
        return str(Markup("<p>{}</p>").format(source))


def unique_name(value: str, taken: set[str], joiner: str, max_length: int) -> str:
    """`value`, or value + joiner + 2, 3, ... if it is taken (merge)."""
    candidate, number = value, 1
    while candidate in taken:
        number += 1
        suffix = f"{joiner}{number}"
        candidate = value[: max_length - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


@dataclass
class IdSpace:
    """How a file's ids become database ids: shifted by `offset`; `fresh()` for records without one."""

    offset: int
    next_fresh: int

    def map(self, file_id: int) -> int:
        return file_id + self.offset

    def fresh(self) -> int:
        number = self.next_fresh
        self.next_fresh += 1
        return number


@dataclass
class Checker:
    """Pass 1: what has been seen so far, to check uniqueness and references."""

    ids: dict[str, IdSet] = field(default_factory=dict)
    names: dict[str, set[str]] = field(default_factory=dict)
    fresh_needed: dict[str, int] = field(default_factory=dict)
    current_thread: int | None = None
    current_thread_created: Any = None
    current_thread_has_solution: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    files: Path | None = None  # the files folder beside the file (forum.exchange.files)

    def add_id(self, kind: str, number: int) -> None:
        if not self.ids.setdefault(kind, IdSet()).add(number):
            raise RecordError(f"{kind} id {number} appears twice")

    def require(self, kind: str, number: int | None, name: str) -> None:
        """A reference must point at a record on an earlier line."""
        if number is not None and number not in self.ids.get(kind, ()):
            raise RecordError(f"{name} {number} refers to no {kind} on an earlier line")

    def add_name(self, kind: str, value: str) -> None:
        seen = self.names.setdefault(kind, set())
        if value in seen:
            raise RecordError(f"{kind} {value!r} appears twice")
        seen.add(value)

    def need_fresh(self, kind: str) -> None:
        """A record without an id of this kind: the loader numbers it after the largest given id."""
        self.fresh_needed[kind] = self.fresh_needed.get(kind, 0) + 1

    def max_id(self, kind: str) -> int:
        ids = self.ids.get(kind)
        return ids.max if ids else 0


@dataclass
class ThreadState:
    """The thread being loaded: its replies follow it directly, so counters are summed as they come."""

    row: dict[str, Any]
    posts: int = 1
    visible_replies: int = 0
    last: tuple[int, int, Any] | None = None  # (post id, author id, created_at) of the latest visible post
    solution_post_id: int | None = None


class Loader:
    """Pass 2: maps ids, batches rows and inserts them with executemany."""

    def __init__(self, connection: Connection, checker: Checker, *, merge: bool, jobs: int = 1) -> None:
        self.connection = connection
        self.merge = merge
        self.batches: dict[str, list[dict[str, Any]]] = {}
        self.buffered = 0
        self.thread: ThreadState | None = None
        self.maps: dict[str, dict[int, int]] = {}  # merge: users and boards matched to existing rows
        self.taken: dict[str, set[str]] = {}  # merge: usernames, e-mails, slugs already used
        self.spaces: dict[str, IdSpace] = {}
        self.email_owner: dict[str, int] = {}  # merge: existing e-mail address -> user id
        self.checker = checker
        self.jobs = jobs
        self._pool: Any = None
        # Short bodies repeat ("Thanks, that fixed it!"): a small LRU cache renders each once.
        # Rendering is a pure function of the source, and 2,048 short entries bound the memory.
        self._render_short = lru_cache(maxsize=2048)(render_or_escape)
        self.inserted: dict[str, int] = {}
        self.first_joined: Any = None  # the earliest user in the file: default age of its boards

    def table(self, name: str) -> Table:
        return db.metadata.tables[name]

    def space(self, kind: str, table: str) -> IdSpace:
        """The id space of a record kind, created on first use from the table's largest id."""
        space = self.spaces.get(kind)
        if space is None:
            column = self.table(table).c.id
            offset = self.connection.scalar(select(func.max(column))) or 0 if self.merge else 0
            space = self.spaces[kind] = IdSpace(offset, offset + self.checker.max_id(kind) + 1)
        return space

    def ref(self, kind: str, table: str, file_id: int | None) -> int | None:
        """The database id of an earlier record (None stays None)."""
        if file_id is None:
            return None
        mapped = self.maps.get(kind)
        if mapped is not None and file_id in mapped:
            return mapped[file_id]
        return self.space(kind, table).map(file_id)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.batches.setdefault(table, []).append(row)
        self.buffered += 1

    # -- threads and their replies ---------------------------------------------------------------

    def open_thread(self, row: dict[str, Any], opening: dict[str, Any]) -> None:
        self.close_thread()
        self.thread = ThreadState(row)
        if opening["deleted_at"] is None and opening["hidden_at"] is None:
            self.thread.last = (opening["id"], opening["author_id"], opening["created_at"])
        self.add("posts", opening)

    def add_reply(self, row: dict[str, Any], *, is_solution: bool) -> None:
        state = self.thread
        assert state is not None  # the checker made sure a reply follows its thread
        state.posts += 1
        row["position"] = state.posts
        if row["deleted_at"] is None and row["hidden_at"] is None:
            state.visible_replies += 1
            state.last = (row["id"], row["author_id"], row["created_at"])
        if is_solution:
            state.solution_post_id = row["id"]
        self.add("posts", row)

    def close_thread(self) -> None:
        """Fill the finished thread's counters and queue its row (before its posts are inserted)."""
        state, self.thread = self.thread, None
        if state is None:
            return
        row = state.row
        row["post_count"] = state.posts
        row["reply_count"] = state.visible_replies
        row["solution_post_id"] = state.solution_post_id
        if state.last is None:
            row["last_post_id"], row["last_poster_id"], row["last_post_at"] = None, None, row["created_at"]
        else:
            row["last_post_id"], row["last_poster_id"], row["last_post_at"] = state.last
        self.add("threads", row)

    # -- writing ---------------------------------------------------------------------------------

    def maybe_flush(self) -> None:
        if self.buffered >= BATCH_ROWS and self.thread is None:
            self.flush()

    def flush(self) -> None:
        """Insert every batch, parents before children, rendering Markdown a batch at a time."""
        for table in db.metadata.sorted_tables:
            rows = self.batches.pop(table.name, None)
            if not rows:
                continue
            pending = [row for row in rows if row.get("body_html", "") is None]
            if pending:
                for row, html in zip(
                    pending, self.render_many([r["body_source"] for r in pending]), strict=True
                ):
                    row["body_html"] = html
            self.connection.execute(insert(table), rows)
            self.inserted[table.name] = self.inserted.get(table.name, 0) + len(rows)
        self.buffered = 0

    def render_many(self, sources: list[str]) -> list[str]:
        short = self._render_short
        if self.jobs <= 1 or len(sources) < 200:
            return [short(s) if len(s) <= SHORT_BODY else render_or_escape(s) for s in sources]
        if self._pool is None:
            import multiprocessing

            self._pool = multiprocessing.get_context("fork").Pool(self.jobs)
        long_sources = [s for s in sources if len(s) > SHORT_BODY]
        rendered = iter(self._pool.map(render_or_escape, long_sources, chunksize=50))
        return [short(s) if len(s) <= SHORT_BODY else next(rendered) for s in sources]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None


# -- references, declared once -----------------------------------------------------------------

# The table whose ids a record kind's ids become (a file's "category" is a board).
TABLES = {
    "user": "users", "employee_badge": "employee_badges", "category": "boards", "thread": "threads",
    "post": "posts", "wiki_page": "wiki_pages", "wiki_revision": "wiki_revisions",
    "helpful_vote": "helpful_votes", "idea_vote": "idea_votes", "idea_status_change": "idea_status_changes",
    "problem_field": "problem_fields", "problem_value": "problem_values",
    "problem_value_change": "problem_value_changes", "known_issue_change": "known_issue_changes",
    "affected_member": "affected_members", "watch": "watches", "audit_entry": "audit_log",
    "board_moderator": "board_moderators", "flag": "flags", "post_revision": "post_revisions",
    "user_notice": "user_notices", "bookmark": "bookmarks", "upload": "uploads", "upload_use": "upload_uses",
}  # fmt: skip
# Kinds keyed by their thread's id: a reference to one is a reference to the thread.
SAME_IDS = {"idea": "thread", "known_issue": "thread"}


@dataclass(frozen=True)
class Links:
    """A record type's own id and the records it refers to, declared once for both passes.

    `check` and `row` read the same declaration, so the references the first pass checks are
    the ones the second pass maps, each into its kind's table: listed twice, in the check and
    the load, they could disagree. `refs` maps a field to the kind it names, in the order
    they are checked; `id` is the field with the record's own id (None: it has none; a field
    of `refs`: the record is keyed by the record it names, as an idea by its thread).
    """

    kind: str
    refs: dict[str, str] = field(default_factory=dict)
    id: str | None = "id"

    def check(self, c: Checker, p: Parsed) -> None:
        """Pass 1: the record's id is new and each reference names a record on an earlier line."""
        if self.id is not None:
            c.add_id(self.kind, p[self.id])
        for name, kind in self.refs.items():
            c.require(kind, p[name], name)

    def row(self, loader: Loader, p: Parsed, **extra: Any) -> dict[str, Any]:
        """Pass 2: the parsed values with database ids for the record's id and references, and `extra`."""
        row = dict(p)
        links = self.refs if self.id is None else {self.id: self.kind, **self.refs}
        for name, kind in links.items():
            space = SAME_IDS.get(kind, kind)
            row[name] = loader.ref(space, TABLES[space], p[name])
        row.update(extra)
        return row


# -- the two passes ----------------------------------------------------------------------------


def read_records(
    handle: IO[bytes], progress: Callable[[int], None] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each line; a line that is not one JSON object is an error."""
    for number, raw in enumerate(handle, start=1):
        if progress is not None:
            progress(len(raw))
        if not raw.strip():
            raise RecordError("blank line (the format has one JSON object per line)", number)
        try:
            record = json.loads(raw)
        except UnicodeDecodeError as error:
            raise RecordError(f"not UTF-8 text ({error.reason})", number) from error
        except ValueError as error:
            raise RecordError(f"not valid JSON ({error})", number) from error
        if not isinstance(record, dict):
            raise RecordError("a line must hold one JSON object", number)
        kind = record.get("type")
        if not isinstance(kind, str):
            raise RecordError("the record has no 'type' field", number)
        yield number, record


def check_meta(record: dict[str, Any]) -> None:
    if record.get("type") != "meta":
        raise RecordError("the first line must be the meta record")
    if record.get("format") != FORMAT_NAME:
        raise RecordError(f"this is not a {FORMAT_NAME} file (format {record.get('format')!r})")
    if record.get("version") != FORMAT_VERSION:
        raise RecordError(
            f"format version {record.get('version')!r} is not supported (only {FORMAT_VERSION})"
        )


def check_file(
    handle: IO[bytes], progress: Callable[[int], None] | None = None, files: Path | None = None
) -> Checker:
    """Pass 1: validate every record; raises RecordError with the line number of the first bad one."""
    from forum.exchange.records import RECORD_TYPES

    checker = Checker(files=files)
    seen_meta = False
    for number, record in read_records(handle, progress):
        try:
            if number == 1:
                check_meta(record)
                seen_meta = True
                continue
            kind = record["type"]
            record_type = RECORD_TYPES.get(kind)
            if record_type is None:
                known = ", ".join(sorted(RECORD_TYPES))
                raise RecordError(f"unknown record type {kind!r} (this forum reads: meta, {known})")
            if kind != "post":
                checker.current_thread = None
            record_type.check(checker, record_type.parse(record))
            checker.counts[kind] = checker.counts.get(kind, 0) + 1
        except RecordError as error:
            error.line = number
            raise
    if not seen_meta:
        raise RecordError("the file is empty", 1)
    return checker


def forum_has_content(connection: Connection) -> bool:
    for name in ("users", "boards", "threads", "wiki_pages"):
        if connection.scalar(select(db.metadata.tables[name].c.id).limit(1)) is not None:
            return True
    return False


def load_file(
    handle: IO[bytes], checker: Checker, *, merge: bool, jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Pass 2: insert every record in the caller's transaction; returns rows inserted per table."""
    from forum.exchange.records import FINALIZERS, RECORD_TYPES

    connection = db.session.connection()
    loader = Loader(connection, checker, merge=merge, jobs=jobs)
    try:
        if merge:
            for prepare in FINALIZERS.get("prepare_merge", []):
                prepare(loader)
        for number, record in read_records(handle, progress):
            if number == 1:
                continue
            kind = record["type"]
            if kind != "post":
                loader.close_thread()
                loader.maybe_flush()
            record_type = RECORD_TYPES[kind]
            record_type.load(loader, record_type.parse(record))
        loader.close_thread()
        loader.flush()
        for finish in FINALIZERS.get("finish", []):
            finish(loader)
        _reset_sequences(connection)
    finally:
        loader.close()
    return loader.inserted


def _reset_sequences(connection: Connection) -> None:
    """PostgreSQL: ids were inserted explicitly, so move each id sequence past the largest id."""
    if connection.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key and table.c.id.autoincrement:
            connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )


def import_file(
    path: str | os.PathLike[str], *, merge: bool = False, jobs: int = 1,
    progress: Callable[[str, int], Any] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Check the whole file, then load it in one transaction and commit; RecordError if refused.

    `progress(stage, size)` is called before each pass with the file size and must return a
    callable taking a number of bytes read (or None).
    """
    size = os.path.getsize(path)
    if not merge and forum_has_content(db.session.connection()):
        db.session.rollback()
        raise RecordError(
            "this forum has content already; import into an empty database, or pass --merge "
            "to add the file's records to it"
        )
    with open(path, "rb") as handle:
        checker = check_file(handle, progress("Checking", size) if progress else None, files_folder(path))
    try:
        with open(path, "rb") as handle:
            inserted = load_file(
                handle,
                checker,
                merge=merge,
                jobs=jobs,
                progress=progress("Importing", size) if progress else None,
            )
    except SQLAlchemyError as error:
        db.session.rollback()
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise RecordError(f"the database refused the import ({reason})") from error
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    refresh_planner_statistics(db.session.connection())
    db.session.commit()
    return inserted
