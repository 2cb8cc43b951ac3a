"""Badges expire: members hear before theirs ends (once per badge), and settings show the last one."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from markupsafe import Markup
from sqlalchemy import exists, select

from forum import events
from forum.auth.models import User
from forum.badges.models import EmployeeBadge
from forum.db import utcnow
from forum.extensions import db
from forum.mail.services import queue_mail


def notice_period() -> timedelta:
    return timedelta(days=int(current_app.config.get("BADGE_EXPIRY_NOTICE_DAYS", 30)))


def expires_soon(badge: EmployeeBadge | None, now: datetime | None = None) -> bool:
    return (
        badge is not None and badge.is_active(now) and badge.expires_at <= (now or utcnow()) + notice_period()
    )


def last_badge(user: User) -> EmployeeBadge | None:
    """The member's longest-lasting badge that was not revoked (active or expired)."""
    return db.session.scalar(
        select(EmployeeBadge)
        .where(EmployeeBadge.user_id == user.id, EmployeeBadge.revoked_at.is_(None))
        .order_by(EmployeeBadge.expires_at.desc())
        .limit(1)
    )


def notify_expiring(now: datetime | None = None) -> int:
    """Tell each member whose badge ends within the notice period (once per badge); return how many.

    Sends `events.badge_expiring` (the notifications feature listens) and queues an e-mail
    to the account's address (never a work address: that is not stored). The caller commits.
    """
    now = now or utcnow()
    due = db.session.scalars(
        select(EmployeeBadge)
        .where(
            EmployeeBadge.revoked_at.is_(None),
            EmployeeBadge.expiry_notice_sent_at.is_(None),
            EmployeeBadge.expires_at > now,
            EmployeeBadge.expires_at <= now + notice_period(),
        )
        .order_by(EmployeeBadge.id)
    ).all()
    site = current_app.config["SITE_NAME"]
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    count = 0
    for badge in due:
        badge.expiry_notice_sent_at = now
        renewed = db.session.scalar(
            select(
                exists().where(
                    EmployeeBadge.user_id == badge.user_id,
                    EmployeeBadge.revoked_at.is_(None),
                    EmployeeBadge.expires_at > now + notice_period(),
                )
            )
        )
        if renewed or badge.user.deleted_at is not None:
            continue
        events.badge_expiring.send(None, user=badge.user, badge=badge, expires_at=badge.expires_at)
        if badge.user.email:
            day = f"{badge.expires_at:%d %B %Y}"
            link = f"{base}/settings/employee"
            queue_mail(
                badge.user.email,
                f"Your employee badge on {site} expires on {day}",
                f'Hello {badge.user.name},\n\nyour "{badge.label}" badge expires on {day}.\n'
                f"To keep it, verify your work address again: {link}\n\n"
                "Your posts keep the badge they were written with either way.\n",
                str(
                    Markup(
                        "<p>Hello {name},</p><p>your <strong>{label}</strong> badge expires on {day}. "
                        'To keep it, verify your work address again: <a href="{link}">{link}</a></p>'
                        "<p>Your posts keep the badge they were written with either way.</p>"
                    ).format(name=badge.user.name, label=badge.label, day=day, link=link)
                ),
            )
        count += 1
    db.session.flush()
    return count
