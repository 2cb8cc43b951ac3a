"""Factories for the notifications tests (wiki rows are built directly: the wiki services
live on another branch, and these tests send its signal themselves)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from forum import events
from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db
from forum.markup import render_markdown
from forum.notifications.models import Notification
from forum.wiki.models import WikiPage, WikiRevision
from tests.factories import make_user


def make_confirmed_user(username: str | None = None, **fields: Any) -> User:
    """A member whose email address is confirmed (so notification mail reaches them)."""
    return make_user(username, email_confirmed_at=utcnow(), **fields)


def make_wiki_page(
    title: str = "Router setup guide", author: User | None = None, body: str = "Step one."
) -> WikiPage:
    author = author or make_user()
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    page = WikiPage(slug=slug, title=title, created_by_id=author.id, revision_count=0)
    db.session.add(page)
    db.session.flush()
    edit_wiki_page(page, author, body, send=False)
    return page


def edit_wiki_page(
    page: WikiPage, author: User, body: str, summary: str = "", *, send: bool = True
) -> WikiRevision:
    """Add a revision the way the wiki feature does, and send its signal."""
    page.revision_count += 1
    revision = WikiRevision(
        page_id=page.id, number=page.revision_count, author_id=author.id, title=page.title,
        summary=summary, body_source=body, body_html=str(render_markdown(body)), size=len(body),
    )  # fmt: skip
    db.session.add(revision)
    db.session.flush()
    page.current_revision_id = revision.id
    page.updated_at = revision.created_at
    if send:
        events.wiki_page_edited.send(author, page=page, revision=revision)
    db.session.commit()
    return revision


def notifications_of(user: User, kind: str | None = None) -> list[Notification]:
    query = db.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


def age_notifications(user: User, minutes: int) -> None:
    """Shift a member's notifications back in time (the batching delay has passed)."""
    for notification in notifications_of(user):
        notification.created_at = notification.created_at - timedelta(minutes=minutes)
    db.session.commit()
