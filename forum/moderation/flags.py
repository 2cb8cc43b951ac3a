"""Flags and the review queue: members report posts, moderators resolve them in one step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.auth.services import is_silenced, is_suspended
from forum.boards import services as boards
from forum.boards.models import Post, Thread
from forum.boards.permissions import is_moderator_of, thread_viewer
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid
from forum.extensions import db
from forum.moderation import audit
from forum.moderation.models import FLAG_OUTCOMES, FLAG_REASONS, Flag
from forum.moderation.services import check_reason, hide_post, restore_post
from forum.moderation.users import can_sanction, notify, warn_user

MAX_NOTE_LENGTH = 1000


def can_flag(user: object, post: Post) -> bool:
    """Members in good standing, on visible posts by somebody else. `user` may be a ThreadViewer."""
    viewer = thread_viewer(user, post.thread)
    return (
        viewer.can_post and post.author_id != viewer.id and post.deleted_at is None and post.hidden_at is None
    )


def flag_post(post: Post, reason: str, note: str = "", *, actor: User) -> Flag:
    """Report a post; enough distinct established members hide it pending review (not staff posts)."""
    if post.author_id == actor.id:
        raise Forbidden("You cannot flag your own post.")
    if not can_flag(actor, post):
        raise Forbidden("You cannot flag this post.")
    if reason not in FLAG_REASONS:
        raise Invalid("Choose why you flag this post.", "reason")
    note = (note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise Invalid(f"Use at most {MAX_NOTE_LENGTH} characters.", "note")
    if "\x00" in note:
        raise Invalid("The text contains a NUL character, which cannot be saved.", "note")
    if db.session.scalar(select(Flag.id).where(Flag.post_id == post.id, Flag.flagger_id == actor.id)):
        raise Conflict("You have flagged this post already; the moderators will look at it.")
    flag = Flag(post_id=post.id, flagger_id=actor.id, reason=reason, note=note)
    db.session.add(flag)
    db.session.flush()
    _maybe_auto_hide(post)
    return flag


def _in_good_standing(user: User) -> bool:
    return user.deleted_at is None and not is_silenced(user) and not is_suspended(user)


AUTO_HIDE_REASON = "Hidden after members' flags, awaiting review"


def _counts_toward_hiding(user: User) -> bool:
    """Flags hide a post only when they come from established members in good standing: three
    accounts registered seconds earlier could otherwise hide anyone's post (issue #21)."""
    from forum.moderation.antispam import is_new_account

    return _in_good_standing(user) and not is_new_account(user)


def _maybe_auto_hide(post: Post) -> None:
    """Hide a post once FLAGS_TO_HIDE established members flag it; staff posts wait for a moderator."""
    threshold = int(current_app.config["FLAGS_TO_HIDE"])
    if threshold <= 0 or post.hidden_at is not None or is_moderator_of(post.author, post.thread.board):
        return
    flaggers = db.session.scalars(
        select(User)
        .join(Flag, Flag.flagger_id == User.id)
        .where(Flag.post_id == post.id, Flag.resolved_at.is_(None))
    ).all()
    if sum(1 for user in flaggers if _counts_toward_hiding(user)) >= threshold:
        hide_post(post, AUTO_HIDE_REASON, actor=None, automatic=True)


def hold_for_review(post: Post, reason: str) -> None:
    """The forum hides a post (a new account's link-heavy post) and queues it; nothing is lost."""
    hide_post(post, reason, actor=None, automatic=True)
    db.session.add(Flag(post_id=post.id, flagger_id=None, reason="new_account", note=reason))


# -- the queue ---------------------------------------------------------------------------------


@dataclass
class QueueItem:
    post: Post
    flags: list[Flag] = field(default_factory=list)
    first_flagged_at: datetime | None = None
    author_upheld_flags: int = 0


def open_queue(viewer: User, limit: int = 50) -> list[QueueItem]:
    """Open flags grouped by post, oldest first, for the boards `viewer` moderates."""
    first = func.min(Flag.created_at).label("first")
    rows = db.session.execute(
        select(Flag.post_id, first)
        .where(Flag.resolved_at.is_(None))
        .group_by(Flag.post_id)
        .order_by(first, Flag.post_id)
    ).all()
    post_ids = [row.post_id for row in rows]
    posts = {
        post.id: post
        for post in db.session.scalars(
            select(Post)
            .options(joinedload(Post.author), joinedload(Post.thread).joinedload(Thread.board))
            .where(Post.id.in_(post_ids))
        )
    }
    items = {
        row.post_id: QueueItem(posts[row.post_id], first_flagged_at=row.first)
        for row in rows
        if is_moderator_of(viewer, posts[row.post_id].thread.board)
    }
    post_ids = list(items)[:limit]
    items = {post_id: items[post_id] for post_id in post_ids}
    for flag in db.session.scalars(
        select(Flag).options(joinedload(Flag.flagger)).where(Flag.post_id.in_(post_ids), Flag.resolved_at.is_(None))
        .order_by(Flag.created_at)
    ):  # fmt: skip
        items[flag.post_id].flags.append(flag)
    author_ids = {item.post.author_id for item in items.values()}
    upheld = dict(
        db.session.execute(
            select(Post.author_id, func.count(Flag.id))
            .join(Flag, Flag.post_id == Post.id)
            .where(Post.author_id.in_(author_ids), Flag.outcome.in_(("hide", "warn", "edit")))
            .group_by(Post.author_id)
        ).all()
    )
    for item in items.values():
        item.author_upheld_flags = upheld.get(item.post.author_id, 0)
    return list(items.values())


OUTCOME_WORDS = {
    "hide": "a moderator hid the post",
    "edit": "a moderator edited the post",
    "warn": "a moderator hid the post and warned its author",
    "dismiss": "a moderator looked at the post and left it as it is",
}


def resolve_flags(
    post: Post, outcome: str, reason: str = "", *, actor: User, new_body: str | None = None
) -> int:
    """Resolve every open flag on `post` in one step; flaggers get a notice of the outcome."""
    if not is_moderator_of(actor, post.thread.board):
        raise Forbidden("Only moderators of this board can resolve flags.")
    if outcome not in FLAG_OUTCOMES:
        raise Invalid("Choose what to do: hide, edit, warn or dismiss.", "outcome")
    flags = list(db.session.scalars(select(Flag).where(Flag.post_id == post.id, Flag.resolved_at.is_(None))))
    if not flags:
        raise Conflict("This post has no open flags; someone resolved them already.")
    held_by_forum = post.hidden_at is not None and post.hidden_by_id is None
    if outcome in ("hide", "warn"):
        reason = check_reason(reason)
        if post.hidden_at is None:
            hide_post(post, reason, actor=actor)
        else:
            post.hidden_reason, post.hidden_by_id = reason, actor.id
        if outcome == "warn":
            if not can_sanction(actor, post.author):
                raise Forbidden("You cannot warn this member.")
            warn_user(post.author, reason, actor=actor)
    elif outcome == "edit":
        if new_body is None or not new_body.strip():
            raise Invalid("Write the corrected text.", "body")
        boards.edit_post(post, new_body, actor=actor)
        if held_by_forum:
            restore_post(post, "Edited by a moderator", actor=actor)
    else:
        reason = check_reason(reason, required=False)
        if held_by_forum:
            restore_post(post, reason or "Flags dismissed", actor=actor)
    now = utcnow()
    for flag in flags:
        flag.resolved_at, flag.resolved_by_id, flag.outcome = now, actor.id, outcome
    audit.record(
        actor, f"resolved flags: {outcome}", target_type="post", target_id=post.id,
        target_label=post.thread.title, reason=reason, board_id=post.thread.board_id,
        affected_user=post.author, details=f"{len(flags)} flag(s)",
    )  # fmt: skip
    for flag in flags:
        if flag.flagger is not None:
            notify(
                flag.flagger, "flag_outcome",
                f"Thank you for flagging a post in “{post.thread.title}”: {OUTCOME_WORDS[outcome]}.",
                subject="The outcome of your flag",
            )  # fmt: skip
    return len(flags)


def open_queue_count(viewer: User) -> int:
    """How many posts wait in `viewer`'s review queue (the header shows it to moderators)."""
    query = select(func.count(func.distinct(Flag.post_id))).where(Flag.resolved_at.is_(None))
    if not viewer.is_moderator:
        from forum.moderation.scopes import moderated_board_ids

        query = (
            query.join(Post, Post.id == Flag.post_id)
            .join(Thread, Thread.id == Post.thread_id)
            .where(Thread.board_id.in_(moderated_board_ids(viewer)))
        )
    return db.session.scalar(query) or 0
