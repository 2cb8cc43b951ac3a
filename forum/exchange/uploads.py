"""Record types `upload` and `upload_use` (issue #19): who uploaded which file and where it is
shown; the bytes travel in the files folder beside the data file (forum.exchange.files).

A public file has what a visitor can open: files shown in visible posts of visible threads or
in wiki pages that are not deleted, and members' current profile pictures; never a removed
file, one only a hidden or deleted post shows, or one nothing shows. The static site copies
the same files (`public_files`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import current_app
from sqlalchemy import and_, exists, or_, select

from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.boards.visibility import post_is_visible, thread_is_visible
from forum.exchange.exporter import batched
from forum.exchange.fields import RecordError, ident, iso, text, timestamp
from forum.exchange.files import HASH, read_file
from forum.exchange.importer import Checker, Links, Loader, Parsed
from forum.extensions import db
from forum.uploads.files import IMAGE_TYPES, PDF_TYPE, TEXT_TYPES
from forum.uploads.models import AVATAR, FILE, IMAGE, Upload, UploadUse
from forum.uploads.storage import storage
from forum.wiki.models import WikiPage

KINDS = (IMAGE, FILE, AVATAR)
# What the forum stores, and nothing else: an import never serves a type the upload checks refuse.
IMAGE_FORMATS = {(content_type, extension) for content_type, extension, _ in IMAGE_TYPES.values()}
FILE_FORMATS = {(content_type, extension) for extension, content_type in TEXT_TYPES.items()} | {
    (PDF_TYPE, "pdf")
}
THUMBNAIL_EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg"}  # forum.uploads.files._thumbnail

SHOWN_IN_POST = (
    select(UploadUse.id)
    .join(Post, Post.id == UploadUse.post_id)
    .join(Thread, Thread.id == Post.thread_id)
    .where(post_is_visible(), thread_is_visible())
)
SHOWN_IN_PAGE = (
    select(UploadUse.id)
    .join(WikiPage, WikiPage.id == UploadUse.wiki_page_id)
    .where(WikiPage.deleted_at.is_(None))
)
PUBLIC_USE = or_(UploadUse.id.in_(SHOWN_IN_POST), UploadUse.id.in_(SHOWN_IN_PAGE))
CURRENT_AVATAR = exists().where(
    User.id == Upload.owner_id, User.avatar_sha256 == Upload.sha256, User.deleted_at.is_(None)
)
PUBLIC_UPLOAD = and_(
    Upload.removed_at.is_(None),
    or_(
        and_(Upload.kind != AVATAR, exists().where(UploadUse.upload_id == Upload.id, PUBLIC_USE)),
        and_(Upload.kind == AVATAR, CURRENT_AVATAR),
    ),
)


def public_files() -> dict[str, tuple[str, str | None, str | None]]:
    """Public uploads shown in posts and pages: content hash -> (extension, thumbnail hash, its extension)."""
    statement = select(Upload.sha256, Upload.extension, Upload.thumb_sha256, Upload.thumb_content_type).where(
        PUBLIC_UPLOAD, Upload.kind != AVATAR
    )
    return {
        key: (extension, thumb, THUMBNAIL_EXTENSIONS.get(thumb_type or ""))
        for key, extension, thumb, thumb_type in db.session.execute(statement)
    }


def check_file(c: Checker, key: str, size: int | None = None) -> None:
    """A file the record names is in the files folder, undamaged (and `size` bytes long)."""
    checked = c.names.setdefault("upload file", set())
    if key in checked and size is None:
        return
    data = read_file(c.files, key)
    if size is not None and len(data) != size:
        raise RecordError(f"'size' is {size}, but file {key} has {len(data)} bytes")
    checked.add(key)


# -- upload ------------------------------------------------------------------------------------


def _dimension(record: dict[str, Any], name: str) -> int | None:
    value = record.get(name)
    if value is not None and (type(value) is not int or not 1 <= value <= 100_000):
        raise RecordError(f"{name!r} must be a number of pixels from 1 to 100000, or null, not {value!r}")
    return value


def parse_upload(r: dict[str, Any]) -> Parsed:
    kind = text(r, "kind")
    if kind not in KINDS:
        raise RecordError(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    content_type, extension = text(r, "content_type", max_length=60), text(r, "extension", max_length=8)
    if (content_type, extension) not in (FILE_FORMATS if kind == FILE else IMAGE_FORMATS):
        raise RecordError(f"a {kind} cannot be {content_type!r} with extension {extension!r}")
    size = r.get("size")
    if type(size) is not int or size < 1:
        raise RecordError(f"'size' must be a number of bytes above 0, not {size!r}")
    thumb = text(r, "thumb_sha256", required=False, pattern=HASH, nullable=True)
    thumb_type = text(r, "thumb_content_type", required=False, nullable=True)
    if (thumb is None) != (thumb_type is None) or (thumb_type and thumb_type not in THUMBNAIL_EXTENSIONS):
        types = " or ".join(THUMBNAIL_EXTENSIONS)
        raise RecordError(f"'thumb_sha256' and 'thumb_content_type' ({types}) go together, or neither")
    return {
        "id": ident(r, "id"),
        "owner_id": ident(r, "owner_id", required=False),
        "kind": kind,
        "sha256": text(r, "sha256", pattern=HASH),
        "content_type": content_type,
        "extension": extension,
        "name": text(r, "name", max_length=200),
        "size": size,
        "width": _dimension(r, "width"),
        "height": _dimension(r, "height"),
        "thumb_sha256": thumb,
        "thumb_content_type": thumb_type,
        "created_at": timestamp(r, "created_at"),
        "removed_at": timestamp(r, "removed_at", required=False),
        "removed_by_id": ident(r, "removed_by_id", required=False),
        "removed_reason": text(r, "removed_reason", required=False, max_length=500, nullable=True),
    }


UPLOAD = Links("upload", {"owner_id": "user", "removed_by_id": "user"})


def check_upload(c: Checker, p: Parsed) -> None:
    if "uploads" not in current_app.config["FEATURES"]:
        raise RecordError(
            "this file holds uploaded files, and this forum runs without the uploads feature; "
            "add 'uploads' to FORUM_FEATURES and import again"
        )
    UPLOAD.check(c, p)
    if p["owner_id"] is not None:
        c.add_name("upload of a member", f"{p['owner_id']}:{p['sha256']}:{p['kind']}")
    check_file(c, p["sha256"], p["size"])
    if p["thumb_sha256"] is not None:
        check_file(c, p["thumb_sha256"])


def load_upload(loader: Loader, p: Parsed) -> None:
    row = UPLOAD.row(loader, p)
    if loader.merge and row["owner_id"] is not None:
        existing = loader.connection.scalar(
            select(Upload.id).where(
                Upload.owner_id == row["owner_id"], Upload.sha256 == p["sha256"], Upload.kind == p["kind"]
            )
        )
        if existing is not None:  # the same member's same file: its uses join it
            loader.maps.setdefault("upload", {})[p["id"]] = existing
            return
    for key in (p["sha256"], p["thumb_sha256"]):
        if key is not None:
            storage().put(key, read_file(loader.checker.files, key))
    loader.add("uploads", row)


def export_uploads(full: bool) -> Iterator[dict[str, Any]]:
    statement = select(Upload) if full else select(Upload).where(PUBLIC_UPLOAD)
    for u in batched(statement, Upload.id):
        record = {
            "type": "upload", "id": u.id, "owner_id": u.owner_id, "kind": u.kind, "sha256": u.sha256,
            "content_type": u.content_type, "extension": u.extension, "name": u.name, "size": u.size,
            "width": u.width, "height": u.height, "thumb_sha256": u.thumb_sha256,
            "thumb_content_type": u.thumb_content_type, "created_at": iso(u.created_at),
        }  # fmt: skip
        if full:
            record.update(removed_at=iso(u.removed_at), removed_by_id=u.removed_by_id,
                          removed_reason=u.removed_reason)  # fmt: skip
        yield record


def upload_files(record: dict[str, Any]) -> list[str]:
    """The files an upload record names: its bytes and its thumbnail."""
    return [key for key in (record["sha256"], record["thumb_sha256"]) if key is not None]


# -- upload_use --------------------------------------------------------------------------------


def parse_upload_use(r: dict[str, Any]) -> Parsed:
    parsed = {
        "id": ident(r, "id"),
        "upload_id": ident(r, "upload_id"),
        "post_id": ident(r, "post_id", required=False),
        "wiki_page_id": ident(r, "wiki_page_id", required=False),
        "created_at": timestamp(r, "created_at"),
    }
    if (parsed["post_id"] is None) == (parsed["wiki_page_id"] is None):
        raise RecordError("an upload_use names either a 'post_id' or a 'wiki_page_id'")
    return parsed


UPLOAD_USE = Links("upload_use", {"upload_id": "upload", "post_id": "post", "wiki_page_id": "wiki_page"})


def check_upload_use(c: Checker, p: Parsed) -> None:
    UPLOAD_USE.check(c, p)
    c.add_name("upload_use", f"{p['upload_id']}:{p['post_id']}:{p['wiki_page_id']}")


def load_upload_use(loader: Loader, p: Parsed) -> None:
    loader.add("upload_uses", UPLOAD_USE.row(loader, p))


def export_upload_uses(full: bool) -> Iterator[dict[str, Any]]:
    statement = select(UploadUse)
    if not full:
        statement = statement.join(Upload, Upload.id == UploadUse.upload_id).where(
            Upload.removed_at.is_(None), PUBLIC_USE
        )
    for use in batched(statement, UploadUse.id):
        yield {
            "type": "upload_use", "id": use.id, "upload_id": use.upload_id, "post_id": use.post_id,
            "wiki_page_id": use.wiki_page_id, "created_at": iso(use.created_at),
        }  # fmt: skip
