"""Self-help wiki pages and their append-only revisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, exists
from sqlalchemy.orm import Mapped, WriteOnlyMapped, column_property, mapped_column, relationship

from forum.auth.models import User
from forum.boards.models import Board, Thread
from forum.db import utcnow
from forum.extensions import db


class WikiPage(db.Model):
    __tablename__ = "wiki_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    board_id: Mapped[int | None] = mapped_column(ForeignKey("boards.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The current text; a plain id (revisions point at the page already).
    current_revision_id: Mapped[int | None]
    revision_count: Mapped[int] = mapped_column(default=0)
    protected_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # Set when the page was promoted from a thread.
    source_thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    # -- wiki --
    # The reply a promoted page was built from (a plain id, like Thread.solution_post_id).
    source_post_id: Mapped[int | None]

    board: Mapped[Board | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    current_revision: Mapped[WikiRevision | None] = relationship(
        primaryjoin="foreign(WikiPage.current_revision_id) == WikiRevision.id", viewonly=True
    )
    revisions: WriteOnlyMapped[WikiRevision] = relationship(
        back_populates="page", order_by="WikiRevision.number", foreign_keys="WikiRevision.page_id"
    )

    @property
    def url(self) -> str:
        return f"/wiki/{self.slug}"


class WikiRevision(db.Model):
    """One saved version: the full text, never a diff; inserted, never updated."""

    __tablename__ = "wiki_revisions"
    __table_args__ = (UniqueConstraint("page_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("wiki_pages.id"), index=True)
    number: Mapped[int]  # 1, 2, 3... within the page
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    title: Mapped[str] = mapped_column(String(200))  # the title at this revision (renames show)
    summary: Mapped[str] = mapped_column(String(500), default="")
    body_source: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(default=0)  # characters, for "+120 / -40" in history

    page: Mapped[WikiPage] = relationship(back_populates="revisions", foreign_keys=[page_id])
    author: Mapped[User | None] = relationship()


# -- wiki --


class WikiLink(db.Model):
    """One [[link]] from a page's current text to a slug (which may not exist yet).

    Rewritten whenever the page gets a new revision, so "what links here" is one query.
    """

    __tablename__ = "wiki_links"
    __table_args__ = (UniqueConstraint("page_id", "target_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("wiki_pages.id"))
    target_slug: Mapped[str] = mapped_column(String(200), index=True)
    target_title: Mapped[str] = mapped_column(String(200))


class WikiRedirect(db.Model):
    """An old slug left behind by a rename: /wiki/<old_slug> redirects to the page."""

    __tablename__ = "wiki_redirects"
    __table_args__ = (Index("ix_wiki_redirects_page_id", "page_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    old_slug: Mapped[str] = mapped_column(String(200), unique=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("wiki_pages.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The rename's revision, so history and the redirect explain each other.
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("wiki_revisions.id"), index=True)

    page: Mapped[WikiPage] = relationship()


# Whether any live wiki page was promoted from a thread: loaded with the thread page's thread
# (forum.boards.services.get_thread undefers it), so most threads need no wiki query at all.
Thread.has_wiki_pages = column_property(
    exists()
    .where(WikiPage.source_thread_id == Thread.id, WikiPage.deleted_at.is_(None))
    .correlate_except(WikiPage),
    deferred=True,
)
