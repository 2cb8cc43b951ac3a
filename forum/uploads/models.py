"""Uploaded files: who uploaded what, where it is used, and (for the database storage) the bytes.

A file is stored once, under the SHA-256 of its stored bytes (for images: the re-encoded
bytes, never the original). Each member who uploads it has their own Upload row, so quotas
and removals are per member while the bytes are shared.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db

IMAGE, FILE, AVATAR = "image", "file", "avatar"


class Upload(db.Model):
    __tablename__ = "uploads"
    __table_args__ = (
        UniqueConstraint("owner_id", "sha256", "kind", name="uq_uploads_owner_sha_kind"),
        Index("ix_uploads_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # IMAGE, FILE or AVATAR
    content_type: Mapped[str] = mapped_column(String(60))
    extension: Mapped[str] = mapped_column(String(8))  # what the address ends with: png, log, pdf
    name: Mapped[str] = mapped_column(String(200))  # the file name the member gave, cleaned
    size: Mapped[int]  # bytes stored
    width: Mapped[int | None]
    height: Mapped[int | None]
    thumb_sha256: Mapped[str | None] = mapped_column(String(64))
    thumb_content_type: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    removed_reason: Mapped[str | None] = mapped_column(String(500))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])

    @property
    def url(self) -> str:
        if self.kind == AVATAR:
            return f"/avatars/{self.sha256}.{self.extension}"
        return f"/uploads/{self.sha256}.{self.extension}"

    @property
    def thumbnail_url(self) -> str:
        return f"/uploads/{self.sha256}/thumbnail" if self.thumb_sha256 else self.url

    @property
    def is_image(self) -> bool:
        return self.kind in (IMAGE, AVATAR)


class UploadUse(db.Model):
    """An upload shown in a post or a wiki page: readers see it when they may read one of those.

    Uses are only added: an edit that drops an image keeps the use, so the post's and the
    page's history still show it.
    """

    __tablename__ = "upload_uses"
    __table_args__ = (
        UniqueConstraint("upload_id", "post_id", name="uq_upload_uses_post"),
        UniqueConstraint("upload_id", "wiki_page_id", name="uq_upload_uses_wiki_page"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    wiki_page_id: Mapped[int | None] = mapped_column(
        ForeignKey("wiki_pages.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UploadBlob(db.Model):
    """File bytes, for the database storage (UPLOAD_STORAGE = "database"): shared by every app server."""

    __tablename__ = "upload_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
