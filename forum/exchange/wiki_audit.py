"""Record types `wiki_page` (with its revisions) and `audit_entry` (the moderation log)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from markupsafe import Markup
from sqlalchemy import select

from forum.boards.models import Thread
from forum.boards.visibility import thread_is_visible
from forum.errors import Invalid
from forum.exchange.exporter import batched
from forum.exchange.fields import RecordError, ident, iso, text, timestamp
from forum.exchange.importer import Checker, Links, Loader, Parsed, unique_name
from forum.extensions import db
from forum.moderation.models import AuditEntry
from forum.wiki.links import Link, render_wikitext
from forum.wiki.models import WikiPage, WikiRedirect, WikiRevision

# -- wiki_page with its revisions --------------------------------------------------------------

# Letters and digits of any script joined by dashes, as forum.wiki.links.slugify makes them.
WIKI_SLUG = re.compile(r"^[^\W_]+(?:[-/][^\W_]+)*$")


def render_revision(source: str) -> tuple[str, list[Link]]:
    """A revision's HTML and [[links]], as the wiki renders them; refused text is shown escaped."""
    try:
        html, links = render_wikitext(source)
    except Invalid:
        return str(Markup("<p>{}</p>").format(source)), []
    return str(html), links


def parse_wiki_page(r: dict[str, Any]) -> Parsed:
    revisions = r.get("revisions")
    if not isinstance(revisions, list) or not revisions:
        raise RecordError("'revisions' must be a list with at least one revision")
    parsed_revisions = []
    for number, revision in enumerate(revisions, start=1):
        if not isinstance(revision, dict):
            raise RecordError(f"revision {number} must be an object")
        try:
            parsed_revisions.append({
                "id": ident(revision, "id", required=False),
                "user_id": ident(revision, "user_id", required=False),
                "created_at": timestamp(revision, "created_at"),
                "title": text(revision, "title", required=False, max_length=200),
                "summary": text(revision, "summary", required=False, max_length=500) or "",
                "body": text(revision, "body", max_length=1_000_000),
            })  # fmt: skip
        except RecordError as error:
            raise RecordError(f"revision {number}: {error.message}") from error
    return {
        "id": ident(r, "id"),
        "slug": text(r, "slug", max_length=200, pattern=WIKI_SLUG),
        "title": text(r, "title", max_length=200),
        "category_id": ident(r, "category_id", required=False),
        "created_at": timestamp(r, "created_at"),
        "created_by_id": ident(r, "created_by_id", required=False),
        "protected_at": timestamp(r, "protected_at", required=False),
        "deleted_at": timestamp(r, "deleted_at", required=False),
        "source_thread_id": ident(r, "source_thread_id", required=False),
        "source_post_id": ident(r, "source_post_id", required=False),
        "revisions": parsed_revisions,
    }


def check_wiki_page(c: Checker, p: Parsed) -> None:
    c.add_id("wiki_page", p["id"])
    c.add_name("wiki slug", p["slug"])
    c.require("category", p["category_id"], "category_id")
    c.require("user", p["created_by_id"], "created_by_id")
    c.require("thread", p["source_thread_id"], "source_thread_id")
    c.require("post", p["source_post_id"], "source_post_id")
    for revision in p["revisions"]:
        c.require("user", revision["user_id"], "revision user_id")
        if revision["id"] is None:
            c.need_fresh("wiki_revision")
        else:
            c.add_id("wiki_revision", revision["id"])


def prepare_merge_wiki(loader: Loader) -> None:
    loader.taken["wiki slug"] = set(loader.connection.scalars(select(WikiPage.slug)))


def load_wiki_page(loader: Loader, p: Parsed) -> None:
    page_id = loader.ref("wiki_page", "wiki_pages", p["id"])
    slug = unique_name(p["slug"], loader.taken["wiki slug"], "-", 200) if loader.merge else p["slug"]
    revisions = loader.space("wiki_revision", "wiki_revisions")
    rows = []
    links: list[Link] = []
    for number, revision in enumerate(p["revisions"], start=1):
        body = revision["body"]
        html, links = render_revision(body)
        rows.append({
            "id": revisions.map(revision["id"]) if revision["id"] is not None else revisions.fresh(),
            "page_id": page_id, "number": number, "author_id": loader.ref("user", "users", revision["user_id"]),
            "created_at": revision["created_at"], "title": revision["title"] or p["title"],
            "summary": revision["summary"], "body_source": body, "body_html": html, "size": len(body),
        })  # fmt: skip
    first, last = p["revisions"][0], rows[-1]
    loader.add("wiki_pages", {
        "id": page_id, "slug": slug, "title": p["title"],
        "board_id": loader.ref("category", "boards", p["category_id"]),
        "created_by_id": loader.ref("user", "users", p["created_by_id"] or first["user_id"]),
        "created_at": p["created_at"], "updated_at": last["created_at"], "current_revision_id": last["id"],
        "revision_count": len(rows), "protected_at": p["protected_at"], "deleted_at": p["deleted_at"],
        "source_thread_id": loader.ref("thread", "threads", p["source_thread_id"]),
        "source_post_id": loader.ref("post", "posts", p["source_post_id"]),
    })  # fmt: skip
    for row in rows:
        loader.add("wiki_revisions", row)
    # "What links here": the current text's links, as forum.wiki.editing stores them.
    for target in {link.slug: link for link in links if link.slug != slug}.values():
        loader.add(
            "wiki_links", {"page_id": page_id, "target_slug": target.slug, "target_title": target.title[:200]}
        )


def export_wiki_pages(full: bool) -> Iterator[dict[str, Any]]:
    pages = select(WikiPage)
    if not full:
        pages = pages.where(WikiPage.deleted_at.is_(None))
    for page in batched(pages, WikiPage.id):
        revisions = db.session.scalars(
            select(WikiRevision).where(WikiRevision.page_id == page.id).order_by(WikiRevision.number)
        ).all()
        record = {
            "type": "wiki_page", "id": page.id, "slug": page.slug, "title": page.title,
            "category_id": page.board_id, "created_at": iso(page.created_at),
            "created_by_id": page.created_by_id, "protected_at": iso(page.protected_at),
        }  # fmt: skip
        if full:
            record["deleted_at"] = iso(page.deleted_at)
        source_visible = page.source_thread_id in _visible_threads(full, page)
        record["source_thread_id"] = page.source_thread_id if source_visible else None
        record["source_post_id"] = page.source_post_id if source_visible else None
        record["revisions"] = [
            {"id": rev.id, "user_id": rev.author_id, "created_at": iso(rev.created_at), "title": rev.title,
             "summary": rev.summary, "body": rev.body_source}
            for rev in revisions
        ]  # fmt: skip
        yield record
        db.session.expunge_all()


def _visible_threads(full: bool, page: WikiPage) -> set[int]:
    """The page's source thread if the export holds it (the public one leaves hidden threads out)."""
    if page.source_thread_id is None:
        return set()
    statement = select(Thread.id).where(Thread.id == page.source_thread_id)
    if not full:
        statement = statement.where(thread_is_visible())
    return set(db.session.scalars(statement))


# -- wiki_redirect (an old address left by a rename) ---------------------------------------------


def parse_wiki_redirect(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "old_slug": text(r, "old_slug", max_length=200, pattern=WIKI_SLUG),
        "page_id": ident(r, "page_id"),
        "created_at": timestamp(r, "created_at"),
        "created_by_id": ident(r, "created_by_id", required=False),
        "revision_id": ident(r, "revision_id", required=False),
    }


def check_wiki_redirect(c: Checker, p: Parsed) -> None:
    c.add_id("wiki_redirect", p["id"])
    c.add_name("wiki redirect", p["old_slug"])
    c.require("wiki_page", p["page_id"], "page_id")
    c.require("user", p["created_by_id"], "created_by_id")
    c.require("wiki_revision", p["revision_id"], "revision_id")


def load_wiki_redirect(loader: Loader, p: Parsed) -> None:
    if loader.merge:  # an address this forum uses already keeps its meaning here
        taken = loader.taken.setdefault(
            "wiki redirect", set(loader.connection.scalars(select(WikiRedirect.old_slug)))
        )
        if p["old_slug"] in taken or p["old_slug"] in loader.taken["wiki slug"]:
            return
        taken.add(p["old_slug"])
    revision = p["revision_id"]
    loader.add("wiki_redirects", dict(
        p, id=loader.ref("wiki_redirect", "wiki_redirects", p["id"]),
        page_id=loader.ref("wiki_page", "wiki_pages", p["page_id"]),
        created_by_id=loader.ref("user", "users", p["created_by_id"]),
        revision_id=loader.space("wiki_revision", "wiki_revisions").map(revision) if revision else None,
    ))  # fmt: skip


def export_wiki_redirects(full: bool) -> Iterator[dict[str, Any]]:
    redirects = select(WikiRedirect)
    if not full:
        redirects = redirects.join(WikiPage, WikiPage.id == WikiRedirect.page_id).where(
            WikiPage.deleted_at.is_(None)
        )
    for redirect in batched(redirects, WikiRedirect.id):
        yield {
            "type": "wiki_redirect", "id": redirect.id, "old_slug": redirect.old_slug, "page_id": redirect.page_id,
            "created_at": iso(redirect.created_at), "created_by_id": redirect.created_by_id,
            "revision_id": redirect.revision_id,
        }  # fmt: skip


# -- audit_entry (the moderation log; full backups only: its details are private) --------------


def parse_audit_entry(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "created_at": timestamp(r, "created_at"),
        "actor_id": ident(r, "actor_id", required=False),
        "action": text(r, "action", max_length=60),
        "target_type": text(r, "target_type", max_length=30),
        "target_id": ident(r, "target_id", required=False),
        "target_label": text(r, "target_label", required=False, max_length=300) or "",
        "board_id": ident(r, "board_id", required=False),
        "affected_user_id": ident(r, "affected_user_id", required=False),
        "reason": text(r, "reason", required=False, max_length=100_000) or "",
        "details": text(r, "details", required=False, max_length=1_000_000) or "",
    }


AUDIT_ENTRY = Links("audit_entry", {"actor_id": "user", "affected_user_id": "user", "board_id": "category"})


def check_audit_entry(c: Checker, p: Parsed) -> None:
    AUDIT_ENTRY.check(c, p)


# What an audit target_type names, as (record kind, table), so merged ids follow their rows.
AUDIT_TARGETS = {"user": ("user", "users"), "board": ("category", "boards"), "thread": ("thread", "threads"),
                 "post": ("post", "posts"), "wiki_page": ("wiki_page", "wiki_pages")}  # fmt: skip


def load_audit_entry(loader: Loader, p: Parsed) -> None:
    target = AUDIT_TARGETS.get(p["target_type"])
    target_id = loader.ref(*target, p["target_id"]) if target else p["target_id"]
    loader.add("audit_log", AUDIT_ENTRY.row(loader, p, target_id=target_id))


def export_audit_entries(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for entry in batched(select(AuditEntry), AuditEntry.id):
        yield {
            "type": "audit_entry", "id": entry.id, "created_at": iso(entry.created_at),
            "actor_id": entry.actor_id, "action": entry.action, "target_type": entry.target_type,
            "target_id": entry.target_id, "target_label": entry.target_label, "board_id": entry.board_id,
            "affected_user_id": entry.affected_user_id, "reason": entry.reason, "details": entry.details,
        }  # fmt: skip
    db.session.expunge_all()
