"""Mail for members: a plain-text and an HTML template per kind, always with unsubscribe.

Every message goes through the outbox (forum.mail.services.queue_mail), carries a signed
one-click unsubscribe link in its footer and in `List-Unsubscribe` / `List-Unsubscribe-Post`
(RFC 8058), and links only to the configured BASE_URL, never to the request's Host.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template
from itsdangerous import BadSignature, URLSafeSerializer

from forum.auth.models import User
from forum.extensions import db
from forum.mail.services import queue_mail

UNSUBSCRIBE_SALT = "notifications-unsubscribe"


def absolute_url(path: str) -> str:
    """A link for mail and feeds: always the configured base URL (issue #7, SECURITY.md 5)."""
    return str(current_app.config["BASE_URL"]).rstrip("/") + path


def unsubscribe_token(user: User) -> str:
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)
    return str(serializer.dumps({"u": user.id}))


def user_for_unsubscribe_token(token: str) -> User | None:
    """The member a signed unsubscribe token names, or None when it is forged or garbled."""
    serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)
    try:
        data = serializer.loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    return user if user is not None and user.deleted_at is None else None


def queue_member_mail(user: User, template: str, subject: str, **context: Any) -> None:
    """Render templates/mail/<template>.txt and .html and add them to the outbox."""
    if not user.email:
        return
    unsubscribe_url = absolute_url(f"/notifications/unsubscribe/{unsubscribe_token(user)}")
    context.update(
        user=user,
        subject=subject,
        unsubscribe_url=unsubscribe_url,
        settings_url=absolute_url("/notifications/settings"),
        base_url=absolute_url("/"),
    )
    queue_mail(
        user.email,
        " ".join(subject.split())[:300],  # one line: names and titles never add headers
        render_template(f"mail/{template}.txt", **context),
        render_template(f"mail/{template}.html", **context),
        {
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def queue_notifications_mail(user: User, items: list[Any], *, digest: bool) -> None:
    site = current_app.config["SITE_NAME"]
    if digest:
        subject = f"[{site}] Your daily digest: {len(items)} notification{'s' if len(items) != 1 else ''}"
    elif len(items) == 1:
        subject = f"[{site}] {items[0].text}"
    else:
        subject = f"[{site}] {len(items)} new notifications"
    entries = [
        {"text": item.text, "url": absolute_url(item.url) if item.url else None, "excerpt": item.excerpt}
        for item in items
    ]
    queue_member_mail(
        user, "digest" if digest else "notifications", subject[:300], items=entries,
        notifications_url=absolute_url("/notifications"),
    )  # fmt: skip
