"""The search outbox and, for the PostgreSQL backend, the searchable documents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from forum.db import utcnow
from forum.extensions import db

# tsvector on PostgreSQL; plain text elsewhere, where the table stays empty (Whoosh is used).
TsVector = TSVECTOR().with_variant(Text(), "sqlite")


class SearchOutbox(db.Model):
    """One thing whose index entry is stale: written in the same transaction as the change.

    `kind` is "post", "thread" (all of its posts) or "wiki"; `object_id` the row's id. A row
    stays until a drain has brought the index in line with the database, so a worker that
    dies mid-drain loses nothing.
    """

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    object_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SearchDocument(db.Model):
    """A post or wiki page as the PostgreSQL backend searches it (unused with Whoosh)."""

    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_tsv", "tsv", postgresql_using="gin"),
        Index("ix_search_documents_title_tsv", "title_tsv", postgresql_using="gin"),
        # PostgreSQL ranks the newest matches (postgres_backend._ranked_rows): posts, and
        # the opening posts and wiki pages whose titles count, newest first.
        Index("ix_search_documents_created_at", "created_at"),
        Index(
            "ix_search_documents_titled_created_at",
            "created_at",
            postgresql_where=text("opening IS true OR kind = 'wiki'"),
            sqlite_where=text("opening = 1 OR kind = 'wiki'"),
        ),
    )

    key: Mapped[str] = mapped_column(String(20), primary_key=True)  # "p123" or "w7"
    kind: Mapped[str] = mapped_column(String(10))  # post | wiki
    group_key: Mapped[str] = mapped_column(String(20), index=True)  # "t45" or "w7": one result each
    object_id: Mapped[int]
    thread_id: Mapped[int | None] = mapped_column(index=True)
    board_slug: Mapped[str | None] = mapped_column(String(60))
    author: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    solved: Mapped[bool] = mapped_column(default=False)
    employee: Mapped[bool] = mapped_column(default=False)
    opening: Mapped[bool] = mapped_column(default=False)
    tsv: Mapped[str] = mapped_column(TsVector)
    title_tsv: Mapped[str] = mapped_column(TsVector)


class SearchTitleWord(db.Model):
    """A word of the titles (stemmed) and how many titles have it: "did you mean" offers the
    close ones. PostgreSQL backend only; refreshed by the `search-vocabulary` job and a
    reindex, because listing every title's words costs seconds at two million posts."""

    __tablename__ = "search_title_words"

    word: Mapped[str] = mapped_column(String(100), primary_key=True)
    documents: Mapped[int]


class SearchSynonym(db.Model):
    """Two words (or phrases) people use for one thing: a search for either also finds the
    other, ranked below the word typed (forum.search.scoring.SYNONYM_WEIGHT). Read at search
    time, so an edit needs no reindex."""

    __tablename__ = "search_synonyms"
    __table_args__ = (UniqueConstraint("word", "synonym"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(60))
    synonym: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
