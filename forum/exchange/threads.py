"""Record types `thread` and `post` (a reply, directly after its thread): parse, check, load, export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from forum.boards.models import Post, Thread
from forum.boards.services import slugify
from forum.boards.visibility import thread_is_visible
from forum.exchange.exporter import EXPORT_BATCH, batched
from forum.exchange.fields import RecordError, flag, ident, iso, obj, text, timestamp
from forum.exchange.importer import Checker, Loader, Parsed
from forum.extensions import db

# -- thread and post ---------------------------------------------------------------------------

POST_STATE = ("edited_at", "deleted_at", "hidden_at")
POST_STATE_USERS = ("edited_by_id", "deleted_by_id", "hidden_by_id")


def _post_state(source: dict[str, Any]) -> Parsed:
    state: Parsed = {name: timestamp(source, name, required=False) for name in POST_STATE}
    for name in POST_STATE_USERS:
        state[name] = ident(source, name, required=False)
    state["hidden_reason"] = text(source, "hidden_reason", required=False, max_length=500, nullable=True)
    state["badge_id"] = ident(source, "badge_id", required=False)
    helpful = source.get("helpful_count", 0)
    if type(helpful) is not int or helpful < 0:
        raise RecordError(f"'helpful_count' must be a whole number of at least 0, not {helpful!r}")
    state["helpful_count"] = helpful
    carried = source.get("helpful_carried", 0)
    if type(carried) is not int or not 0 <= carried <= helpful:
        raise RecordError(
            f"'helpful_carried' must be a whole number from 0 to helpful_count, not {carried!r}"
        )
    state["helpful_carried"] = carried
    return state


def parse_thread(r: dict[str, Any]) -> Parsed:
    opening = obj(r, "opening_post")
    created_at = timestamp(r, "created_at")
    locked_at = timestamp(r, "locked_at", required=False)
    if flag(r, "locked", required=False) and locked_at is None:
        locked_at = created_at
    return {
        "id": ident(r, "id"),
        "category_id": ident(r, "category_id"),
        "user_id": ident(r, "user_id"),
        "title": text(r, "title", max_length=200),
        "body": text(r, "body", max_length=1_000_000),
        "created_at": created_at,
        "pinned": flag(r, "pinned", required=False),
        "locked_at": locked_at,
        "lock_reason": text(r, "lock_reason", required=False, max_length=500, nullable=True),
        "deleted_at": timestamp(r, "deleted_at", required=False),
        "hidden_at": timestamp(r, "hidden_at", required=False),
        "post_id": ident(opening, "id", required=False),
        "post": _post_state(opening),
        "affected_count": _affected_count(r),
    }


def _affected_count(r: dict[str, Any]) -> int:
    """Members who said "affected too" (issue #17); optional, 0 when missing."""
    value = r.get("affected_count", 0)
    if type(value) is not int or not 0 <= value <= 2**31 - 1:
        raise RecordError(f"'affected_count' must be a whole number of at least 0, not {value!r}")
    return value


def _check_post_users(c: Checker, state: Parsed) -> None:
    for name in POST_STATE_USERS:
        c.require("user", state[name], name)
    c.require("employee_badge", state["badge_id"], "badge_id")


def check_thread(c: Checker, p: Parsed) -> None:
    c.add_id("thread", p["id"])
    c.require("category", p["category_id"], "category_id")
    c.require("user", p["user_id"], "user_id")
    if p["post_id"] is None:
        c.need_fresh("post")
    else:
        c.add_id("post", p["post_id"])
    _check_post_users(c, p["post"])
    c.current_thread, c.current_thread_created, c.current_thread_has_solution = (
        p["id"],
        p["created_at"],
        False,
    )


def _post_row(loader: Loader, post_id: int, thread_id: int, author: int, body: str, created_at: Any,
              state: Parsed) -> dict[str, Any]:  # fmt: skip
    return {
        "id": post_id, "thread_id": thread_id, "author_id": loader.ref("user", "users", author),
        "position": 1, "body_source": body, "body_html": None, "created_at": created_at,
        "edited_at": state["edited_at"], "edited_by_id": loader.ref("user", "users", state["edited_by_id"]),
        "deleted_at": state["deleted_at"], "deleted_by_id": loader.ref("user", "users", state["deleted_by_id"]),
        "hidden_at": state["hidden_at"], "hidden_reason": state["hidden_reason"],
        "hidden_by_id": loader.ref("user", "users", state["hidden_by_id"]),
        "helpful_count": state["helpful_count"],
        # A file with vote records says how much of each count no vote explains; without them,
        # the whole count is carried (see forum.exchange.qa_ideas.recompute_vote_counts).
        "helpful_carried": state["helpful_carried"] if loader.checker.counts.get("helpful_vote")
        else state["helpful_count"],
        "badge_id": loader.ref("employee_badge", "employee_badges", state["badge_id"]),
    }  # fmt: skip


def load_thread(loader: Loader, p: Parsed) -> None:
    thread_id = loader.ref("thread", "threads", p["id"])
    posts = loader.space("post", "posts")
    post_id = posts.map(p["post_id"]) if p["post_id"] is not None else posts.fresh()
    row = {
        "id": thread_id, "board_id": loader.ref("category", "boards", p["category_id"]),
        "author_id": loader.ref("user", "users", p["user_id"]), "title": p["title"],
        "slug": slugify(p["title"]), "created_at": p["created_at"], "is_pinned": p["pinned"],
        "locked_at": p["locked_at"], "lock_reason": p["lock_reason"], "deleted_at": p["deleted_at"],
        "hidden_at": p["hidden_at"], "has_employee_reply": False, "affected_count": p["affected_count"],
    }  # fmt: skip
    opening = _post_row(loader, post_id, thread_id, p["user_id"], p["body"], p["created_at"], p["post"])
    loader.open_thread(row, opening)


def parse_post(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "thread_id": ident(r, "thread_id"),
        "user_id": ident(r, "user_id"),
        "body": text(r, "body", max_length=1_000_000),
        "created_at": timestamp(r, "created_at"),
        "is_solution": flag(r, "is_solution", required=False),
        "state": _post_state(r),
    }


def check_post(c: Checker, p: Parsed) -> None:
    if c.current_thread is None or p["thread_id"] != c.current_thread:
        c.require("thread", p["thread_id"], "thread_id")
        raise RecordError(
            f"reply {p['id']} must directly follow thread {p['thread_id']} and its other replies"
        )
    c.add_id("post", p["id"])
    c.require("user", p["user_id"], "user_id")
    _check_post_users(c, p["state"])
    if p["created_at"] < c.current_thread_created:
        raise RecordError(f"reply {p['id']} is older than its thread")
    if p["is_solution"]:
        if c.current_thread_has_solution:
            raise RecordError(f"thread {p['thread_id']} has a second reply marked as the solution")
        c.current_thread_has_solution = True


def load_post(loader: Loader, p: Parsed) -> None:
    thread = loader.thread
    assert thread is not None
    post_id = loader.space("post", "posts").map(p["id"])
    row = _post_row(loader, post_id, thread.row["id"], p["user_id"], p["body"], p["created_at"], p["state"])
    loader.add_reply(row, is_solution=p["is_solution"])


def _post_fields(post: Any, full: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"edited_at": iso(post.edited_at)}
    if full:
        record["edited_by_id"] = post.edited_by_id
    record.update(
        deleted_at=iso(post.deleted_at), hidden_at=iso(post.hidden_at), hidden_reason=post.hidden_reason
    )
    if full:
        record.update(deleted_by_id=post.deleted_by_id, hidden_by_id=post.hidden_by_id)
    record.update(badge_id=post.badge_id, helpful_count=post.helpful_count)
    if full and post.helpful_carried:  # votes that came without voters: not in the vote records
        record["helpful_carried"] = post.helpful_carried
    return record


def _body(post: Any, full: bool) -> str:
    """The public archive holds no text of deleted or hidden posts."""
    return post.body_source if full or (post.deleted_at is None and post.hidden_at is None) else ""


def export_threads(full: bool) -> Iterator[dict[str, Any]]:
    threads = select(Thread)
    if not full:
        threads = threads.where(thread_is_visible())
    batch: list[Thread] = []
    for thread in batched(threads, Thread.id):
        batch.append(thread)
        if len(batch) == EXPORT_BATCH // 5:
            yield from _export_thread_batch(batch, full)
            batch = []
    yield from _export_thread_batch(batch, full)
    db.session.expunge_all()


def _export_thread_batch(threads: list[Thread], full: bool) -> Iterator[dict[str, Any]]:
    if not threads:
        return
    posts = db.session.scalars(
        select(Post)
        .where(Post.thread_id.in_([t.id for t in threads]))
        .order_by(Post.thread_id, Post.position)
    ).all()
    by_thread: dict[int, list[Post]] = {}
    for post in posts:
        by_thread.setdefault(post.thread_id, []).append(post)
    for thread in threads:
        opening, *replies = by_thread[thread.id]
        record: dict[str, Any] = {
            "type": "thread", "id": thread.id, "category_id": thread.board_id, "user_id": thread.author_id,
            "title": thread.title, "body": _body(opening, full), "created_at": iso(thread.created_at),
            "pinned": thread.is_pinned, "locked": thread.locked_at is not None,
            "locked_at": iso(thread.locked_at), "lock_reason": thread.lock_reason,
        }  # fmt: skip
        if full:
            record.update(deleted_at=iso(thread.deleted_at), hidden_at=iso(thread.hidden_at))
        if thread.affected_count:
            record["affected_count"] = thread.affected_count
        record["opening_post"] = {"id": opening.id, **_post_fields(opening, full)}
        yield record
        for post in replies:
            yield {
                "type": "post", "id": post.id, "thread_id": thread.id, "user_id": post.author_id,
                "body": _body(post, full), "created_at": iso(post.created_at),
                "is_solution": post.id == thread.solution_post_id, **_post_fields(post, full),
            }  # fmt: skip
    db.session.expunge_all()
