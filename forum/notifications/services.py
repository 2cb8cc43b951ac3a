"""Watching and notifications: who hears about what, the unread count, and when mail goes out.

A notification row only points at content (thread, post, wiki page); what it says is worked
out when it is shown or mailed, after checking that the recipient may still see it, so a
post hidden or deleted later does not leak through an old notification.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.boards import permissions
from forum.boards.models import Board, Post, Thread
from forum.db import utcnow
from forum.errors import Invalid, NotFound
from forum.extensions import db
from forum.markup import mentioned_usernames
from forum.notifications.models import EMAIL_MODES, WATCH_LEVELS, WATCH_TARGETS, Notification, Watch
from forum.wiki.models import WikiPage

PER_PAGE = 30
# Content kinds whose post body the recipient must be able to read.
POST_KINDS = {"new_thread", "new_post", "mention", "quote", "solution", "helpful"}
_BLOCKQUOTE = re.compile(r"<blockquote>(.*?)</blockquote>", re.DOTALL)


# -- watching ---------------------------------------------------------------------------------


def watch_level(user: Any, target_type: str, target_id: int) -> str | None:
    """The level the member chose for this target, or None (never chosen)."""
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Watch.level).where(
            Watch.user_id == user.id, Watch.target_type == target_type, Watch.target_id == target_id
        )
    )


def thread_level(user: User, thread: Thread) -> str:
    """The effective level for a thread: its own watch, else its board's, else normal."""
    rows = dict(
        db.session.execute(
            select(Watch.target_type, Watch.level).where(
                Watch.user_id == user.id,
                or_(
                    (Watch.target_type == "thread") & (Watch.target_id == thread.id),
                    (Watch.target_type == "board") & (Watch.target_id == thread.board_id),
                ),
            )
        ).all()
    )
    return rows.get("thread") or rows.get("board") or "normal"


def _watch_target(target_type: str, target_id: int, actor: User) -> Thread | Board | WikiPage:
    """The thread, board or wiki page to watch, if the member can see it."""
    if target_type not in WATCH_TARGETS:
        raise NotFound("There is nothing like that to watch.")
    model = {"thread": Thread, "board": Board, "wiki": WikiPage}[target_type]
    target = db.session.get(model, target_id)
    if target is None:
        raise NotFound(f"There is no such {target_type}.")
    if isinstance(target, Thread) and not permissions.can_see_thread(actor, target):
        raise NotFound("There is no such thread; it may have been removed.")
    if isinstance(target, WikiPage) and target.deleted_at is not None:
        raise NotFound("There is no such wiki page; it may have been removed.")
    return target


def set_watch(target_type: str, target_id: int, level: str, *, actor: User) -> Thread | Board | WikiPage:
    """Choose how closely `actor` follows a thread, board or wiki page; returns the target."""
    if level not in WATCH_LEVELS:
        raise Invalid(f"Choose one of: {', '.join(WATCH_LEVELS)}.", "level")
    target = _watch_target(target_type, target_id, actor)
    watch = db.session.scalar(
        select(Watch).where(
            Watch.user_id == actor.id, Watch.target_type == target_type, Watch.target_id == target_id
        )
    )
    if watch is None:
        db.session.add(Watch(user_id=actor.id, target_type=target_type, target_id=target_id, level=level))
    else:
        watch.level = level
    db.session.flush()
    return target


def watch_by_default(user: User, target_type: str, target_id: int) -> None:
    """Watch what the member just wrote in, unless they chose a level for it before."""
    if not user.watch_on_post or watch_level(user, target_type, target_id) is not None:
        return
    db.session.add(Watch(user_id=user.id, target_type=target_type, target_id=target_id, level="watching"))
    db.session.flush()


def watchers(target_type: str, target_id: int, level: str = "watching") -> list[int]:
    return list(
        db.session.scalars(
            select(Watch.user_id).where(
                Watch.target_type == target_type, Watch.target_id == target_id, Watch.level == level
            )
        )
    )


def thread_watchers(thread: Thread) -> list[int]:
    """Who watches the thread itself, or its board without choosing another level for the thread."""
    on_thread = watchers("thread", thread.id)
    chose_thread = set(
        db.session.scalars(
            select(Watch.user_id).where(Watch.target_type == "thread", Watch.target_id == thread.id)
        )
    )
    on_board = [uid for uid in watchers("board", thread.board_id) if uid not in chose_thread]
    return list(dict.fromkeys(on_thread + on_board))


# -- creating notifications -------------------------------------------------------------------


def wants_email(user: User) -> bool:
    """Only confirmed addresses get notification mail (issue #7)."""
    return bool(user.email and user.email_confirmed_at is not None and user.notify_email != "never")


def can_see(user: User, *, thread: Thread | None, post: Post | None, wiki_page: WikiPage | None,
            kind: str) -> bool:  # fmt: skip
    if thread is not None and not permissions.can_see_thread(user, thread):
        return False
    if post is not None and kind in POST_KINDS and not permissions.can_see_post_body(user, post):
        return False
    return wiki_page is None or wiki_page.deleted_at is None


def notify(
    user: User,
    kind: str,
    *,
    actor: User | None = None,
    thread: Thread | None = None,
    post: Post | None = None,
    wiki_page: WikiPage | None = None,
    detail: str = "",
) -> Notification | None:
    """Add one notification, unless it would go to the actor, a deleted account, or about
    content the recipient cannot see. The caller commits."""
    rows = notify_many(
        [user], kind, actor=actor, thread=thread, post=post, wiki_page=wiki_page, detail=detail
    )
    return rows[0] if rows else None


def notify_many(
    users: Iterable[User],
    kind: str,
    *,
    actor: User | None = None,
    thread: Thread | None = None,
    post: Post | None = None,
    wiki_page: WikiPage | None = None,
    detail: str = "",
) -> list[Notification]:
    """One notification each for distinct `users`, with the rules of notify().

    One INSERT for all rows and one UPDATE for the unread counters, so a post in a board
    with hundreds of watchers stays a few statements.
    """
    if thread is None and post is not None:
        thread = post.thread
    now = utcnow()
    rows = [
        Notification(
            user_id=user.id,
            kind=kind,
            actor_id=actor.id if actor else None,
            thread_id=thread.id if thread else None,
            post_id=post.id if post else None,
            wiki_page_id=wiki_page.id if wiki_page else None,
            detail=detail[:600],
            created_at=now,
            email_pending=wants_email(user),
        )
        for user in users
        if user.deleted_at is None
        and (actor is None or actor.id != user.id)
        and (kind == "moderation" or can_see(user, thread=thread, post=post, wiki_page=wiki_page, kind=kind))
    ]
    if not rows:
        return []
    db.session.add_all(rows)
    db.session.flush()
    return rows


def quoted_usernames(html: str) -> set[str]:
    """Members mentioned inside a quote ("> @ann wrote: ...") are quoted, not just mentioned."""
    return {name for block in _BLOCKQUOTE.findall(html) for name in mentioned_usernames(block)}


def users_named(names: list[str]) -> list[User]:
    if not names:
        return []
    return list(db.session.scalars(select(User).where(User.username.in_(names), User.deleted_at.is_(None))))


def notify_post(post: Post, thread: Thread, *, actor: User, is_new_thread: bool) -> int:
    """A new post: mentions and quotes, then everyone watching the thread or its board."""
    if actor.watch_on_post:
        watch_by_default(actor, "thread", thread.id)
    sent = _notify_mentions(post, thread, actor=actor)
    kind = "new_thread" if is_new_thread else "new_post"
    ids = [uid for uid in thread_watchers(thread) if uid != actor.id and uid not in sent]
    if ids:
        users = db.session.scalars(select(User).where(User.id.in_(ids))).all()
        sent.update(row.user_id for row in notify_many(users, kind, actor=actor, thread=thread, post=post))
    return len(sent)


def _notify_mentions(post: Post, thread: Thread, *, actor: User) -> set[int]:
    """Mention and quote notifications for a post; skips people already told about it."""
    names = mentioned_usernames(post.body_html)
    if not names:
        return set()
    quoted = quoted_usernames(post.body_html)
    already = set(
        db.session.scalars(
            select(Notification.user_id).where(
                Notification.post_id == post.id, Notification.kind.in_(("mention", "quote"))
            )
        )
    )
    sent: set[int] = set()
    for user in users_named(names):
        if user.id in already or user.id == actor.id or thread_level(user, thread) == "muted":
            continue
        kind = "quote" if user.username in quoted else "mention"
        if notify(user, kind, actor=actor, thread=thread, post=post):
            sent.add(user.id)
    return sent


def notify_post_edit(post: Post, *, actor: User) -> int:
    """People newly mentioned by an edit hear about it; watchers do not (edits are quiet)."""
    return len(_notify_mentions(post, post.thread, actor=actor))


def notify_helpful(post: Post, *, voter: User, added: bool) -> None:
    """Helpful votes batch into one unread notification per post ("3 people found...")."""
    author = post.author
    if author.id == voter.id:
        return
    pending = db.session.scalar(
        select(Notification).where(
            Notification.user_id == author.id,
            Notification.kind == "helpful",
            Notification.post_id == post.id,
            Notification.read_at.is_(None),
            Notification.emailed_at.is_(None),
        )
    )
    if not added:
        if pending is not None:
            pending.count -= 1
            if pending.count <= 0:
                db.session.delete(pending)
                db.session.flush()
                refresh_unread_count(author)
        return
    if pending is None:
        notify(author, "helpful", actor=voter, post=post)
    else:
        pending.count += 1
        pending.actor_id = voter.id
        db.session.flush()


def notify_wiki_edit(page: WikiPage, *, editor: User | None) -> int:
    if editor is not None and editor.watch_on_post:
        watch_by_default(editor, "wiki", page.id)
    ids = [uid for uid in watchers("wiki", page.id) if editor is None or uid != editor.id]
    if not ids:
        return 0
    users = db.session.scalars(select(User).where(User.id.in_(ids))).all()
    return len(notify_many(users, "wiki_edit", actor=editor, wiki_page=page))


def withdraw_for_post(post: Post) -> int:
    """A post was deleted or hidden: drop the unread notifications that point at it.

    Moderation notices stay (they tell the author what happened to their post). Rows that
    remain are re-checked whenever shown or mailed, so nothing leaks either way.
    """
    rows = list(
        db.session.scalars(
            select(Notification).where(
                Notification.post_id == post.id,
                Notification.read_at.is_(None),
                Notification.kind != "moderation",
            )
        )
    )
    for row in rows:
        db.session.delete(row)
    db.session.flush()  # the bells count the rows, so they are right at once
    return len(rows)


# -- reading ----------------------------------------------------------------------------------


@dataclass
class Shown:
    """A notification as its recipient may see it: text and link, or a placeholder."""

    notification: Notification
    text: str
    url: str | None
    excerpt: str


def _title(thread: Thread | None) -> str:
    return f"“{thread.title}”" if thread is not None else "a thread"


def describe(notification: Notification, viewer: User) -> Shown:
    """What a notification says to `viewer`, re-checking that the content is still visible."""
    n = notification
    actor = n.actor.name if n.actor is not None else "Someone"
    thread = n.thread
    post = n.post
    page = db.session.get(WikiPage, n.wiki_page_id) if n.wiki_page_id else None
    if n.kind == "badge_expiring":
        return Shown(n, f"Your employee badge {n.detail}. Ask an administrator to renew it.", None, "")
    if n.kind == "moderation":
        visible = thread is not None and permissions.can_see_thread(viewer, thread)
        url = (post.url if post is not None else thread.url) if visible and thread is not None else None
        if thread is None:
            return Shown(n, f"A moderator took an action concerning you: {n.detail}", url, "")
        where = f" in {_title(thread)}" if visible else ""
        return Shown(n, f"A moderator acted on your content{where}: {n.detail}", url, "")
    if not can_see(viewer, thread=thread, post=post, wiki_page=page, kind=n.kind):
        return Shown(n, "This notification is about content that is no longer available.", None, "")
    excerpt = _excerpt(post.body_source) if post is not None and n.kind != "helpful" else ""
    title = _title(thread)
    texts = {
        "new_thread": f"{actor} started {title}" + (f" in {thread.board.name}" if thread else ""),
        "new_post": f"{actor} replied in {title}",
        "mention": f"{actor} mentioned you in {title}",
        "quote": f"{actor} quoted you in {title}",
        "solution": f"{actor} chose your reply as the solution to {title}",
        "helpful": (
            f"{n.count} people found your post in {title} helpful"
            if n.count > 1
            else f"{actor} found your post in {title} helpful"
        ),
        "wiki_edit": f"{actor} edited the wiki page “{page.title if page else ''}”",
    }
    url = page.url if page is not None else (post.url if post is not None else thread.url if thread else None)
    return Shown(n, texts.get(n.kind, "Something happened"), url, excerpt)


def _excerpt(source: str, length: int = 200) -> str:
    text = " ".join(source.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def list_notifications(user: User, page: int) -> list[Shown]:
    rows = db.session.scalars(
        select(Notification)
        .options(
            joinedload(Notification.actor),
            joinedload(Notification.post),
            joinedload(Notification.thread).joinedload(Thread.board),
        )
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    _load_wiki_pages(list(rows))
    return [describe(n, user) for n in rows]


def _load_wiki_pages(rows: list[Notification]) -> None:
    """One query for the wiki pages of a list, so describe() finds them in the session."""
    ids = {n.wiki_page_id for n in rows if n.wiki_page_id}
    if ids:
        db.session.scalars(select(WikiPage).where(WikiPage.id.in_(ids))).all()


def count_notifications(user: User) -> int:
    return db.session.scalar(select(func.count()).where(Notification.user_id == user.id)) or 0


def refresh_unread_count(user: User) -> None:
    """The bell's count is computed from the rows: reload it after they change."""
    db.session.flush()
    db.session.expire(user, ["unread_notification_count"])


def mark_read(notification_id: int, *, actor: User) -> Notification:
    """Mark one of the actor's notifications read; anyone else's is "not found"."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.id:
        raise NotFound("There is no such notification.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        refresh_unread_count(actor)
    return notification


def mark_all_read(*, actor: User) -> int:
    changed = db.session.execute(
        update(Notification)
        .where(Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount
    db.session.expire(actor, ["unread_notification_count"])
    return changed or 0


def update_preferences(user: User, *, notify_email: str, watch_on_post: bool) -> None:
    if notify_email not in EMAIL_MODES:
        raise Invalid(f"Choose one of: {', '.join(EMAIL_MODES)}.", "notify_email")
    user.notify_email = notify_email
    user.watch_on_post = watch_on_post
    if notify_email == "never":
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.email_pending.is_(True))
            .values(email_pending=False)
        )


def unsubscribe(user: User) -> None:
    """The one-click unsubscribe: no more notification mail (account mail still works)."""
    update_preferences(user, notify_email="never", watch_on_post=user.watch_on_post)


def delete_old_read(before: datetime) -> int:
    return (
        db.session.execute(
            delete(Notification).where(Notification.read_at.is_not(None), Notification.read_at < before)
        ).rowcount
        or 0
    )


# -- mail -------------------------------------------------------------------------------------


def email_delay() -> timedelta:
    return timedelta(seconds=int(current_app.config["NOTIFICATION_EMAIL_DELAY"]))


def _claim_pending(user: User, now: datetime) -> list[Notification]:
    """Take the user's pending notifications for one mail.

    The UPDATE ... RETURNING claims the rows atomically, so two drains running at once
    (cron and an app worker) never mail the same notification twice.
    """
    ids = list(
        db.session.scalars(
            update(Notification)
            .where(Notification.user_id == user.id, Notification.email_pending.is_(True))
            .values(email_pending=False, emailed_at=now)
            .returning(Notification.id)
        )
    )
    if not ids:
        return []
    rows = list(
        db.session.scalars(
            select(Notification)
            .options(
                joinedload(Notification.actor), joinedload(Notification.post), joinedload(Notification.thread)
            )
            .where(Notification.id.in_(ids))
            .order_by(Notification.created_at, Notification.id)
            .execution_options(populate_existing=True)
        )
    )
    _load_wiki_pages(rows)
    return rows


def _mail_batch(user: User, mode: str, now: datetime) -> bool:
    """Mail the user's pending notifications (unread, still visible) in one message."""
    from forum.notifications import mailer

    pending = _claim_pending(user, now)
    shown = [describe(n, user) for n in pending if n.read_at is None]
    shown = [item for item in shown if item.url is not None or item.notification.kind == "badge_expiring"]
    if not shown or not wants_email(user):
        return False
    mailer.queue_notifications_mail(user, shown, digest=(mode == "digest"))
    return True


def send_immediate_batches(now: datetime | None = None) -> int:
    """Mail everyone whose oldest pending notification waited the batching delay.

    Waiting a few minutes (NOTIFICATION_EMAIL_DELAY) lets a busy thread send one mail with
    every new post rather than one mail per post. Commits per recipient.
    """
    now = now or utcnow()
    user_ids = list(
        db.session.scalars(
            select(Notification.user_id)
            .join(User, User.id == Notification.user_id)
            .where(Notification.email_pending.is_(True), User.notify_email != "digest")
            .group_by(Notification.user_id)
            .having(func.min(Notification.created_at) <= now - email_delay())
        )
    )
    mailed = 0
    for user_id in user_ids:
        user = db.session.get(User, user_id)
        if user is not None and _mail_batch(user, "immediate", now):
            mailed += 1
        db.session.commit()
    return mailed


def send_digests(now: datetime | None = None) -> int:
    """Daily digests for members who chose them; run once a day (cron). Commits per recipient."""
    now = now or utcnow()
    interval = timedelta(seconds=int(current_app.config["NOTIFICATION_DIGEST_INTERVAL"]))
    users = list(
        db.session.scalars(
            select(User)
            .where(
                User.notify_email == "digest",
                or_(User.last_digest_at.is_(None), User.last_digest_at <= now - interval),
                User.id.in_(select(Notification.user_id).where(Notification.email_pending.is_(True))),
            )
            .order_by(User.id)
        )
    )
    mailed = 0
    for user in users:
        if _mail_batch(user, "digest", now):
            user.last_digest_at = now
            mailed += 1
        db.session.commit()
    return mailed
