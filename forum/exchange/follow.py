"""Record types `thread_read`, `board_read` and `bookmark` (issue #15), all full only: where each
member stopped reading and what they keep are private. Drafts are never exported: they are
unsent text, like a browser's, and a restore starts without them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from forum.exchange.exporter import batched
from forum.exchange.fields import RecordError, ident, iso, text, timestamp
from forum.exchange.importer import Checker, Links, Loader, Parsed
from forum.extensions import db
from forum.follow.models import MAX_NOTE_LENGTH, BoardRead, Bookmark, ThreadRead

EXPORT_BATCH = 2000


def _position(record: dict[str, Any], name: str) -> int:
    value = record.get(name)
    if type(value) is not int or not 0 <= value <= 2_000_000_000:
        raise RecordError(f"{name!r} must be a whole number from 0, not {value!r}")
    return value


def _pairs(model: Any, first: Any, second: Any) -> Iterator[Any]:
    """Rows of a table keyed by two ids, in key order, a batch at a time (memory stays flat)."""
    last = (0, 0)
    while True:
        rows = db.session.scalars(
            select(model)
            .where((first > last[0]) | ((first == last[0]) & (second > last[1])))
            .order_by(first, second)
            .limit(EXPORT_BATCH)
        ).all()
        if not rows:
            return
        yield from rows
        last = (getattr(rows[-1], first.key), getattr(rows[-1], second.key))
        db.session.expunge_all()


# -- thread_read --------------------------------------------------------------------------------


def parse_thread_read(r: dict[str, Any]) -> Parsed:
    return {
        "user_id": ident(r, "user_id"),
        "thread_id": ident(r, "thread_id"),
        "last_read_position": _position(r, "last_read_position"),
        "seen_position": _position(r, "seen_position"),
        "read_at": timestamp(r, "read_at"),
    }


THREAD_READ = Links("thread_read", {"user_id": "user", "thread_id": "thread"}, id=None)


def check_thread_read(c: Checker, p: Parsed) -> None:
    THREAD_READ.check(c, p)
    c.add_name("thread_read", f"{p['user_id']}:{p['thread_id']}")


def load_thread_read(loader: Loader, p: Parsed) -> None:
    row = THREAD_READ.row(loader, p)
    if loader.merge and loader.connection.scalar(
        select(ThreadRead.user_id).where(
            ThreadRead.user_id == row["user_id"], ThreadRead.thread_id == row["thread_id"]
        )
    ):
        return
    loader.add("thread_reads", row)


def export_thread_reads(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in _pairs(ThreadRead, ThreadRead.user_id, ThreadRead.thread_id):
        yield {
            "type": "thread_read", "user_id": row.user_id, "thread_id": row.thread_id,
            "last_read_position": row.last_read_position, "seen_position": row.seen_position,
            "read_at": iso(row.read_at),
        }  # fmt: skip


# -- board_read ---------------------------------------------------------------------------------


def parse_board_read(r: dict[str, Any]) -> Parsed:
    return {
        "user_id": ident(r, "user_id"),
        "category_id": ident(r, "category_id"),
        "marked_at": timestamp(r, "marked_at"),
    }


BOARD_READ = Links("board_read", {"user_id": "user", "category_id": "category"}, id=None)


def check_board_read(c: Checker, p: Parsed) -> None:
    BOARD_READ.check(c, p)
    c.add_name("board_read", f"{p['user_id']}:{p['category_id']}")


def load_board_read(loader: Loader, p: Parsed) -> None:
    row = BOARD_READ.row(loader, p)
    row["board_id"] = row.pop("category_id")
    if loader.merge and loader.connection.scalar(
        select(BoardRead.user_id).where(
            BoardRead.user_id == row["user_id"], BoardRead.board_id == row["board_id"]
        )
    ):
        return
    loader.add("board_reads", row)


def export_board_reads(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in _pairs(BoardRead, BoardRead.user_id, BoardRead.board_id):
        yield {"type": "board_read", "user_id": row.user_id, "category_id": row.board_id,
               "marked_at": iso(row.marked_at)}  # fmt: skip


# -- bookmark -----------------------------------------------------------------------------------


def parse_bookmark(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "user_id": ident(r, "user_id"),
        "post_id": ident(r, "post_id"),
        "note": text(r, "note", required=False, max_length=MAX_NOTE_LENGTH) or "",
        "created_at": timestamp(r, "created_at"),
    }


BOOKMARK = Links("bookmark", {"user_id": "user", "post_id": "post"})


def check_bookmark(c: Checker, p: Parsed) -> None:
    BOOKMARK.check(c, p)
    c.add_name("bookmark_pair", f"{p['user_id']}:{p['post_id']}")


def load_bookmark(loader: Loader, p: Parsed) -> None:
    row = BOOKMARK.row(loader, p)
    if loader.merge and loader.connection.scalar(
        select(Bookmark.id).where(Bookmark.user_id == row["user_id"], Bookmark.post_id == row["post_id"])
    ):
        return
    loader.add("bookmarks", row)


def export_bookmarks(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in batched(select(Bookmark), Bookmark.id):
        yield {
            "type": "bookmark", "id": row.id, "user_id": row.user_id, "post_id": row.post_id,
            "note": row.note, "created_at": iso(row.created_at),
        }  # fmt: skip
