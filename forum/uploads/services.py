"""Uploading, finding, removing and cleaning up files; the rules for who may do and see what.

Services take the actor, check the rules and never commit (forum/ARCHITECTURE.md).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.boards.permissions import can_see_thread
from forum.db import utcnow
from forum.errors import Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.uploads import files, permissions
from forum.uploads.files import FIELD, Stored, size_in_words
from forum.uploads.models import AVATAR, FILE, IMAGE, Upload, UploadUse
from forum.uploads.storage import storage

# Addresses of uploads in rendered HTML: the full file, or the thumbnail the page shows.
UPLOAD_ADDRESS = re.compile(r"/uploads/([0-9a-f]{64})(?:\.[a-z]{2,4}|/thumbnail)")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- quotas ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    used_today: int
    daily_limit: int
    used_total: int
    total_limit: int
    new_account: bool

    @property
    def left_today(self) -> int:
        return max(0, min(self.daily_limit - self.used_today, self.total_limit - self.used_total))

    def in_words(self) -> str:
        return (
            f"{size_in_words(self.used_today)} of {size_in_words(self.daily_limit)} today, "
            f"{size_in_words(self.used_total)} of {size_in_words(self.total_limit)} in all"
        )


def quota_of(user: User) -> Quota:
    """What `user` has uploaded today and in all (profile pictures do not count), and their limits."""
    from forum.moderation.antispam import is_new_account

    config = current_app.config
    today = Upload.created_at > utcnow() - timedelta(days=1)
    used_total, used_today = db.session.execute(
        select(
            func.coalesce(func.sum(Upload.size), 0),
            func.coalesce(func.sum(case((today, Upload.size), else_=0)), 0),
        ).where(Upload.owner_id == user.id, Upload.kind != AVATAR)
    ).one()
    new = is_new_account(user)
    prefix = "NEW_ACCOUNT_UPLOAD" if new else "UPLOAD"
    return Quota(
        used_today=int(used_today), daily_limit=config[f"{prefix}_DAILY_QUOTA"],
        used_total=int(used_total), total_limit=config[f"{prefix}_TOTAL_QUOTA"], new_account=new,
    )  # fmt: skip


def _check_quota(user: User, size: int, name: str) -> None:
    quota = quota_of(user)
    if size <= quota.left_today:
        return
    who = "New members can" if quota.new_account else "You can"
    if quota.used_total + size > quota.total_limit:
        raise Invalid(
            f"“{name}” ({size_in_words(size)}) would go over your upload space: {who} keep "
            f"{size_in_words(quota.total_limit)} of uploads and you have {size_in_words(quota.used_total)}. "
            "Link to the file instead, or ask a moderator.",
            FIELD,
        )
    raise Invalid(
        f"“{name}” ({size_in_words(size)}) would go over today's upload limit: {who} upload "
        f"{size_in_words(quota.daily_limit)} a day and you have uploaded {size_in_words(quota.used_today)}. "
        "Try again tomorrow.",
        FIELD,
    )


# -- uploading ---------------------------------------------------------------------------------


def check_can_upload(actor: User) -> None:
    if not permissions.can_upload(actor):
        raise Forbidden("You cannot upload files: your account cannot post at the moment.")


def upload_file(actor: User, data: bytes, filename: str | None) -> Upload:
    """Check, re-encode and store a file for a post or wiki page; the same file twice is one upload."""
    check_can_upload(actor)
    stored = files.check_file(data, filename)
    return _save(actor, stored, IMAGE if stored.is_image else FILE)


def _save(actor: User, stored: Stored, kind: str) -> Upload:
    key = sha256(stored.data)
    existing = db.session.scalar(
        select(Upload).where(Upload.owner_id == actor.id, Upload.sha256 == key, Upload.kind == kind)
    )
    if existing is not None:
        if existing.removed_at is not None:
            raise Invalid(f"“{stored.name}” was removed by a moderator and cannot be uploaded again.", FIELD)
        return existing
    if kind != AVATAR:
        _check_quota(actor, len(stored.data), stored.name)
    upload = Upload(
        owner_id=actor.id, sha256=key, kind=kind, content_type=stored.content_type,
        extension=stored.extension, name=stored.name, size=len(stored.data),
        width=stored.width, height=stored.height,
    )  # fmt: skip
    if stored.thumbnail is not None:
        upload.thumb_sha256 = sha256(stored.thumbnail)
        upload.thumb_content_type = stored.thumbnail_type
        storage().put(upload.thumb_sha256, stored.thumbnail)
    storage().put(key, stored.data)
    try:
        with db.session.begin_nested():
            db.session.add(upload)
    except IntegrityError:  # the same member sent the same file twice at once: one upload
        return db.session.scalars(
            select(Upload).where(Upload.owner_id == actor.id, Upload.sha256 == key, Upload.kind == kind)
        ).one()
    return upload


def alt_text(alt: str | None, upload: Upload) -> str:
    """The description a reader without the picture gets; the file's name until the member writes one."""
    text = " ".join((alt or "").replace("[", "(").replace("]", ")").split())[:200]
    return text or upload.name.rsplit(".", 1)[0]


def markdown_for(upload: Upload, alt: str | None = None) -> str:
    """What the composer inserts: an image, or a download link with the file's name and size."""
    if upload.kind == IMAGE:
        return f"![{alt_text(alt, upload)}]({upload.url})"
    name = upload.name.replace("[", "(").replace("]", ")")
    return f"[{name}]({upload.url}) ({size_in_words(upload.size)})"


def attach_to_body(
    actor: User, body: str, uploads: Iterable[tuple[bytes, str | None]], alt: str | None
) -> str:
    """The composer without JavaScript: store each file and add its Markdown to the text."""
    references = [markdown_for(upload_file(actor, data, name), alt) for data, name in uploads]
    return (body.rstrip() + "\n\n" if body.strip() else "") + "\n\n".join(references)


# -- where uploads are used --------------------------------------------------------------------


def referenced_hashes(html: str) -> list[str]:
    return list(dict.fromkeys(UPLOAD_ADDRESS.findall(html or "")))


def _referenced_uploads(html: str, owner_ids: set[int]) -> list[Upload]:
    hashes = referenced_hashes(html)
    if not hashes:
        return []
    limit = current_app.config["UPLOAD_MAX_PER_POST"]
    if len(hashes) > limit:
        raise Invalid(
            f"A post or page can show at most {limit} uploaded files (this has {len(hashes)}).", "body"
        )
    return list(
        db.session.scalars(
            select(Upload).where(
                Upload.sha256.in_(hashes), Upload.owner_id.in_(owner_ids), Upload.kind != AVATAR
            )
        )
    )


def _add_uses(uploads: list[Upload], **where: int) -> None:
    if not uploads:
        return
    column = getattr(UploadUse, next(iter(where)))
    have = set(
        db.session.scalars(
            select(UploadUse.upload_id).where(
                column == next(iter(where.values())), UploadUse.upload_id.in_([u.id for u in uploads])
            )
        )
    )
    for upload in uploads:
        if upload.id not in have:
            db.session.add(UploadUse(upload_id=upload.id, **where))
    db.session.flush()


def on_post_saved(sender: User | None, *, post: Post, **_: object) -> None:
    """A post shows the uploads of its author (or of the member who edited it) that it names.

    Only their own: an image of someone else's hidden post, quoted, does not become visible.
    """
    owners = {post.author_id} | ({sender.id} if isinstance(sender, User) else set())
    _add_uses(_referenced_uploads(post.body_html, owners), post_id=post.id)


def on_wiki_page_edited(sender: User | None, *, page: object, revision: object, **_: object) -> None:
    owners = {getattr(revision, "author_id", None)} - {None}
    if isinstance(sender, User):
        owners.add(sender.id)
    html = getattr(revision, "body_html", None) or getattr(page, "body_html", "")
    _add_uses(_referenced_uploads(html, owners), wiki_page_id=page.id)  # type: ignore[attr-defined]


# -- reading -----------------------------------------------------------------------------------


def visible_upload(key: str, viewer: object) -> Upload:
    """The upload with this content hash, if `viewer` may see it (the rules of permissions.py)."""
    rows = list(db.session.scalars(select(Upload).where(Upload.sha256 == key, Upload.kind != AVATAR)))
    if rows and permissions.can_see_removed_uploads(viewer):
        return rows[0]
    live = [row for row in rows if row.removed_at is None]
    for row in live:
        if permissions.owns(viewer, row):
            return row
    if live:
        uses = list(
            db.session.scalars(select(UploadUse).where(UploadUse.upload_id.in_([r.id for r in live])))
        )
        post_ids = [use.post_id for use in uses if use.post_id is not None]
        if post_ids:
            posts = db.session.scalars(
                select(Post)
                .options(joinedload(Post.thread).joinedload(Thread.board))
                .where(Post.id.in_(post_ids))
            )
            if any(permissions.can_see_in_post(viewer, post) for post in posts):
                return live[0]
        page_ids = [use.wiki_page_id for use in uses if use.wiki_page_id is not None]
        if page_ids and permissions.can_see_in_wiki_pages(viewer, page_ids):
            return live[0]
    raise NotFound("There is no such file, or it is not yours to see.")


def avatar_upload(key: str) -> Upload:
    upload = db.session.scalar(
        select(Upload).where(Upload.sha256 == key, Upload.kind == AVATAR, Upload.removed_at.is_(None))
    )
    if upload is None:
        raise NotFound("There is no such picture.")
    return upload


def read(key: str) -> bytes:
    data = storage().get(key)
    if data is None:
        raise NotFound("This file is missing from the forum's storage.")
    return data


@dataclass(frozen=True)
class Place:
    """Where an upload shows, for its owner's list: a thread's post or a wiki page, by title."""

    post_id: int | None
    wiki_slug: str | None
    title: str


def uses_of(uploads: list[Upload], viewer: User) -> dict[int, list[Place]]:
    """Each upload's places, titled; a thread the viewer may no longer see is left untitled."""
    from forum.wiki.models import WikiPage

    found: dict[int, list[Place]] = {upload.id: [] for upload in uploads}
    if not uploads:
        return found
    ids = list(found)
    in_posts = db.session.execute(
        select(UploadUse.upload_id, Post.id, Thread)
        .join(Post, Post.id == UploadUse.post_id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(UploadUse.upload_id.in_(ids))
        .order_by(UploadUse.id)
    )
    for upload_id, post_id, thread in in_posts:
        title = thread.title if can_see_thread(viewer, thread) else "a thread you cannot see"
        found[upload_id].append(Place(post_id, None, title))
    in_pages = db.session.execute(
        select(UploadUse.upload_id, WikiPage.slug, WikiPage.title)
        .join(WikiPage, WikiPage.id == UploadUse.wiki_page_id)
        .where(UploadUse.upload_id.in_(ids))
        .order_by(UploadUse.id)
    )
    for upload_id, slug, title in in_pages:
        found[upload_id].append(Place(None, slug, f"Wiki: {title}"))
    return found


def shown_sizes(keys: list[str]) -> dict[str, tuple[int, int]]:
    """The size a post shows each image at (its thumbnail's), for the picture's place on the page."""
    box = current_app.config["UPLOAD_THUMBNAIL_SIZE"]
    rows = db.session.execute(
        select(Upload.sha256, Upload.width, Upload.height).where(
            Upload.sha256.in_(set(keys)), Upload.kind == IMAGE, Upload.width > 0, Upload.height > 0
        )
    )
    sizes = {}
    for key, width, height in rows:
        scale = min(1.0, box / width, box / height)
        sizes[key] = (max(1, round(width * scale)), max(1, round(height * scale)))
    return sizes


def member_uploads(user: User, limit: int = 200) -> list[Upload]:
    return list(
        db.session.scalars(
            select(Upload).where(Upload.owner_id == user.id).order_by(Upload.created_at.desc()).limit(limit)
        )
    )


def recent_uploads(days: int = 7, limit: int = 60) -> list[Upload]:
    """For the review queue: what members uploaded lately, newest first."""
    return list(
        db.session.scalars(
            select(Upload)
            .options(joinedload(Upload.owner))
            .where(Upload.created_at > utcnow() - timedelta(days=days), Upload.kind != AVATAR)
            .order_by(Upload.created_at.desc())
            .limit(limit)
        )
    )


def get_upload(upload_id: int) -> Upload:
    upload = db.session.get(Upload, upload_id)
    if upload is None:
        raise NotFound("There is no such upload.")
    return upload


# -- moderation --------------------------------------------------------------------------------


def remove_upload(upload: Upload, reason: str, *, actor: User) -> None:
    """Hide one file from everyone but moderators, with a reason in the audit log."""
    from forum.moderation import audit
    from forum.moderation.services import check_reason

    if not permissions.can_remove_upload(actor):
        raise Forbidden("Only moderators can remove uploads.")
    reason = check_reason(reason)
    if upload.removed_at is not None:
        raise Invalid("This file is removed already.", "reason")
    upload.removed_at, upload.removed_by_id, upload.removed_reason = utcnow(), actor.id, reason
    if upload.kind == AVATAR and upload.owner is not None and upload.owner.avatar_sha256 == upload.sha256:
        upload.owner.avatar_sha256 = None
    audit.record(
        actor, "removed upload", target_type="upload", target_id=upload.id,
        target_label=f"{upload.name} ({size_in_words(upload.size)})", reason=reason,
        affected_user=upload.owner, details=upload.url,
    )  # fmt: skip


# -- profile pictures --------------------------------------------------------------------------


def set_avatar(actor: User, data: bytes, filename: str | None) -> Upload:
    check_can_upload(actor)
    upload = _save(actor, files.make_avatar(data, filename), AVATAR)
    actor.avatar_sha256 = upload.sha256
    return upload


def clear_avatar(actor: User) -> None:
    actor.avatar_sha256 = None


# -- cleaning up -------------------------------------------------------------------------------


def cleanup(older_than: timedelta = timedelta(days=1)) -> tuple[int, int]:
    """Forget uploads never used in a post or page after `older_than`, then bytes nothing needs.

    Returns (uploads forgotten, files deleted). Profile pictures in use stay.
    """
    cutoff = utcnow() - older_than
    used = select(UploadUse.upload_id)
    avatars_in_use = select(User.avatar_sha256).where(User.avatar_sha256.is_not(None))
    orphans = list(
        db.session.scalars(
            select(Upload).where(
                Upload.created_at < cutoff,
                Upload.id.not_in(used),
                Upload.removed_at.is_(None),
                ~((Upload.kind == AVATAR) & Upload.sha256.in_(avatars_in_use)),
            )
        )
    )
    for upload in orphans:
        db.session.delete(upload)
    db.session.flush()
    needed = set(db.session.scalars(select(Upload.sha256))) | set(
        db.session.scalars(select(Upload.thumb_sha256).where(Upload.thumb_sha256.is_not(None)))
    )
    needed |= set(db.session.scalars(avatars_in_use))
    deleted = 0
    for key in storage().keys(before=cutoff) - needed:  # newer bytes may belong to an upload in flight
        storage().delete(key)
        deleted += 1
    return len(orphans), deleted
