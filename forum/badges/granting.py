"""Moderators grant and revoke employee badges by hand, with a logged reason; the history.

Also what every badge is granted with, by a verified work address (`verification`) or by a
moderator: the company's name and how long a badge lasts.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from forum.auth.models import User
from forum.badges import permissions
from forum.badges.models import EmployeeBadge
from forum.badges.permissions import can_manage_badges
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid
from forum.extensions import db
from forum.moderation import audit

MAX_REASON_LENGTH = 500
DEFAULT_COMPANY = "the company"


def company_name() -> str:
    return str(current_app.config.get("COMPANY_NAME") or DEFAULT_COMPANY)


def validity() -> timedelta:
    return timedelta(days=int(current_app.config.get("BADGE_VALIDITY_DAYS", 365)))


def _check_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("Give a reason: it is kept in the moderation log.", "reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(f"Use at most {MAX_REASON_LENGTH} characters.", "reason")
    return reason


def grant_badge(user: User, *, actor: User, reason: str, company: str | None = None) -> EmployeeBadge:
    """A moderator grants the badge by hand (e.g. an employee without a company mailbox)."""
    permissions.forget_cached_badges()
    if not can_manage_badges(actor):
        raise Forbidden("Only moderators can grant employee badges.")
    if actor.id == user.id:
        raise Forbidden(
            "Nobody can grant a badge to themselves: ask another moderator, or verify your work address."
        )
    if user.deleted_at is not None:
        raise Invalid("This account is deleted.", "reason")
    reason = _check_reason(reason)
    now = utcnow()
    badge = EmployeeBadge(
        user_id=user.id, company=company or company_name(), method="moderator", granted_by_id=actor.id,
        grant_reason=reason, verified_at=now, expires_at=now + validity(),
    )  # fmt: skip
    db.session.add(badge)
    db.session.flush()
    audit.record(
        actor, "granted employee badge", target_type="user", target_id=user.id,
        target_label=user.username, reason=reason, affected_user=user,
        details=f"badge {badge.id}, expires {badge.expires_at:%Y-%m-%d}",
    )  # fmt: skip
    permissions.forget_cached_badges()
    return badge


def revoke_badge(user: User, *, actor: User, reason: str) -> int:
    """End the user's active badges now; a moderator gives a reason, a member may drop their own.

    Posts written with the badge keep it: they were written by a verified employee.
    """
    permissions.forget_cached_badges()
    own = actor.id == user.id
    if not own and not can_manage_badges(actor):
        raise Forbidden("Only moderators can revoke employee badges.")
    reason = (" ".join((reason or "").split()) or "Removed by the member.") if own else _check_reason(reason)
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(f"Use at most {MAX_REASON_LENGTH} characters.", "reason")
    now = utcnow()
    badges = db.session.scalars(
        select(EmployeeBadge).where(
            EmployeeBadge.user_id == user.id,
            EmployeeBadge.revoked_at.is_(None),
            EmployeeBadge.expires_at > now,
        )
    ).all()
    if not badges:
        raise Conflict(f"{user.username} has no active employee badge.", "reason")
    for badge in badges:
        badge.revoked_at, badge.revoked_by_id, badge.revoke_reason = now, actor.id, reason
    db.session.flush()
    if not own:
        audit.record(
            actor, "revoked employee badge", target_type="user", target_id=user.id,
            target_label=user.username, reason=reason, affected_user=user,
            details=", ".join(f"badge {badge.id}" for badge in badges),
        )  # fmt: skip
    permissions.forget_cached_badges()
    return len(badges)


def badge_history(user: User) -> list[EmployeeBadge]:
    return list(
        db.session.scalars(
            select(EmployeeBadge).where(EmployeeBadge.user_id == user.id).order_by(EmployeeBadge.id.desc())
        )
    )
