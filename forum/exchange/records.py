"""The record types of the forum data format: one table, name -> parse, check, load, export.

To add a record type (votes, badges, watches, ...): write its four functions and add one
RecordType line to RECORD_TYPES, in file order (a record may only refer to earlier lines);
document it in docs/FORMAT.md. `parse` turns a JSON object into checked values (RecordError
on a bad field), `check` verifies uniqueness and references during the first pass, `load`
adds rows to the loader's batches, `export(full)` yields the records for a file. Derived
counters are recomputed by the FINALIZERS after everything is inserted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update

from forum.auth.models import ROLES, User
from forum.boards.models import BOARD_KINDS, Board, Post, Thread
from forum.boards.services import slugify
from forum.exchange.fields import RecordError, flag, ident, iso, obj, text, timestamp
from forum.exchange.importer import Checker, Loader
from forum.extensions import db
from forum.moderation.models import AuditEntry
from forum.wiki.models import WikiPage, WikiRevision

USERNAME = re.compile(r"^[a-z0-9_]{3,30}$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EXPORT_BATCH = 500

Parsed = dict[str, Any]


@dataclass(frozen=True)
class RecordType:
    name: str
    parse: Callable[[dict[str, Any]], Parsed]
    check: Callable[[Checker, Parsed], None]
    load: Callable[[Loader, Parsed], None]
    # None: written by another type's export (replies come with their thread).
    export: Callable[[bool], Iterator[dict[str, Any]]] | None


def _batched(statement: Any, key: Any) -> Iterator[Any]:
    """Objects of `statement` ordered by their id `key`, in keyset pages so memory stays flat."""
    last = 0
    while True:
        rows = db.session.scalars(statement.where(key > last).order_by(key).limit(EXPORT_BATCH)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        db.session.expunge_all()


# -- user --------------------------------------------------------------------------------------


def parse_user(r: dict[str, Any]) -> Parsed:
    role = text(r, "role", required=False)
    if role is not None and role not in ROLES:
        raise RecordError(f"'role' must be one of {', '.join(ROLES)}, not {role!r}")
    email = text(r, "email", required=False, max_length=254, nullable=True)
    if email is not None and "@" not in email:
        raise RecordError(f"'email' {email!r} is not an e-mail address")
    is_moderator = flag(r, "is_moderator", required=False)
    return {
        "id": ident(r, "id"),
        "username": text(r, "username", pattern=USERNAME),
        "display_name": text(r, "display_name", required=False, max_length=60) or "",
        "email": email.lower() if email else None,
        "created_at": timestamp(r, "joined_at"),
        "bio": text(r, "bio", required=False, max_length=10_000) or "",
        "role": role or ("moderator" if is_moderator else "member"),
        "deleted_at": timestamp(r, "deleted_at", required=False),
        "password_hash": text(r, "password_hash", required=False, max_length=255, nullable=True),
        "email_confirmed_at": timestamp(r, "email_confirmed_at", required=False),
        "last_seen_at": timestamp(r, "last_seen_at", required=False),
        "silenced_until": timestamp(r, "silenced_until", required=False),
        "suspended_until": timestamp(r, "suspended_until", required=False),
        "sanction_reason": text(r, "sanction_reason", required=False, max_length=500, nullable=True),
    }


def check_user(c: Checker, p: Parsed) -> None:
    c.add_id("user", p["id"])
    c.add_name("username", p["username"])
    if p["email"]:
        c.add_name("email", p["email"])


def prepare_merge_users(loader: Loader) -> None:
    """Merge: the existing e-mail addresses (same person) and usernames (taken)."""
    existing = loader.connection.execute(select(User.id, User.username, User.email))
    loader.taken["email"], loader.taken["username"] = set(), set()
    loader.maps["user"] = {}
    for user_id, username, email in existing:
        loader.taken["username"].add(username)
        if email:
            loader.taken["email"].add(email)
            loader.email_owner[email] = user_id


def load_user(loader: Loader, p: Parsed) -> None:
    row = dict(p)
    if loader.merge:
        owner = loader.email_owner.get(p["email"]) if p["email"] else None
        if owner is not None:
            loader.maps["user"][p["id"]] = owner
            return
        row["username"] = _unique(p["username"], loader.taken["username"], "_", 30)
    if loader.first_joined is None or p["created_at"] < loader.first_joined:
        loader.first_joined = p["created_at"]
    row["id"] = loader.ref("user", "users", p["id"])
    row.update(post_count=0, thread_count=0, solution_count=0, reputation=0)
    loader.add("users", row)


def _unique(value: str, taken: set[str], joiner: str, max_length: int) -> str:
    """`value`, or value + joiner + 2, 3, ... if it is taken (merge)."""
    candidate, number = value, 1
    while candidate in taken:
        number += 1
        suffix = f"{joiner}{number}"
        candidate = value[: max_length - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


def export_users(full: bool) -> Iterator[dict[str, Any]]:
    for user in _batched(select(User), User.id):
        deleted = user.deleted_at is not None
        record: dict[str, Any] = {"type": "user", "id": user.id, "username": user.username}
        record["display_name"] = "" if deleted and not full else user.display_name
        if full:
            record["email"] = user.email
        record.update(
            joined_at=iso(user.created_at), is_employee=False, is_moderator=user.is_moderator,
            bio="" if deleted and not full else user.bio, role=user.role, deleted_at=iso(user.deleted_at),
        )  # fmt: skip
        if full:
            record.update(
                password_hash=user.password_hash, email_confirmed_at=iso(user.email_confirmed_at),
                last_seen_at=iso(user.last_seen_at), silenced_until=iso(user.silenced_until),
                suspended_until=iso(user.suspended_until), sanction_reason=user.sanction_reason,
            )  # fmt: skip
        yield record


# -- category (a board) ------------------------------------------------------------------------


def parse_category(r: dict[str, Any]) -> Parsed:
    kind = text(r, "kind", required=False) or "questions"
    if kind not in BOARD_KINDS:
        raise RecordError(f"'kind' must be one of {', '.join(BOARD_KINDS)}, not {kind!r}")
    position = r.get("position", 0)
    if type(position) is not int:
        raise RecordError(f"'position' must be an integer, not {position!r}")
    return {
        "id": ident(r, "id"),
        "slug": text(r, "slug", pattern=SLUG, max_length=60),
        "name": text(r, "name", max_length=80),
        "description": text(r, "description", required=False, max_length=1000) or "",
        "position": position,
        "kind": kind,
        "created_at": timestamp(r, "created_at", required=False),
        "archived_at": timestamp(r, "archived_at", required=False),
    }


def check_category(c: Checker, p: Parsed) -> None:
    c.add_id("category", p["id"])
    c.add_name("category slug", p["slug"])


def load_category(loader: Loader, p: Parsed) -> None:
    if loader.merge:
        existing = loader.connection.scalar(select(Board.id).where(Board.slug == p["slug"]))
        if existing is not None:  # the same board: its threads join it
            loader.maps.setdefault("category", {})[p["id"]] = existing
            return
    row = dict(
        p, id=loader.ref("category", "boards", p["id"]), thread_count=0, post_count=0, last_thread_id=None
    )
    if row["created_at"] is None:  # the corpus has none: as old as the forum's first member
        row["created_at"] = loader.first_joined or _now()
    loader.add("boards", row)


def _now() -> Any:
    from forum.db import utcnow

    return utcnow().replace(microsecond=0)


def export_categories(full: bool) -> Iterator[dict[str, Any]]:
    for board in _batched(select(Board), Board.id):
        yield {
            "type": "category", "id": board.id, "slug": board.slug, "name": board.name,
            "description": board.description, "position": board.position, "kind": board.kind,
            "created_at": iso(board.created_at), "archived_at": iso(board.archived_at),
        }  # fmt: skip


# -- thread and post ---------------------------------------------------------------------------

POST_STATE = ("edited_at", "deleted_at", "hidden_at")
POST_STATE_USERS = ("edited_by_id", "deleted_by_id", "hidden_by_id")


def _post_state(source: dict[str, Any]) -> Parsed:
    state: Parsed = {name: timestamp(source, name, required=False) for name in POST_STATE}
    for name in POST_STATE_USERS:
        state[name] = ident(source, name, required=False)
    state["hidden_reason"] = text(source, "hidden_reason", required=False, max_length=500, nullable=True)
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
    }


def _check_post_users(c: Checker, state: Parsed) -> None:
    for name in POST_STATE_USERS:
        c.require("user", state[name], name)


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
        "hidden_by_id": loader.ref("user", "users", state["hidden_by_id"]), "helpful_count": 0,
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
        "hidden_at": p["hidden_at"], "has_employee_reply": False,
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
    return record


def _body(post: Any, full: bool) -> str:
    """The public archive holds no text of deleted or hidden posts."""
    return post.body_source if full or (post.deleted_at is None and post.hidden_at is None) else ""


def export_threads(full: bool) -> Iterator[dict[str, Any]]:
    threads = select(Thread)
    if not full:
        threads = threads.where(Thread.deleted_at.is_(None), Thread.hidden_at.is_(None))
    batch: list[Thread] = []
    for thread in _batched(threads, Thread.id):
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
        record["opening_post"] = {"id": opening.id, **_post_fields(opening, full)}
        yield record
        for post in replies:
            yield {
                "type": "post", "id": post.id, "thread_id": thread.id, "user_id": post.author_id,
                "body": _body(post, full), "created_at": iso(post.created_at),
                "is_solution": post.id == thread.solution_post_id, **_post_fields(post, full),
            }  # fmt: skip
    db.session.expunge_all()


# -- wiki_page with its revisions --------------------------------------------------------------


def parse_wiki_page(r: dict[str, Any]) -> Parsed:
    revisions = r.get("revisions")
    if not isinstance(revisions, list) or not revisions:
        raise RecordError("'revisions' must be a list with at least one revision")
    parsed_revisions = []
    for number, revision in enumerate(revisions, start=1):
        if not isinstance(revision, dict):
            raise RecordError(f"revision {number} must be an object")
        try:
            parsed_revisions.append({
                "id": ident(revision, "id", required=False),
                "user_id": ident(revision, "user_id", required=False),
                "created_at": timestamp(revision, "created_at"),
                "title": text(revision, "title", required=False, max_length=200),
                "summary": text(revision, "summary", required=False, max_length=500) or "",
                "body": text(revision, "body", max_length=1_000_000),
            })  # fmt: skip
        except RecordError as error:
            raise RecordError(f"revision {number}: {error.message}") from error
    return {
        "id": ident(r, "id"),
        "slug": text(r, "slug", max_length=200, pattern=re.compile(r"^[a-z0-9]+(?:[-/][a-z0-9]+)*$")),
        "title": text(r, "title", max_length=200),
        "category_id": ident(r, "category_id", required=False),
        "created_at": timestamp(r, "created_at"),
        "created_by_id": ident(r, "created_by_id", required=False),
        "protected_at": timestamp(r, "protected_at", required=False),
        "deleted_at": timestamp(r, "deleted_at", required=False),
        "source_thread_id": ident(r, "source_thread_id", required=False),
        "revisions": parsed_revisions,
    }


def check_wiki_page(c: Checker, p: Parsed) -> None:
    c.add_id("wiki_page", p["id"])
    c.add_name("wiki slug", p["slug"])
    c.require("category", p["category_id"], "category_id")
    c.require("user", p["created_by_id"], "created_by_id")
    c.require("thread", p["source_thread_id"], "source_thread_id")
    for revision in p["revisions"]:
        c.require("user", revision["user_id"], "revision user_id")
        if revision["id"] is None:
            c.need_fresh("wiki_revision")
        else:
            c.add_id("wiki_revision", revision["id"])


def prepare_merge_wiki(loader: Loader) -> None:
    loader.taken["wiki slug"] = set(loader.connection.scalars(select(WikiPage.slug)))


def load_wiki_page(loader: Loader, p: Parsed) -> None:
    page_id = loader.ref("wiki_page", "wiki_pages", p["id"])
    slug = _unique(p["slug"], loader.taken["wiki slug"], "-", 200) if loader.merge else p["slug"]
    revisions = loader.space("wiki_revision", "wiki_revisions")
    rows = []
    for number, revision in enumerate(p["revisions"], start=1):
        body = revision["body"]
        rows.append({
            "id": revisions.map(revision["id"]) if revision["id"] is not None else revisions.fresh(),
            "page_id": page_id, "number": number, "author_id": loader.ref("user", "users", revision["user_id"]),
            "created_at": revision["created_at"], "title": revision["title"] or p["title"],
            "summary": revision["summary"], "body_source": body, "body_html": None, "size": len(body),
        })  # fmt: skip
    first, last = p["revisions"][0], rows[-1]
    loader.add("wiki_pages", {
        "id": page_id, "slug": slug, "title": p["title"],
        "board_id": loader.ref("category", "boards", p["category_id"]),
        "created_by_id": loader.ref("user", "users", p["created_by_id"] or first["user_id"]),
        "created_at": p["created_at"], "updated_at": last["created_at"], "current_revision_id": last["id"],
        "revision_count": len(rows), "protected_at": p["protected_at"], "deleted_at": p["deleted_at"],
        "source_thread_id": loader.ref("thread", "threads", p["source_thread_id"]),
    })  # fmt: skip
    for row in rows:
        loader.add("wiki_revisions", row)


def export_wiki_pages(full: bool) -> Iterator[dict[str, Any]]:
    pages = select(WikiPage)
    if not full:
        pages = pages.where(WikiPage.deleted_at.is_(None))
    for page in _batched(pages, WikiPage.id):
        revisions = db.session.scalars(
            select(WikiRevision).where(WikiRevision.page_id == page.id).order_by(WikiRevision.number)
        ).all()
        record = {
            "type": "wiki_page", "id": page.id, "slug": page.slug, "title": page.title,
            "category_id": page.board_id, "created_at": iso(page.created_at),
            "created_by_id": page.created_by_id, "protected_at": iso(page.protected_at),
        }  # fmt: skip
        if full:
            record["deleted_at"] = iso(page.deleted_at)
        record["source_thread_id"] = (
            page.source_thread_id if page.source_thread_id in _visible_threads(full, page) else None
        )
        record["revisions"] = [
            {"id": rev.id, "user_id": rev.author_id, "created_at": iso(rev.created_at), "title": rev.title,
             "summary": rev.summary, "body": rev.body_source}
            for rev in revisions
        ]  # fmt: skip
        yield record
        db.session.expunge_all()


def _visible_threads(full: bool, page: WikiPage) -> set[int]:
    """The page's source thread if the export holds it (the public one leaves hidden threads out)."""
    if page.source_thread_id is None:
        return set()
    statement = select(Thread.id).where(Thread.id == page.source_thread_id)
    if not full:
        statement = statement.where(Thread.deleted_at.is_(None), Thread.hidden_at.is_(None))
    return set(db.session.scalars(statement))


# -- audit_entry (the moderation log; full backups only: its details are private) --------------


def parse_audit_entry(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "created_at": timestamp(r, "created_at"),
        "actor_id": ident(r, "actor_id", required=False),
        "action": text(r, "action", max_length=60),
        "target_type": text(r, "target_type", max_length=30),
        "target_id": ident(r, "target_id", required=False),
        "target_label": text(r, "target_label", required=False, max_length=300) or "",
        "board_id": ident(r, "board_id", required=False),
        "affected_user_id": ident(r, "affected_user_id", required=False),
        "reason": text(r, "reason", required=False, max_length=100_000) or "",
        "details": text(r, "details", required=False, max_length=1_000_000) or "",
    }


def check_audit_entry(c: Checker, p: Parsed) -> None:
    c.add_id("audit_entry", p["id"])
    c.require("user", p["actor_id"], "actor_id")
    c.require("user", p["affected_user_id"], "affected_user_id")
    c.require("category", p["board_id"], "board_id")


# What an audit target_type names, as (record kind, table), so merged ids follow their rows.
AUDIT_TARGETS = {"user": ("user", "users"), "board": ("category", "boards"), "thread": ("thread", "threads"),
                 "post": ("post", "posts"), "wiki_page": ("wiki_page", "wiki_pages")}  # fmt: skip


def load_audit_entry(loader: Loader, p: Parsed) -> None:
    target = AUDIT_TARGETS.get(p["target_type"])
    loader.add("audit_log", dict(
        p, id=loader.ref("audit_entry", "audit_log", p["id"]),
        actor_id=loader.ref("user", "users", p["actor_id"]),
        affected_user_id=loader.ref("user", "users", p["affected_user_id"]),
        board_id=loader.ref("category", "boards", p["board_id"]),
        target_id=loader.ref(*target, p["target_id"]) if target else p["target_id"],
    ))  # fmt: skip


def export_audit_entries(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for entry in _batched(select(AuditEntry), AuditEntry.id):
        yield {
            "type": "audit_entry", "id": entry.id, "created_at": iso(entry.created_at),
            "actor_id": entry.actor_id, "action": entry.action, "target_type": entry.target_type,
            "target_id": entry.target_id, "target_label": entry.target_label, "board_id": entry.board_id,
            "affected_user_id": entry.affected_user_id, "reason": entry.reason, "details": entry.details,
        }  # fmt: skip
    db.session.expunge_all()


# -- counters, recomputed in bulk after the rows are in ----------------------------------------


def recompute_counters(loader: Loader) -> None:
    """Board and user counters from a few GROUP BY queries (list pages never count rows)."""
    connection = loader.connection
    visible_thread = and_(Thread.deleted_at.is_(None), Thread.hidden_at.is_(None))
    visible_post = and_(Post.deleted_at.is_(None), Post.hidden_at.is_(None))
    _set_counts(
        connection,
        Board,
        "thread_count",
        select(Thread.board_id, func.count()).where(visible_thread).group_by(Thread.board_id),
    )
    _set_counts(connection, Board, "post_count", select(Thread.board_id, func.count()).join(Post, Post.thread_id == Thread.id)
                .where(visible_thread, visible_post).group_by(Thread.board_id))  # fmt: skip
    for board_id in connection.scalars(select(Board.id)).all():
        last = connection.scalar(
            select(Thread.id).where(Thread.board_id == board_id, visible_thread)
            .order_by(Thread.last_post_at.desc(), Thread.id.desc()).limit(1)
        )  # fmt: skip
        connection.execute(update(Board).where(Board.id == board_id).values(last_thread_id=last))
    _set_counts(
        connection,
        User,
        "post_count",
        select(Post.author_id, func.count()).where(visible_post).group_by(Post.author_id),
    )
    _set_counts(connection, User, "thread_count", select(Thread.author_id, func.count()).where(Thread.deleted_at.is_(None))
                .group_by(Thread.author_id))  # fmt: skip
    _set_counts(connection, User, "solution_count", select(Post.author_id, func.count()).select_from(Thread)
                .join(Post, Post.id == Thread.solution_post_id).where(visible_thread).group_by(Post.author_id))  # fmt: skip


def _set_counts(connection: Any, model: Any, column: str, counts: Any) -> None:
    table = model.__table__
    connection.execute(update(table).values({column: 0}))
    rows = [{"row_id": key, "value": value} for key, value in connection.execute(counts)]
    if rows:
        statement = (
            update(table).where(table.c.id == bindparam("row_id")).values({column: bindparam("value")})
        )
        connection.execute(statement, rows)


RECORD_TYPES: dict[str, RecordType] = {
    record.name: record
    for record in (
        RecordType("user", parse_user, check_user, load_user, export_users),
        RecordType("category", parse_category, check_category, load_category, export_categories),
        RecordType("thread", parse_thread, check_thread, load_thread, export_threads),
        RecordType("post", parse_post, check_post, load_post, None),
        RecordType("wiki_page", parse_wiki_page, check_wiki_page, load_wiki_page, export_wiki_pages),
        RecordType(
            "audit_entry", parse_audit_entry, check_audit_entry, load_audit_entry, export_audit_entries
        ),
    )
}
FINALIZERS: dict[str, list[Callable[[Loader], None]]] = {
    "prepare_merge": [prepare_merge_users, prepare_merge_wiki],
    "finish": [recompute_counters],
}
