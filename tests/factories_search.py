"""Factories for search tests: wiki pages as the wiki feature will write them (plain rows)."""

from __future__ import annotations

import itertools

from forum.boards.models import Board
from forum.extensions import db
from forum.markup import render_markdown
from forum.wiki.models import WikiPage, WikiRevision

_numbers = itertools.count(1)


def make_wiki_page(title: str, body: str, board: Board | None = None) -> WikiPage:
    """A page with one revision, written through the ordinary session like the wiki does."""
    page = WikiPage(slug=f"page-{next(_numbers)}", title=title, board=board, revision_count=1)
    db.session.add(page)
    db.session.flush()
    revision = WikiRevision(
        page_id=page.id,
        number=1,
        title=title,
        body_source=body,
        body_html=str(render_markdown(body)),
        size=len(body),
    )
    db.session.add(revision)
    db.session.flush()
    page.current_revision_id = revision.id
    db.session.commit()
    return page


def edit_wiki_page(page: WikiPage, body: str) -> WikiRevision:
    revision = WikiRevision(
        page_id=page.id,
        number=page.revision_count + 1,
        title=page.title,
        body_source=body,
        body_html=str(render_markdown(body)),
        size=len(body),
    )
    db.session.add(revision)
    db.session.flush()
    page.current_revision_id = revision.id
    page.revision_count += 1
    db.session.commit()
    return revision
