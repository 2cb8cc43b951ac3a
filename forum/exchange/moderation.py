"""Record types of the moderation data: `board_moderator`, `flag`, `post_revision`, `user_notice`.

All four are full only. The forum shows none of them to visitors: board scopes appear on the
admins' roles page, flags (and who raised them) in the moderators' queue, a post's edit
history to its author and its moderators, and notices to the member they were sent to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, update

from forum.auth.models import User
from forum.exchange.exporter import batched
from forum.exchange.fields import MAX_ID, RecordError, ident, iso, text, timestamp
from forum.exchange.importer import Checker, Loader, Parsed
from forum.moderation.models import (
    FLAG_OUTCOMES,
    FLAG_REASONS,
    SYSTEM_FLAG_REASONS,
    BoardModerator,
    Flag,
    PostRevision,
    UserNotice,
)

NOTICE_KIND = re.compile(r"^[a-z_]{1,30}$")


def _one_of(r: dict[str, Any], name: str, allowed: Any, *, nullable: bool = False) -> str | None:
    value = text(r, name, required=not nullable, nullable=nullable)
    if value is None and nullable:
        return None
    if value not in allowed:
        raise RecordError(f"{name!r} must be one of {', '.join(allowed)}, not {value!r}")
    return value


# -- board_moderator (a member who moderates one board) ----------------------------------------


def parse_board_moderator(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "user_id": ident(r, "user_id"),
        "category_id": ident(r, "category_id"),
        "created_at": timestamp(r, "created_at"),
        "granted_by_id": ident(r, "granted_by_id", required=False),
    }


def check_board_moderator(c: Checker, p: Parsed) -> None:
    c.add_id("board_moderator", p["id"])
    c.require("user", p["user_id"], "user_id")
    c.require("category", p["category_id"], "category_id")
    c.require("user", p["granted_by_id"], "granted_by_id")
    c.add_name("board moderator (user, category)", f"{p['user_id']}:{p['category_id']}")


def load_board_moderator(loader: Loader, p: Parsed) -> None:
    user = loader.ref("user", "users", p["user_id"])
    board = loader.ref("category", "boards", p["category_id"])
    if loader.merge:  # the same member and the same board (matched by e-mail and slug) may exist already
        taken = loader.connection.scalar(
            select(BoardModerator.id).where(BoardModerator.user_id == user, BoardModerator.board_id == board)
        )
        if taken is not None:
            return
    loader.add("board_moderators", {
        "id": loader.ref("board_moderator", "board_moderators", p["id"]), "user_id": user, "board_id": board,
        "created_at": p["created_at"], "granted_by_id": loader.ref("user", "users", p["granted_by_id"]),
    })  # fmt: skip


def export_board_moderators(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in batched(select(BoardModerator), BoardModerator.id):
        yield {
            "type": "board_moderator", "id": row.id, "user_id": row.user_id, "category_id": row.board_id,
            "created_at": iso(row.created_at), "granted_by_id": row.granted_by_id,
        }  # fmt: skip


def recompute_moderated_board_counts(loader: Loader) -> None:
    """User.moderated_board_count, the counter that spares members a scope query on every page."""
    count = (
        select(func.count(BoardModerator.id))
        .where(BoardModerator.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    loader.connection.execute(update(User).values(moderated_board_count=count))


# -- flag (a report about a post, open or resolved) --------------------------------------------


def parse_flag(r: dict[str, Any]) -> Parsed:
    parsed = {
        "id": ident(r, "id"),
        "post_id": ident(r, "post_id"),
        "flagger_id": ident(r, "flagger_id", required=False),
        "reason": _one_of(r, "reason", {**FLAG_REASONS, **SYSTEM_FLAG_REASONS}),
        "note": text(r, "note", required=False, max_length=100_000) or "",
        "created_at": timestamp(r, "created_at"),
        "resolved_at": timestamp(r, "resolved_at", required=False),
        "resolved_by_id": ident(r, "resolved_by_id", required=False),
        "outcome": _one_of(r, "outcome", FLAG_OUTCOMES, nullable=True),
    }
    if (parsed["resolved_at"] is None) != (parsed["outcome"] is None):
        raise RecordError("a resolved flag has both 'resolved_at' and 'outcome'; an open flag has neither")
    return parsed


def check_flag(c: Checker, p: Parsed) -> None:
    c.add_id("flag", p["id"])
    c.require("post", p["post_id"], "post_id")
    c.require("user", p["flagger_id"], "flagger_id")
    c.require("user", p["resolved_by_id"], "resolved_by_id")
    if p["flagger_id"] is not None:  # one flag per member and post
        c.add_name("flag (post, flagger)", f"{p['post_id']}:{p['flagger_id']}")


def load_flag(loader: Loader, p: Parsed) -> None:
    # Posts are never matched to existing ones on --merge, so (post, flagger) stays unique.
    loader.add("flags", dict(
        p, id=loader.ref("flag", "flags", p["id"]), post_id=loader.ref("post", "posts", p["post_id"]),
        flagger_id=loader.ref("user", "users", p["flagger_id"]),
        resolved_by_id=loader.ref("user", "users", p["resolved_by_id"]),
    ))  # fmt: skip


def export_flags(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in batched(select(Flag), Flag.id):
        yield {
            "type": "flag", "id": row.id, "post_id": row.post_id, "flagger_id": row.flagger_id,
            "reason": row.reason, "note": row.note, "created_at": iso(row.created_at),
            "resolved_at": iso(row.resolved_at), "resolved_by_id": row.resolved_by_id, "outcome": row.outcome,
        }  # fmt: skip


# -- post_revision (the text a post had before one edit) ---------------------------------------


def parse_post_revision(r: dict[str, Any]) -> Parsed:
    number = r.get("number")
    if type(number) is not int or not 1 <= number <= MAX_ID:
        raise RecordError(f"'number' must be a positive integer, not {number!r}")
    return {
        "id": ident(r, "id"),
        "post_id": ident(r, "post_id"),
        "number": number,
        "editor_id": ident(r, "editor_id", required=False),
        "created_at": timestamp(r, "created_at"),
        "body_source": text(r, "body", max_length=1_000_000),
    }


def check_post_revision(c: Checker, p: Parsed) -> None:
    c.add_id("post_revision", p["id"])
    c.require("post", p["post_id"], "post_id")
    c.require("user", p["editor_id"], "editor_id")
    c.add_name("post revision (post, number)", f"{p['post_id']}:{p['number']}")


def load_post_revision(loader: Loader, p: Parsed) -> None:
    loader.add("post_revisions", dict(
        p, id=loader.ref("post_revision", "post_revisions", p["id"]),
        post_id=loader.ref("post", "posts", p["post_id"]), editor_id=loader.ref("user", "users", p["editor_id"]),
    ))  # fmt: skip


def export_post_revisions(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in batched(select(PostRevision), PostRevision.id):
        yield {
            "type": "post_revision", "id": row.id, "post_id": row.post_id, "number": row.number,
            "editor_id": row.editor_id, "created_at": iso(row.created_at), "body": row.body_source,
        }  # fmt: skip


# -- user_notice (a private message from the moderators) ---------------------------------------


def parse_user_notice(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "user_id": ident(r, "user_id"),
        "kind": text(r, "kind", pattern=NOTICE_KIND),
        "message": text(r, "message", max_length=100_000),
        "created_at": timestamp(r, "created_at"),
        "read_at": timestamp(r, "read_at", required=False),
    }


def check_user_notice(c: Checker, p: Parsed) -> None:
    c.add_id("user_notice", p["id"])
    c.require("user", p["user_id"], "user_id")


def load_user_notice(loader: Loader, p: Parsed) -> None:
    loader.add("user_notices", dict(
        p, id=loader.ref("user_notice", "user_notices", p["id"]), user_id=loader.ref("user", "users", p["user_id"]),
    ))  # fmt: skip


def export_user_notices(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in batched(select(UserNotice), UserNotice.id):
        yield {
            "type": "user_notice", "id": row.id, "user_id": row.user_id, "kind": row.kind,
            "message": row.message, "created_at": iso(row.created_at), "read_at": iso(row.read_at),
        }  # fmt: skip
