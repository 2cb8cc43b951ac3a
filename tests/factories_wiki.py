"""Wiki test data, built through the services (then committed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db
from forum.wiki import editing
from forum.wiki.models import WikiPage
from tests.factories import make_user


def make_editor(username: str | None = None, **fields: Any) -> User:
    """A member in good standing who is old enough to edit the wiki (tests need no posts: WIKI_MIN_POSTS=0)."""
    fields.setdefault("created_at", utcnow() - timedelta(days=60))
    return make_user(username, **fields)


def make_page(title: str = "Reset your router", body: str = "Unplug it for ten seconds.", *,
              author: User | None = None, **kwargs: Any) -> WikiPage:  # fmt: skip
    page = editing.create_page(title, body, actor=author or make_editor(), **kwargs)
    db.session.commit()
    return page


def edit(page: WikiPage, body: str, *, author: User | None = None, summary: str = "") -> None:
    editing.edit_page(
        page, body, actor=author or make_editor(), base_revision_id=page.current_revision_id, summary=summary
    )
    db.session.commit()
