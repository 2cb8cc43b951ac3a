"""Delivery: whether and when notification mail goes out, immediately in batches or as a
daily digest, and the member's mail preferences (forum.notifications.mailer writes the mail).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.db import utcnow
from forum.errors import Invalid
from forum.extensions import db
from forum.notifications.inbox import describe, load_wiki_pages
from forum.notifications.models import EMAIL_MODES, Notification, unread_clause


def wants_email(user: User) -> bool:
    """Only confirmed addresses get notification mail (issue #7)."""
    return bool(user.email and user.email_confirmed_at is not None and user.notify_email != "never")


def update_preferences(user: User, *, notify_email: str, watch_on_post: bool) -> None:
    if notify_email not in EMAIL_MODES:
        raise Invalid(f"Choose one of: {', '.join(EMAIL_MODES)}.", "notify_email")
    user.notify_email = notify_email
    user.watch_on_post = watch_on_post
    if notify_email == "never":
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.email_pending.is_(True))
            .values(email_pending=False)
        )


def unsubscribe(user: User) -> None:
    """The one-click unsubscribe: no more notification mail (account mail still works)."""
    update_preferences(user, notify_email="never", watch_on_post=user.watch_on_post)


def email_delay() -> timedelta:
    return timedelta(seconds=int(current_app.config["NOTIFICATION_EMAIL_DELAY"]))


def _claim_pending(user: User, now: datetime) -> list[tuple[Notification, bool]]:
    """Take the user's pending notifications for one mail.

    The UPDATE ... RETURNING claims the rows atomically, so two drains running at once
    (cron and an app worker) never mail the same notification twice.
    """
    ids = list(
        db.session.scalars(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.email_pending.is_(True))
            .values(email_pending=False, emailed_at=now)
            .returning(Notification.id)
        )
    )
    if not ids:
        return []
    rows = [
        (row[0], bool(row[1]))
        for row in db.session.execute(
            select(Notification, unread_clause())
            .options(
                joinedload(Notification.actor),
                joinedload(Notification.actor2),
                joinedload(Notification.post),
                joinedload(Notification.thread),
            )
            .where(Notification.id.in_(ids))
            .order_by(Notification.created_at, Notification.id)
            .execution_options(populate_existing=True)
        )
    ]
    load_wiki_pages([row for row, _ in rows])
    return rows


def _mail_batch(user: User, mode: str, now: datetime) -> bool:
    """Mail the user's pending notifications (unread, still visible) in one message."""
    from forum.notifications import mailer

    pending = _claim_pending(user, now)
    shown = [describe(n, user, unread) for n, unread in pending if unread]
    shown = [item for item in shown if item.url is not None or item.notification.kind == "badge_expiring"]
    if not shown or not wants_email(user):
        return False
    mailer.queue_notifications_mail(user, shown, digest=(mode == "digest"))
    return True


def send_immediate_batches(now: datetime | None = None) -> int:
    """Mail everyone whose oldest pending notification waited the batching delay.

    Waiting a few minutes (NOTIFICATION_EMAIL_DELAY) lets a busy thread send one mail with
    every new post rather than one mail per post. Commits per recipient.
    """
    now = now or utcnow()
    user_ids = list(
        db.session.scalars(
            select(Notification.user_id)
            .join(User, User.id == Notification.user_id)
            .where(Notification.email_pending.is_(True), User.notify_email != "digest")
            .group_by(Notification.user_id)
            .having(func.min(Notification.created_at) <= now - email_delay())
        )
    )
    mailed = 0
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        if user is not None and _mail_batch(user, "immediate", now):
            mailed += 1
        db.session.commit()
    return mailed


def send_digests(now: datetime | None = None) -> int:
    """Daily digests for members who chose them; run once a day (cron). Commits per recipient."""
    now = now or utcnow()
    interval = timedelta(seconds=int(current_app.config["NOTIFICATION_DIGEST_INTERVAL"]))
    users = list(
        db.session.scalars(
            select(User)
            .where(
                User.notify_email == "digest",
                or_(User.last_digest_at.is_(None), User.last_digest_at <= now - interval),
                User.id.in_(select(Notification.user_id).where(Notification.email_pending.is_(True))),
            )
            .order_by(User.id)
        )
    )
    mailed = 0
    for user in users:
        if _mail_batch(user, "digest", now):
            user.last_digest_at = now
            mailed += 1
        db.session.commit()
    return mailed
