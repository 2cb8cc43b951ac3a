"""Reading the wiki: pages by address (following renames), revisions, history, recent
changes, "what links here", the page lists and topics. Nothing here writes.

Writing is forum.wiki.editing; promoting a thread, forum.wiki.promotion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy import and_, func, inspect, or_, select
from sqlalchemy.orm import aliased, joinedload

from forum.boards.models import Board, Post, Thread
from forum.boards.permissions import can_see_post_body
from forum.db import MAX_ID
from forum.errors import NotFound
from forum.extensions import db
from forum.moderation.models import AuditEntry
from forum.wiki import permissions
from forum.wiki.links import SLUG_PATTERN, linked_slugs, mark_missing_links
from forum.wiki.models import WikiLink, WikiPage, WikiRedirect, WikiRevision

PAGES_PER_PAGE = 100
REVISIONS_PER_PAGE = 50
CHANGES_PER_PAGE = 50


def load_current_revision(page: WikiPage) -> WikiRevision:
    """The page's current revision with its author, read afresh (editing reads it after locking)."""
    revision = db.session.scalar(
        select(WikiRevision)
        .options(joinedload(WikiRevision.author))
        .where(WikiRevision.id == page.current_revision_id)
    )
    assert revision is not None, f"wiki page {page.id} has no current revision"
    return revision


def find_page(slug: str, *, viewer: object) -> tuple[WikiPage | None, str | None]:
    """(the page, None) or (None, the slug it now lives at, after a rename) or NotFound."""
    if not SLUG_PATTERN.match(slug):
        raise NotFound(f"There is no wiki page at /wiki/{slug}.")
    page = db.session.scalar(
        select(WikiPage)
        .options(
            joinedload(WikiPage.current_revision).joinedload(WikiRevision.author),
            joinedload(WikiPage.board),
        )
        .where(WikiPage.slug == slug)
    )
    if page is not None:
        if not permissions.can_view_page(viewer, page):
            raise NotFound(f"The page at /wiki/{slug} was deleted.")
        return page, None
    redirect = db.session.scalar(
        select(WikiRedirect).options(joinedload(WikiRedirect.page)).where(WikiRedirect.old_slug == slug)
    )
    if redirect is not None and permissions.can_view_page(viewer, redirect.page):
        return None, redirect.page.slug
    raise NotFound(f"There is no wiki page at /wiki/{slug}.")


def get_page(slug: str, *, viewer: object) -> WikiPage:
    """The page at exactly this slug (forms and actions do not follow redirects)."""
    page, _ = find_page(slug, viewer=viewer)
    if page is None:
        raise NotFound(f"/wiki/{slug} is an old address; the page has been renamed.")
    return page


def get_revision(page: WikiPage, revision_id: int) -> WikiRevision:
    if not 0 < revision_id <= MAX_ID:
        raise NotFound(f"“{page.title}” has no revision {revision_id}.")
    revision = db.session.scalar(
        select(WikiRevision).options(joinedload(WikiRevision.author)).where(WikiRevision.id == revision_id)
    )
    if revision is None or revision.page_id != page.id:
        raise NotFound(f"“{page.title}” has no revision {revision_id}.")
    return revision


def existing_slugs(slugs: set[str]) -> set[str]:
    """Which of these slugs lead to a page (directly or through a rename redirect)."""
    if not slugs:
        return set()
    found = set(
        db.session.scalars(
            select(WikiPage.slug).where(WikiPage.slug.in_(slugs), WikiPage.deleted_at.is_(None))
        )
    )
    rest = slugs - found
    if rest:
        found |= set(
            db.session.scalars(
                select(WikiRedirect.old_slug)
                .join(WikiPage, WikiPage.id == WikiRedirect.page_id)
                .where(WikiRedirect.old_slug.in_(rest), WikiPage.deleted_at.is_(None))
            )
        )
    return found


def display_html(revision: WikiRevision) -> Markup:
    """A revision's stored HTML with links to missing pages turned into "create" links."""
    return mark_missing_links(revision.body_html, existing_slugs(linked_slugs(revision.body_html)))


def links_here(page: WikiPage, limit: int = 100) -> list[WikiPage]:
    """Pages whose current text links to this page, by its slug or by an old one."""
    old = select(WikiRedirect.old_slug).where(WikiRedirect.page_id == page.id)
    return list(
        db.session.scalars(
            select(WikiPage)
            .join(WikiLink, WikiLink.page_id == WikiPage.id)
            .where(or_(WikiLink.target_slug == page.slug, WikiLink.target_slug.in_(old)))
            .where(WikiPage.deleted_at.is_(None))
            .distinct()
            .order_by(WikiPage.title)
            .limit(limit)
        )
    )


def moderation_log(page: WikiPage, limit: int = 50) -> list[AuditEntry]:
    """Protections, deletions and restorations of this page, newest first (public fields only)."""
    return list(
        db.session.scalars(
            select(AuditEntry)
            .options(joinedload(AuditEntry.actor))
            .where(AuditEntry.target_type == "wiki_page", AuditEntry.target_id == page.id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


def redirects_to(page: WikiPage) -> list[WikiRedirect]:
    return list(
        db.session.scalars(
            select(WikiRedirect).where(WikiRedirect.page_id == page.id).order_by(WikiRedirect.created_at)
        )
    )


def source_of(page: WikiPage) -> tuple[Thread | None, Post | None]:
    """The thread (and reply) a promoted page came from, if still visible."""
    if page.source_thread_id is None:
        return None, None
    thread = db.session.scalar(
        select(Thread).options(joinedload(Thread.author)).where(Thread.id == page.source_thread_id)
    )
    if thread is None or thread.deleted_at is not None or thread.hidden_at is not None:
        return None, None
    post = None
    if page.source_post_id is not None:
        post = db.session.scalar(
            select(Post).options(joinedload(Post.author)).where(Post.id == page.source_post_id)
        )
        if post is not None and not can_see_post_body(None, post):
            post = None
    return thread, post


def pages_for_thread(thread: Thread) -> list[WikiPage]:
    """Wiki pages promoted from this thread (shown on the thread)."""
    state = inspect(thread)
    if "has_wiki_pages" not in state.unloaded and not thread.has_wiki_pages:
        return []  # known from the thread's own row (forum.boards.services.get_thread)
    return list(
        db.session.scalars(
            select(WikiPage)
            .where(WikiPage.source_thread_id == thread.id, WikiPage.deleted_at.is_(None))
            .order_by(WikiPage.created_at)
            .limit(5)
        )
    )


def count_pages(board: Board | None = None) -> int:
    query = select(func.count()).select_from(WikiPage).where(WikiPage.deleted_at.is_(None))
    if board is not None:
        query = query.where(WikiPage.board_id == board.id)
    return db.session.scalar(query) or 0


def pages_by_title(page: int, board: Board | None = None) -> list[WikiPage]:
    query = (
        select(WikiPage)
        .options(joinedload(WikiPage.board))
        .where(WikiPage.deleted_at.is_(None))
        .order_by(func.lower(WikiPage.title), WikiPage.id)
        .offset((page - 1) * PAGES_PER_PAGE)
        .limit(PAGES_PER_PAGE)
    )
    if board is not None:
        query = query.where(WikiPage.board_id == board.id)
    return list(db.session.scalars(query))


def topics() -> list[tuple[Board, int]]:
    """Boards that have wiki pages, with how many."""
    rows = db.session.execute(
        select(Board, func.count(WikiPage.id))
        .join(WikiPage, WikiPage.board_id == Board.id)
        .where(WikiPage.deleted_at.is_(None))
        .group_by(Board.id)
        .order_by(Board.position, Board.id)
    ).all()
    return [(board, count) for board, count in rows]


def deleted_pages(viewer: object) -> list[WikiPage]:
    if not permissions.is_wiki_moderator(viewer):
        return []
    return list(
        db.session.scalars(
            select(WikiPage)
            .where(WikiPage.deleted_at.is_not(None))
            .order_by(WikiPage.deleted_at.desc())
            .limit(50)
        )
    )


@dataclass
class Change:
    revision: WikiRevision
    page: WikiPage
    previous_size: int | None

    @property
    def size_change(self) -> int:
        return self.revision.size - (self.previous_size or 0)


def page_history(page: WikiPage, number: int) -> list[Change]:
    """One page of a page's revisions, newest first, with size changes, in one query."""
    previous = aliased(WikiRevision)
    rows = db.session.execute(
        select(WikiRevision, previous.size)
        .options(joinedload(WikiRevision.author))
        .outerjoin(
            previous,
            and_(previous.page_id == WikiRevision.page_id, previous.number == WikiRevision.number - 1),
        )
        .where(WikiRevision.page_id == page.id)
        .order_by(WikiRevision.number.desc())
        .offset((number - 1) * REVISIONS_PER_PAGE)
        .limit(REVISIONS_PER_PAGE)
    ).all()
    return [Change(revision, page, size) for revision, size in rows]


def recent_changes(number: int, *, viewer: object, since: datetime | None = None) -> list[Change]:
    """Revisions across the wiki, newest first (deleted pages only for moderators)."""
    previous = aliased(WikiRevision)
    query = (
        select(WikiRevision, WikiPage, previous.size)
        .join(WikiPage, WikiPage.id == WikiRevision.page_id)
        .options(joinedload(WikiRevision.author))
        .outerjoin(
            previous,
            and_(previous.page_id == WikiRevision.page_id, previous.number == WikiRevision.number - 1),
        )
        .order_by(WikiRevision.created_at.desc(), WikiRevision.id.desc())
        .offset((number - 1) * CHANGES_PER_PAGE)
        .limit(CHANGES_PER_PAGE)
    )
    if not permissions.is_wiki_moderator(viewer):
        query = query.where(WikiPage.deleted_at.is_(None))
    if since is not None:
        query = query.where(WikiRevision.created_at >= since)
    return [Change(revision, page, size) for revision, page, size in db.session.execute(query).all()]


def count_changes(*, viewer: object) -> int:
    query = select(func.count()).select_from(WikiRevision)
    if not permissions.is_wiki_moderator(viewer):
        query = query.join(WikiPage, WikiPage.id == WikiRevision.page_id).where(WikiPage.deleted_at.is_(None))
    return db.session.scalar(query) or 0
