"""Record types `employee_badge` and `watch`, and the thread's "employee replied" mark.

A badge never holds the work address (the forum does not store it); its keyed hash, the
moderators' reasons and who granted or revoked it are in full backups only. Pending
verification links (BadgeVerification) are transient and never exported: a member whose
link was pending asks for a new one. Watches are private: full backups only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import exists, select, update

from forum.badges.models import EmployeeBadge
from forum.boards.models import Post, Thread
from forum.boards.visibility import post_is_visible
from forum.db import utcnow
from forum.exchange.exporter import batched
from forum.exchange.fields import RecordError, ident, iso, text, timestamp
from forum.exchange.importer import Checker, Links, Loader, Parsed
from forum.extensions import db
from forum.notifications.models import WATCH_LEVELS, WATCH_TARGETS, Watch

BADGE_METHODS = ("email", "moderator")
# A watch's target_type -> (record kind, table), so merged ids follow their rows.
WATCH_KINDS = {"thread": ("thread", "threads"), "board": ("category", "boards"), "wiki": ("wiki_page", "wiki_pages")}  # fmt: skip


def _one_of(record: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = text(record, name, max_length=20)
    if value not in choices:
        raise RecordError(f"{name!r} must be one of {', '.join(choices)}, not {value!r}")
    return value


# -- employee_badge ----------------------------------------------------------------------------


def parse_employee_badge(r: dict[str, Any]) -> Parsed:
    address_hash = text(r, "address_hash", required=False, max_length=64, nullable=True)
    return {
        "id": ident(r, "id"),
        "user_id": ident(r, "user_id"),
        "company": text(r, "company", max_length=120),
        "method": _one_of(r, "method", BADGE_METHODS),
        "domain": text(r, "domain", required=False, max_length=253, nullable=True),
        "address_hash": address_hash,
        "granted_by_id": ident(r, "granted_by_id", required=False),
        "grant_reason": text(r, "grant_reason", required=False, max_length=100_000) or "",
        "verified_at": timestamp(r, "verified_at"),
        "expires_at": timestamp(r, "expires_at"),
        "expiry_notice_sent_at": timestamp(r, "expiry_notice_sent_at", required=False),
        "revoked_at": timestamp(r, "revoked_at", required=False),
        "revoked_by_id": ident(r, "revoked_by_id", required=False),
        "revoke_reason": text(r, "revoke_reason", required=False, max_length=100_000, nullable=True),
    }


EMPLOYEE_BADGE = Links(
    "employee_badge", {"user_id": "user", "granted_by_id": "user", "revoked_by_id": "user"}
)


def check_employee_badge(c: Checker, p: Parsed) -> None:
    EMPLOYEE_BADGE.check(c, p)


def load_employee_badge(loader: Loader, p: Parsed) -> None:
    loader.add("employee_badges", EMPLOYEE_BADGE.row(loader, p))


def export_employee_badges(full: bool) -> Iterator[dict[str, Any]]:
    """Public: what a post's badge shows (company, dates). Full: also the domain, hash and reasons."""
    for badge in batched(select(EmployeeBadge), EmployeeBadge.id):
        record: dict[str, Any] = {
            "type": "employee_badge", "id": badge.id, "user_id": badge.user_id, "company": badge.company,
            "method": badge.method, "verified_at": iso(badge.verified_at), "expires_at": iso(badge.expires_at),
            "revoked_at": iso(badge.revoked_at),
        }  # fmt: skip
        if full:
            record.update(
                domain=badge.domain, address_hash=badge.address_hash, granted_by_id=badge.granted_by_id,
                grant_reason=badge.grant_reason, expiry_notice_sent_at=iso(badge.expiry_notice_sent_at),
                revoked_by_id=badge.revoked_by_id, revoke_reason=badge.revoke_reason,
            )  # fmt: skip
        yield record


def employee_ids() -> set[int]:
    """Members with a badge that is active now (the user record's is_employee)."""
    return set(
        db.session.scalars(
            select(EmployeeBadge.user_id).where(
                EmployeeBadge.revoked_at.is_(None), EmployeeBadge.expires_at > utcnow()
            )
        )
    )


def recompute_employee_replies(loader: Loader) -> None:
    """Thread.has_employee_reply: a visible reply posted with a badge (forum.badges.receivers' rule)."""
    badged = exists().where(
        Post.thread_id == Thread.id, Post.position > 1, Post.badge_id.is_not(None),
        post_is_visible(),
    )  # fmt: skip
    loader.connection.execute(update(Thread).values(has_employee_reply=badged))


# -- watch (full only) -------------------------------------------------------------------------


def parse_watch(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "user_id": ident(r, "user_id"),
        "target_type": _one_of(r, "target_type", WATCH_TARGETS),
        "target_id": ident(r, "target_id"),
        "level": _one_of(r, "level", WATCH_LEVELS),
        "created_at": timestamp(r, "created_at"),
    }


WATCH = Links("watch", {"user_id": "user"})  # and target_id, of the kind its target_type names


def check_watch(c: Checker, p: Parsed) -> None:
    WATCH.check(c, p)
    c.require(WATCH_KINDS[p["target_type"]][0], p["target_id"], "target_id")


def load_watch(loader: Loader, p: Parsed) -> None:
    row = WATCH.row(loader, p, target_id=loader.ref(*WATCH_KINDS[p["target_type"]], p["target_id"]))
    if loader.merge:  # a member and a board that both exist already may have a watch already
        taken = loader.connection.scalar(select(Watch.id).where(
            Watch.user_id == row["user_id"], Watch.target_type == p["target_type"],
            Watch.target_id == row["target_id"],
        ))  # fmt: skip
        if taken is not None:
            return
    loader.add("watches", row)


def export_watches(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for watch in batched(select(Watch), Watch.id):
        yield {
            "type": "watch", "id": watch.id, "user_id": watch.user_id, "target_type": watch.target_type,
            "target_id": watch.target_id, "level": watch.level, "created_at": iso(watch.created_at),
        }  # fmt: skip
