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
from forum.exchange.importer import Checker, Links, Loader, Parsed
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


BOARD_MODERATOR = Links(
    "board_moderator", {"user_id": "user", "category_id": "category", "granted_by_id": "user"}
)


def check_board_moderator(c: Checker, p: Parsed) -> None:
    BOARD_MODERATOR.check(c, p)
    c.add_name("board moderator (user, category)", f"{p['user_id']}:{p['category_id']}")


def load_board_moderator(loader: Loader, p: Parsed) -> None:
    row = BOARD_MODERATOR.row(loader, p)
    row["board_id"] = row.pop("category_id")
    if loader.merge:  # the same member and the same board (matched by e-mail and slug) may exist already
        taken = loader.connection.scalar(
            select(BoardModerator.id).where(
                BoardModerator.user_id == row["user_id"], BoardModerator.board_id == row["board_id"]
            )
        )
        if taken is not None:
            return
    loader.add("board_moderators", row)


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


FLAG = Links("flag", {"post_id": "post", "flagger_id": "user", "resolved_by_id": "user"})


def check_flag(c: Checker, p: Parsed) -> None:
    FLAG.check(c, p)
    if p["flagger_id"] is not None:  # one flag per member and post
        c.add_name("flag (post, flagger)", f"{p['post_id']}:{p['flagger_id']}")


def load_flag(loader: Loader, p: Parsed) -> None:
    # Posts are never matched to existing ones on --merge, so (post, flagger) stays unique.
    loader.add("flags", FLAG.row(loader, p))


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


POST_REVISION = Links("post_revision", {"post_id": "post", "editor_id": "user"})


def check_post_revision(c: Checker, p: Parsed) -> None:
    POST_REVISION.check(c, p)
    c.add_name("post revision (post, number)", f"{p['post_id']}:{p['number']}")


def load_post_revision(loader: Loader, p: Parsed) -> None:
    loader.add("post_revisions", POST_REVISION.row(loader, p))


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


USER_NOTICE = Links("user_notice", {"user_id": "user"})


def check_user_notice(c: Checker, p: Parsed) -> None:
    USER_NOTICE.check(c, p)


def load_user_notice(loader: Loader, p: Parsed) -> None:
    loader.add("user_notices", USER_NOTICE.row(loader, p))


def export_user_notices(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in batched(select(UserNotice), UserNotice.id):
        yield {
            "type": "user_notice", "id": row.id, "user_id": row.user_id, "kind": row.kind,
            "message": row.message, "created_at": iso(row.created_at), "read_at": iso(row.read_at),
        }  # fmt: skip
