"""Record types `imported_member`, `origin`, `thread_duplicate` and `old_url` of the forum data format (docs/FORMAT.md).

They come after every other record (they refer to users, threads, posts and categories), so
a file without them is unchanged, and a file with them loads into a forum that has no
importer of its own for the old forum: the converters of `flask lifeboat` write them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, literal, select, update

from forum.boards.models import Post, Thread
from forum.boards.visibility import thread_is_visible
from forum.db import utcnow
from forum.exchange.exporter import batched
from forum.exchange.fields import RecordError, ident, iso, text, timestamp
from forum.exchange.importer import Checker, Links, Loader, Parsed
from forum.extensions import db
from forum.lifeboat.models import ImportedMember, OldUrl, PostOrigin
from forum.lifeboat.oldurls import path_key

FILE_TARGETS = {"category": "board", "thread": "thread", "post": "post"}  # file name -> stored name
SOURCE_MAX = 200


def _url(record: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = text(record, name, required=required, max_length=2000, nullable=not required)
    if value is not None and not value.startswith(("http://", "https://", "/")):
        raise RecordError(f"{name!r} must be an http(s) address or a path, not {value[:80]!r}")
    return value


# -- imported_member ---------------------------------------------------------------------------


def parse_imported_member(r: dict[str, Any]) -> Parsed:
    return {
        "user_id": ident(r, "user_id"),
        "source": text(r, "source", max_length=SOURCE_MAX),
        "original_name": text(r, "original_name", required=False, max_length=200) or "",
        "profile_url": _url(r, "profile_url"),
    }


IMPORTED_MEMBER = Links("imported_member", {"user_id": "user"}, id="user_id")


def check_imported_member(c: Checker, p: Parsed) -> None:
    IMPORTED_MEMBER.check(c, p)


def load_imported_member(loader: Loader, p: Parsed) -> None:
    if loader.merge and p["user_id"] in loader.maps.get("user", {}):
        return  # the file's member is an existing account (same e-mail): it was not imported
    loader.add("imported_members", IMPORTED_MEMBER.row(loader, p))


def export_imported_members(full: bool) -> Iterator[dict[str, Any]]:
    for member in batched(select(ImportedMember), ImportedMember.user_id):
        yield {
            "type": "imported_member", "user_id": member.user_id, "source": member.source,
            "original_name": member.original_name, "profile_url": member.profile_url,
        }  # fmt: skip


# -- origin ------------------------------------------------------------------------------------


def parse_origin(r: dict[str, Any]) -> Parsed:
    return {
        "post_id": ident(r, "post_id"),
        "source": text(r, "source", max_length=SOURCE_MAX),
        "author_name": text(r, "author_name", required=False, max_length=200) or "",
        "original_at": timestamp(r, "created_at", required=False),
        "url": _url(r, "url"),
        "license": text(r, "license", required=False, max_length=500, nullable=True),
    }


ORIGIN = Links("origin", {"post_id": "post"}, id="post_id")


def check_origin(c: Checker, p: Parsed) -> None:
    ORIGIN.check(c, p)


def origin_summary(p: Parsed) -> str:
    """What the post's attribution line shows, as stored in post_origins.summary."""
    return json.dumps(
        {"source": p["source"], "author": p["author_name"], "at": iso(p["original_at"]), "url": p["url"],
         "license": p["license"]},
        ensure_ascii=False, separators=(",", ":"),
    )  # fmt: skip


def load_origin(loader: Loader, p: Parsed) -> None:
    loader.add("post_origins", ORIGIN.row(loader, p, summary=origin_summary(p)))


def _public_posts() -> Any:
    """Posts of threads that a public export writes."""
    return select(Post.id).join(Thread, Thread.id == Post.thread_id).where(thread_is_visible())


def export_origins(full: bool) -> Iterator[dict[str, Any]]:
    statement = select(PostOrigin)
    if not full:
        statement = statement.where(PostOrigin.post_id.in_(_public_posts()))
    for origin in batched(statement, PostOrigin.post_id):
        yield {
            "type": "origin", "post_id": origin.post_id, "source": origin.source,
            "author_name": origin.author_name, "created_at": iso(origin.original_at), "url": origin.url,
            "license": origin.license,
        }  # fmt: skip


# -- thread_duplicate -------------------------------------------------------------------------


def parse_thread_duplicate(r: dict[str, Any]) -> Parsed:
    parsed = {"thread_id": ident(r, "thread_id"), "original_id": ident(r, "original_id")}
    if parsed["thread_id"] == parsed["original_id"]:
        raise RecordError(f"thread {parsed['thread_id']} cannot be a duplicate of itself")
    return parsed


def check_thread_duplicate(c: Checker, p: Parsed) -> None:
    c.require("thread", p["thread_id"], "thread_id")
    c.require("thread", p["original_id"], "original_id")
    c.add_id("thread_duplicate", p["thread_id"])


def load_thread_duplicate(loader: Loader, p: Parsed) -> None:
    """Threads are inserted by now (they come earlier in the file): point the duplicate at its original."""
    loader.flush()
    thread_id = loader.ref("thread", "threads", p["thread_id"])
    original_id = loader.ref("thread", "threads", p["original_id"])
    loader.connection.execute(
        update(Thread).where(Thread.id == thread_id).values(duplicate_of_id=original_id)
    )


def export_thread_duplicates(full: bool) -> Iterator[dict[str, Any]]:
    statement = select(Thread).where(Thread.duplicate_of_id.is_not(None))
    if not full:
        public_threads = select(Thread.id).where(thread_is_visible())
        statement = statement.where(
            thread_is_visible(),
            Thread.duplicate_of_id.in_(public_threads),
        )
    for thread in batched(statement, Thread.id):
        yield {"type": "thread_duplicate", "thread_id": thread.id, "original_id": thread.duplicate_of_id}


# -- old_url -----------------------------------------------------------------------------------


def parse_old_url(r: dict[str, Any]) -> Parsed:
    url = _url(r, "url", required=True)
    assert url is not None
    key = path_key(url)
    if key is None:
        raise RecordError(f"'url' {url[:80]!r} has no path that could be redirected")
    target = text(r, "target_type")
    if target not in FILE_TARGETS:
        raise RecordError(f"'target_type' must be one of {', '.join(FILE_TARGETS)}, not {target!r}")
    return {"url": url, "path_key": key, "target_type": target, "target_id": ident(r, "target_id")}


def check_old_url(c: Checker, p: Parsed) -> None:
    c.require(p["target_type"], p["target_id"], "target_id")
    c.add_name("old url", p["path_key"])


def load_old_url(loader: Loader, p: Parsed) -> None:
    kind = p["target_type"]
    table = {"category": "boards", "thread": "threads", "post": "posts"}[kind]
    if loader.merge:
        taken = loader.taken.get("old url")
        if taken is None:
            taken = loader.taken["old url"] = set(loader.connection.scalars(select(OldUrl.path_key)))
        if p["path_key"] in taken:
            return  # that old address already leads somewhere here: it keeps its meaning
        taken.add(p["path_key"])
    row = {
        "id": loader.space("old_url", "old_urls").fresh(), "url": p["url"], "path_key": p["path_key"],
        "target_type": FILE_TARGETS[kind], "target_id": loader.ref(kind, table, p["target_id"]),
    }  # fmt: skip
    loader.add("old_urls", row)


def export_old_urls(full: bool) -> Iterator[dict[str, Any]]:
    statement = select(OldUrl)
    if not full:
        public_threads = select(Thread.id).where(thread_is_visible())
        statement = statement.where(
            (OldUrl.target_type == "board")
            | ((OldUrl.target_type == "thread") & OldUrl.target_id.in_(public_threads))
            | ((OldUrl.target_type == "post") & OldUrl.target_id.in_(_public_posts()))
        )
    stored_to_file = {stored: name for name, stored in FILE_TARGETS.items()}
    for old in batched(statement, OldUrl.id):
        yield {
            "type": "old_url", "url": old.url, "target_type": stored_to_file[old.target_type],
            "target_id": old.target_id,
        }  # fmt: skip


# -- after the load: imported threads are searchable at once -------------------------------------


def queue_imported_for_search(loader: Loader) -> None:
    """Queue what this import added for the search index (drained after the commit).

    Into an empty forum, everything is the import's: one rebuild row, so the index is built by
    the bulk writer. A merge queues each thread it added, for the incremental drain.
    """
    from forum.search import outbox
    from forum.search.models import SearchOutbox

    space = loader.spaces.get("thread")
    if space is None:
        return
    if not loader.merge:
        outbox.queue_rebuild(db.session)
        return
    now = utcnow()
    added = select(literal("thread"), Thread.id, literal(now)).where(Thread.id > space.offset)
    loader.connection.execute(
        insert(SearchOutbox.__table__).from_select(["kind", "object_id", "created_at"], added)
    )
    db.session.info["search_outbox"] = True
