"""Writing the wiki: creating, editing, reverting and renaming pages, and moderators'
protections, deletions and restorations. Every rule lives here (views, CLI and any API call
these with an actor).

Revisions are append-only: creating, editing, reverting, renaming and promoting each add a
revision holding the full text, and the page points at its latest. Services never commit;
after each saved revision they send `events.wiki_page_edited` inside the transaction.
Reading pages and their history is forum.wiki.reading; promoting a thread, forum.wiki.promotion.
"""

from __future__ import annotations

from collections.abc import Iterator

from markupsafe import Markup
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from forum import events
from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.db import MAX_ID, utcnow
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.moderation import audit
from forum.text import clean_line
from forum.wiki import permissions
from forum.wiki.links import Link, mark_missing_links, render_wikitext, slugify
from forum.wiki.models import WikiLink, WikiPage, WikiRedirect, WikiRevision
from forum.wiki.reading import existing_slugs, load_current_revision

MAX_TITLE_LENGTH = 150
MAX_SUMMARY_LENGTH = 300
RESERVED_SLUGS = {"new", "changes", "promote"}
FORBIDDEN_TITLE_CHARACTERS = set("[]|")


class EditConflict(Conflict):
    """Someone saved the page after the editor opened it; carries what is there now."""

    def __init__(self, message: str, current: WikiRevision) -> None:
        super().__init__(message)
        self.current = current


# -- checks ------------------------------------------------------------------------------------


def check_title(title: str | None) -> tuple[str, str]:
    """A clean title and its slug, or Invalid on the title field."""
    if "\x00" in (title or ""):
        raise Invalid("The title contains a NUL character, which cannot be saved.", "title")
    title = clean_line(title or "")
    if not title:
        raise Invalid("A page needs a title.", "title")
    if len(title) > MAX_TITLE_LENGTH:
        raise Invalid(f"Use at most {MAX_TITLE_LENGTH} characters (this has {len(title)}).", "title")
    if FORBIDDEN_TITLE_CHARACTERS & set(title):
        raise Invalid("A title cannot contain [ ] or |, which wiki links use.", "title")
    slug = slugify(title)
    if not slug:
        raise Invalid("A title needs at least one letter or digit.", "title")
    if slug in RESERVED_SLUGS:
        raise Invalid(f"“{title}” is reserved for a wiki page of its own; choose another title.", "title")
    return title, slug


def check_summary(summary: str | None) -> str:
    summary = " ".join((summary or "").split())
    if len(summary) > MAX_SUMMARY_LENGTH:
        raise Invalid(f"Use at most {MAX_SUMMARY_LENGTH} characters for the summary.", "summary")
    return summary


def check_body(body: str | None) -> str:
    if not (body or "").strip():
        raise Invalid("Write something first.", "body")
    return body or ""


def preview(body: str) -> Markup:
    """The HTML the body would show, red links included; raises Invalid like saving would."""
    html, links = render_wikitext(check_body(body))
    return mark_missing_links(html, existing_slugs({link.slug for link in links}))


def check_can_edit(actor: User, page: WikiPage | None = None) -> None:
    """Forbidden (saying why, and for new accounts when) unless `actor` may edit (this page)."""
    reason = permissions.why_cannot_edit_wiki(actor)
    if reason is not None:
        raise Forbidden(reason)
    if page is not None and not permissions.can_edit_page(actor, page):
        if page.deleted_at is not None:
            raise Conflict("This page is deleted; a moderator can restore it.")
        raise Forbidden("This page is protected: only moderators and employees can change it.")


def _check_slug_free(slug: str, title: str, page: WikiPage | None = None) -> None:
    """409 when another page, or another page's old address, holds the slug."""
    other = db.session.scalar(select(WikiPage).where(WikiPage.slug == slug))
    if other is not None and other is not page:
        if other.deleted_at is not None:
            raise Conflict(
                f"A deleted page has the address /wiki/{slug}; a moderator can restore it.", "title"
            )
        raise Conflict(f"A page called “{other.title}” exists already at /wiki/{slug}.", "title")
    redirect = db.session.scalar(select(WikiRedirect).where(WikiRedirect.old_slug == slug))
    if redirect is not None and (page is None or redirect.page_id != page.id):
        raise Conflict(
            f"/wiki/{slug} is the old address of “{redirect.page.title}” and redirects there.", "title"
        )


def _board(board_id: int | None) -> Board | None:
    if not board_id:
        return None
    board = db.session.get(Board, board_id)
    if board is None:
        raise Invalid("There is no such board.", "board_id")
    return board


# -- writing -----------------------------------------------------------------------------------


def _flush_or_conflict(message: str) -> None:
    """Flush; a unique constraint hit by a concurrent save becomes a 409 (the caller rolls back)."""
    try:
        db.session.flush()
    except IntegrityError as error:
        raise Conflict(message, "title") from error


def _lock(page: WikiPage) -> None:
    """Lock the page row and re-read it, so the base-revision check sees the latest save.

    Two editors starting from the same revision both pass a check made on rows read before
    either saved; taking the row lock first (an UPDATE, which waits for the other
    transaction on PostgreSQL and takes the write lock on SQLite) makes the second one see
    the first one's revision and get an edit conflict instead of overwriting it.
    """
    db.session.execute(
        update(WikiPage).where(WikiPage.id == page.id).values(revision_count=WikiPage.revision_count)
    )
    db.session.refresh(page)


def _add_revision(page: WikiPage, *, title: str, body: str, summary: str, actor: User) -> WikiRevision:
    """Append a revision, make it current, refresh the link table and tell the listeners."""
    html, links = render_wikitext(body)
    now = utcnow()
    page.revision_count += 1
    revision = WikiRevision(
        page=page, number=page.revision_count, author_id=actor.id, created_at=now, title=title,
        summary=summary[:500], body_source=body, body_html=str(html), size=len(body),
    )  # fmt: skip
    db.session.add(revision)
    db.session.flush()
    page.current_revision_id = revision.id
    page.updated_at = now
    _store_links(page, links)
    db.session.flush()
    events.wiki_page_edited.send(actor, page=page, revision=revision)
    return revision


def _store_links(page: WikiPage, links: list[Link]) -> None:
    db.session.execute(delete(WikiLink).where(WikiLink.page_id == page.id))
    for link in links:
        if link.slug != page.slug:
            db.session.add(WikiLink(page_id=page.id, target_slug=link.slug, target_title=link.title[:200]))


def create_page(
    title: str, body: str, *, actor: User, summary: str = "", board_id: int | None = None,
    source_thread: Thread | None = None, source_post: Post | None = None,
) -> WikiPage:  # fmt: skip
    """A new page with its first revision; the caller commits."""
    check_can_edit(actor)
    title, slug = check_title(title)
    summary = check_summary(summary)
    body = check_body(body)
    board = _board(board_id)
    render_wikitext(body)  # refuse bad text before anything is added
    _check_slug_free(slug, title)
    page = WikiPage(
        slug=slug, title=title, board=board, created_by_id=actor.id,
        source_thread_id=source_thread.id if source_thread else None,
        source_post_id=source_post.id if source_post else None,
    )  # fmt: skip
    db.session.add(page)
    _flush_or_conflict(f"Someone created a page at /wiki/{slug} at the same moment.")
    _add_revision(page, title=title, body=body, summary=summary or "Created the page", actor=actor)
    return page


def edit_page(
    page: WikiPage, body: str, *, actor: User, base_revision_id: int | None, summary: str = "",
    board_id: int | None | bool = False,
) -> WikiRevision:  # fmt: skip
    """Save a new text. `base_revision_id` is the revision the editor started from: if the page
    moved on since, raise EditConflict rather than overwrite someone's work."""
    check_can_edit(actor, page)
    summary = check_summary(summary)
    body = check_body(body)
    render_wikitext(body)
    _lock(page)
    check_can_edit(actor, page)
    if base_revision_id != page.current_revision_id:
        current = load_current_revision(page)
        if current.body_source == body:
            raise Invalid("Someone already saved exactly this text; there is nothing to change.", "body")
        raise EditConflict(
            f"{current.author.name if current.author else 'Someone'} saved this page after you "
            "started editing. Your text is kept below: compare it with theirs, merge, and save again.",
            current,
        )
    current = load_current_revision(page)
    board_changed = board_id is not False and (board_id or None) != page.board_id
    if current.body_source == body and not board_changed:
        raise Invalid("You have not changed anything.", "body")
    if board_changed:
        old_name = page.board.name if page.board else "none"
        board = _board(board_id or None)  # type: ignore[arg-type]
        page.board = board
        note = f"topic: {old_name} → {board.name if board else 'none'}"
        summary = f"{summary} ({note})" if summary else note.capitalize()
    return _add_revision(page, title=page.title, body=body, summary=summary, actor=actor)


def revert_page(
    page: WikiPage, revision_id: int, *, actor: User, base_revision_id: int | None, reason: str = ""
) -> WikiRevision:
    """Restore an old revision's text as a new revision with an automatic summary."""
    check_can_edit(actor, page)
    revision = db.session.get(WikiRevision, revision_id) if 0 < revision_id <= MAX_ID else None
    if revision is None:
        raise NotFound(f"There is no revision {revision_id}.")
    if revision.page_id != page.id:
        raise Invalid(f"Revision {revision_id} belongs to another page, not to “{page.title}”.")
    _lock(page)
    check_can_edit(actor, page)
    if base_revision_id != page.current_revision_id:
        raise Conflict("The page changed since you looked at its history; look again before reverting.")
    if revision.id == page.current_revision_id:
        raise Conflict(f"Revision #{revision.number} is already the current text.")
    reason = check_summary(reason)
    author = revision.author.name if revision.author else "a deleted account"
    summary = (
        f"Reverted to revision #{revision.number} by {author} ({revision.created_at:%Y-%m-%d %H:%M} UTC)"
    )
    if reason:
        summary += f": {reason}"
    if load_current_revision(page).body_source == revision.body_source:
        raise Conflict(f"The current text is already the same as revision #{revision.number}.")
    return _add_revision(page, title=page.title, body=revision.body_source, summary=summary, actor=actor)


def rename_page(page: WikiPage, new_title: str, *, actor: User, reason: str = "") -> WikiRevision:
    """Give the page a new title (and address); the old address redirects, history says so."""
    check_can_edit(actor, page)
    title, slug = check_title(new_title)
    reason = check_summary(reason)
    _lock(page)
    check_can_edit(actor, page)
    if title == page.title:
        raise Invalid("That is the current title.", "title")
    old_title, old_slug = page.title, page.slug
    if slug != old_slug:
        _check_slug_free(slug, title, page)
    summary = f"Renamed from “{old_title}” to “{title}”"
    if reason:
        summary += f": {reason}"
    if slug != old_slug:
        # Renaming back to an old address: that redirect is no longer needed.
        db.session.execute(
            delete(WikiRedirect).where(WikiRedirect.old_slug == slug, WikiRedirect.page_id == page.id)
        )
        page.slug = slug
        _flush_or_conflict(f"Someone took the address /wiki/{slug} at the same moment.")
    page.title = title
    revision = _add_revision(
        page, title=title, body=load_current_revision(page).body_source, summary=summary, actor=actor
    )
    if slug != old_slug:
        db.session.add(
            WikiRedirect(old_slug=old_slug, page_id=page.id, created_by_id=actor.id, revision_id=revision.id)
        )
        db.session.flush()
    return revision


# -- moderating --------------------------------------------------------------------------------


def protect_page(page: WikiPage, *, actor: User, reason: str = "") -> None:
    if not permissions.can_protect_page(actor, page):
        raise Forbidden("Only moderators can protect wiki pages.")
    if page.protected_at is not None:
        raise Conflict("This page is protected already.")
    page.protected_at = utcnow()
    _audit(actor, "protected wiki page", page, reason)


def unprotect_page(page: WikiPage, *, actor: User, reason: str = "") -> None:
    if not permissions.can_protect_page(actor, page):
        raise Forbidden("Only moderators can unprotect wiki pages.")
    if page.protected_at is None:
        raise Conflict("This page is not protected.")
    page.protected_at = None
    _audit(actor, "unprotected wiki page", page, reason)


def delete_page(page: WikiPage, *, actor: User, reason: str = "") -> None:
    """Soft delete: every revision stays, and a moderator can restore the page."""
    if not permissions.can_delete_page(actor, page):
        if page.deleted_at is not None and permissions.is_wiki_moderator(actor):
            raise Conflict("This page is deleted already.")
        raise Forbidden("Only moderators can delete wiki pages.")
    page.deleted_at = utcnow()
    _audit(actor, "deleted wiki page", page, reason)


def restore_page(page: WikiPage, *, actor: User, reason: str = "") -> None:
    if not permissions.can_restore_page(actor, page):
        if page.deleted_at is None and permissions.is_wiki_moderator(actor):
            raise Conflict("This page is not deleted.")
        raise Forbidden("Only moderators can restore wiki pages.")
    page.deleted_at = None
    _audit(actor, "restored wiki page", page, reason)


def _audit(actor: User, action: str, page: WikiPage, reason: str) -> None:
    audit.record(
        actor, action, target_type="wiki_page", target_id=page.id, target_label=page.title,
        reason=check_summary(reason), board_id=page.board_id,
    )  # fmt: skip
    db.session.flush()


# -- re-rendering ------------------------------------------------------------------------------


def rerender_revisions(batch_size: int = 200) -> Iterator[int]:
    """Render every revision again and rebuild the link table (after the Markdown rules change).

    Yields each committed batch's size, for a progress bar. Text the current rules refuse is
    kept, shown escaped.
    """
    last_id = 0
    while True:
        revisions = db.session.scalars(
            select(WikiRevision).where(WikiRevision.id > last_id).order_by(WikiRevision.id).limit(batch_size)
        ).all()
        if not revisions:
            return
        for revision in revisions:
            try:
                html, links = render_wikitext(revision.body_source)
            except Invalid:
                html, links = Markup("<p>{}</p>").format(revision.body_source), []
            revision.body_html = str(html)
            page = db.session.get(WikiPage, revision.page_id)
            if page is not None and page.current_revision_id == revision.id:
                _store_links(page, links)
        last_id = revisions[-1].id
        db.session.commit()
        yield len(revisions)
