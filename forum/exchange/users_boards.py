"""Record types `user` and `category` (a board): parse, check, load, export."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from forum.auth.models import ROLES, User
from forum.boards.models import BOARD_KINDS, Board
from forum.db import utcnow
from forum.exchange.exporter import batched
from forum.exchange.fields import RecordError, flag, ident, iso, text, timestamp
from forum.exchange.files import HASH
from forum.exchange.importer import Checker, Loader, Parsed, unique_name
from forum.exchange.uploads import check_file
from forum.notifications.models import EMAIL_MODES

USERNAME = re.compile(r"^[a-z0-9_]{3,30}$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# -- user --------------------------------------------------------------------------------------


def parse_user(r: dict[str, Any]) -> Parsed:
    role = text(r, "role", required=False)
    if role is not None and role not in ROLES:
        raise RecordError(f"'role' must be one of {', '.join(ROLES)}, not {role!r}")
    email = text(r, "email", required=False, max_length=254, nullable=True)
    if email is not None and "@" not in email:
        raise RecordError(f"'email' {email!r} is not an e-mail address")
    is_moderator = flag(r, "is_moderator", required=False)
    notify_email = text(r, "notify_email", required=False) or "immediate"
    if notify_email not in EMAIL_MODES:
        raise RecordError(f"'notify_email' must be one of {', '.join(EMAIL_MODES)}, not {notify_email!r}")
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
        "notify_email": notify_email,
        "watch_on_post": flag(r, "watch_on_post") if "watch_on_post" in r else True,
        "last_digest_at": timestamp(r, "last_digest_at", required=False),
        "avatar_sha256": text(r, "avatar_sha256", required=False, pattern=HASH, nullable=True),
    }


def check_user(c: Checker, p: Parsed) -> None:
    c.add_id("user", p["id"])
    c.add_name("username", p["username"])
    if p["email"]:
        c.add_name("email", p["email"])
    if p["avatar_sha256"]:
        check_file(c, p["avatar_sha256"])


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
        row["username"] = unique_name(p["username"], loader.taken["username"], "_", 30)
    if loader.first_joined is None or p["created_at"] < loader.first_joined:
        loader.first_joined = p["created_at"]
    row["id"] = loader.ref("user", "users", p["id"])
    row.update(post_count=0, thread_count=0, solution_count=0, reputation=0)
    loader.add("users", row)


def export_users(full: bool) -> Iterator[dict[str, Any]]:
    from forum.exchange.badges_watches import employee_ids

    employees = employee_ids()
    for user in batched(select(User), User.id):
        deleted = user.deleted_at is not None
        record: dict[str, Any] = {"type": "user", "id": user.id, "username": user.username}
        record["display_name"] = "" if deleted and not full else user.display_name
        if full:
            record["email"] = user.email
        record.update(
            joined_at=iso(user.created_at), is_employee=user.id in employees, is_moderator=user.is_moderator,
            bio="" if deleted and not full else user.bio, role=user.role, deleted_at=iso(user.deleted_at),
        )  # fmt: skip
        if user.avatar_sha256 and (full or not deleted):  # written only when set, as affected_count
            record["avatar_sha256"] = user.avatar_sha256
        if full:
            record.update(
                password_hash=user.password_hash, email_confirmed_at=iso(user.email_confirmed_at),
                last_seen_at=iso(user.last_seen_at), silenced_until=iso(user.silenced_until),
                suspended_until=iso(user.suspended_until), sanction_reason=user.sanction_reason,
                notify_email=user.notify_email, watch_on_post=user.watch_on_post,
                last_digest_at=iso(user.last_digest_at),
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
    return utcnow().replace(microsecond=0)


def export_categories(full: bool) -> Iterator[dict[str, Any]]:
    for board in batched(select(Board), Board.id):
        yield {
            "type": "category", "id": board.id, "slug": board.slug, "name": board.name,
            "description": board.description, "position": board.position, "kind": board.kind,
            "created_at": iso(board.created_at), "archived_at": iso(board.archived_at),
        }  # fmt: skip
