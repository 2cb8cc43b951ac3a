"""Who is a verified employee, and who may grant or revoke badges: named predicates for services and Jinja."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from sqlalchemy import inspect, select

from forum.badges.models import EmployeeBadge
from forum.db import utcnow
from forum.extensions import db


def _is_member(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and getattr(user, "id", None))


def active_badge(user: Any) -> EmployeeBadge | None:
    """The member's current badge (not expired, not revoked), the one lasting longest; else None."""
    if not _is_member(user):
        return None
    # A page asks several times (posting form, menus, permissions): one query per request.
    cache = g.setdefault("active_badges", {}) if has_request_context() else {}
    if user.id not in cache:
        cache[user.id] = None if _known_to_hold_no_badge(user) else _load_active_badge(user)
    return cache[user.id]


def _known_to_hold_no_badge(user: Any) -> bool:
    """The session user's row says so (User.latest_badge_id, loaded with it): no query needed."""
    if not has_request_context() or g.get("badges_changed"):
        return False
    state = inspect(user, raiseerr=False)
    return state is not None and "latest_badge_id" not in state.unloaded and user.latest_badge_id is None


def _load_active_badge(user: Any) -> EmployeeBadge | None:
    return db.session.scalar(
        select(EmployeeBadge)
        .where(
            EmployeeBadge.user_id == user.id,
            EmployeeBadge.revoked_at.is_(None),
            EmployeeBadge.expires_at > utcnow(),
        )
        .order_by(EmployeeBadge.expires_at.desc(), EmployeeBadge.id.desc())
        .limit(1)
    )


def is_employee(user: Any) -> bool:
    """A verified employee right now: holds a badge that has neither expired nor been revoked."""
    return active_badge(user) is not None


def can_wear_badge(user: Any, badge: EmployeeBadge | None) -> bool:
    """May `user` post with `badge`? Only their own, and only while it is active."""
    return badge is not None and _is_member(user) and badge.user_id == user.id and badge.is_active()


def can_manage_badges(user: Any) -> bool:
    """Moderators and admins grant and revoke badges (never their own: see services)."""
    return _is_member(user) and bool(getattr(user, "is_moderator", False))


def forget_cached_badges() -> None:
    """After a grant or revoke, the rest of the request sees the new state."""
    if has_request_context():
        g.pop("active_badges", None)
        g.badges_changed = True
