"""What an import from another forum remembers: where each post came from, who its imported
members were, and the old addresses that now redirect here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, column_property, mapped_column

from forum.boards.models import Post
from forum.extensions import db

OLD_URL_TARGETS = ("board", "thread", "post")


class PostOrigin(db.Model):
    """The source of an imported post (thread opening posts included), shown as its attribution."""

    __tablename__ = "post_origins"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(200))  # "Stack Exchange (iot.stackexchange.com)"
    author_name: Mapped[str] = mapped_column(String(200), default="")
    original_at: Mapped[datetime | None]
    url: Mapped[str | None] = mapped_column(String(2000))
    license: Mapped[str | None] = mapped_column(String(500))
    # The same fields as one JSON text, so the thread page reads the attribution with its posts
    # (Post.lifeboat_origin below) instead of one more query: derived, written by the importer.
    summary: Mapped[str] = mapped_column(Text)

    @property
    def id(self) -> int:  # the exporter pages by .id
        return self.post_id


class ImportedMember(db.Model):
    """An account made by an import: whose name it carries and where they wrote."""

    __tablename__ = "imported_members"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    original_name: Mapped[str] = mapped_column(String(200), default="")
    profile_url: Mapped[str | None] = mapped_column(String(2000))

    @property
    def id(self) -> int:  # the exporter pages by .id
        return self.user_id


class OldUrl(db.Model):
    """An address of the old forum and what it became here (a board, thread or post).

    `path_key` is the old address reduced to what identifies it (see forum.lifeboat.oldurls),
    so /t/any-slug/12/3 and /t/12/3 find the same row.
    """

    __tablename__ = "old_urls"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    path_key: Mapped[str] = mapped_column(String(500), unique=True)
    target_type: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int]


# The attribution of each post on the thread page, loaded with the posts (the boards service
# undefers the names in LOAD_WITH_POSTS): NULL for posts written here.
Post.lifeboat_origin = column_property(
    select(PostOrigin.summary)
    .where(PostOrigin.post_id == Post.id)
    .correlate_except(PostOrigin)
    .scalar_subquery(),
    deferred=True,
)
