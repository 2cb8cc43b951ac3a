"""Watching and notifications: who hears about what, the unread count, and when mail goes out.

A notification row only points at content (thread, post, wiki page); what it says is worked
out when it is shown or mailed, after checking that the recipient may still see it, so a
post hidden or deleted later does not leak through an old notification.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import nh3
from flask import current_app
from sqlalchemy import case, delete, func, literal, or_, select, true, update
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.boards import permissions
from forum.boards.models import Board, Post, Thread
from forum.db import utcnow
from forum.errors import Invalid, NotFound
from forum.extensions import db
from forum.markup import mentioned_usernames
from forum.notifications.models import (
    EMAIL_MODES,
    GROUPED_KINDS,
    MAX_ACTOR_IDS,
    WATCH_LEVELS,
    WATCH_TARGETS,
    Notification,
    Watch,
    unread_clause,
)
from forum.wiki.models import WikiPage

PER_PAGE = 30
# Content kinds whose post body the recipient must be able to read.
POST_KINDS = {"new_thread", "new_post", "mention", "quote", "solution", "helpful"}
# Kinds about a new post, which a visit to its thread reads (the post is then seen). Votes,
# solutions and moderators' actions are about the member's own post, which they saw long ago:
# those stay until opened or marked read.
READ_BY_VISIT = ("new_thread", "new_post", "mention", "quote")
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
    if level not in WATCH_LEVELS or (level == "affected" and target_type != "thread"):
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
) -> bool:
    """Tell one member, unless it would go to the actor, a deleted account, or about content
    the recipient cannot see; True if they were told. The caller commits."""
    return bool(
        notify_many([user], kind, actor=actor, thread=thread, post=post, wiki_page=wiki_page, detail=detail)
    )


def notify_many(
    users: Iterable[User],
    kind: str,
    *,
    actor: User | None = None,
    thread: Thread | None = None,
    post: Post | None = None,
    wiki_page: WikiPage | None = None,
    detail: str = "",
) -> set[int]:
    """Tell each of the distinct `users` (returns their ids): one notification each for distinct `users`, with the rules of notify().

    Kinds in GROUPED_KINDS join the member's unread row for the same thread and kind when
    there is one ("5 new replies in ..."): grouping happens here, when notifications are
    created, so reading them never scans a member's history (issue #15). One UPDATE for the
    grouped rows and one INSERT for the rest, so a post in a board with hundreds of
    watchers stays a few statements.
    """
    if thread is None and post is not None:
        thread = post.thread
    now = utcnow()
    recipients = [
        user
        for user in dict.fromkeys(users)
        if user.deleted_at is None
        and (actor is None or actor.id != user.id)
        and (
            kind in ("moderation", "notice")
            or can_see(user, thread=thread, post=post, wiki_page=wiki_page, kind=kind)
        )
    ]
    if not recipients:
        return set()
    grouped: set[int] = set()
    if kind in GROUPED_KINDS and thread is not None and post is not None and actor is not None:
        grouped = _join_groups(recipients, kind, actor=actor, thread=thread, post=post, now=now)
    rows = [
        Notification(
            user_id=user.id,
            kind=kind,
            actor_id=actor.id if actor else None,
            actor_ids=str(actor.id) if actor else "",
            thread_id=thread.id if thread else None,
            post_id=post.id if post else None,
            first_post_id=post.id if post else None,
            post_position=post.position if post is not None and kind in READ_BY_VISIT else None,
            wiki_page_id=wiki_page.id if wiki_page else None,
            detail=detail[:600],
            created_at=now,
            updated_at=now,
            email_pending=wants_email(user),
        )
        for user in recipients
        if user.id not in grouped
    ]
    if rows:
        db.session.add_all(rows)
        db.session.flush()
    return grouped | {row.user_id for row in rows}


def _join_groups(recipients: list[User], kind: str, *, actor: User, thread: Thread, post: Post,
                 now: datetime) -> set[int]:  # fmt: skip
    """Add `post` to the recipients' unread rows of this thread and kind; returns whose took it."""
    ids_text = literal(",") + Notification.actor_ids + literal(",")
    new_actor = ~ids_text.contains(f",{actor.id},", autoescape=True)
    longer = literal(f"{actor.id},") + Notification.actor_ids
    wanting = [user.id for user in recipients if wants_email(user)]
    statement = (
        update(Notification)
        .where(
            Notification.user_id.in_([user.id for user in recipients]),
            Notification.thread_id == thread.id,
            Notification.kind == kind,
            unread_clause(),
        )
        .values(
            count=Notification.count + 1,
            actor2_id=case(
                (Notification.actor_id != actor.id, Notification.actor_id), else_=Notification.actor2_id
            ),
            actor_id=actor.id,
            actor_count=Notification.actor_count + case((new_actor, 1), else_=0),
            actor_ids=case(
                (new_actor & (func.length(longer) <= MAX_ACTOR_IDS), longer), else_=Notification.actor_ids
            ),
            post_id=post.id,
            post_position=post.position,
            updated_at=now,
            email_pending=case(
                (Notification.user_id.in_(wanting or [-1]), true()), else_=Notification.email_pending
            ),
        )
        .returning(Notification.user_id)
        .execution_options(synchronize_session=False)
    )
    return set(db.session.scalars(statement))


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
        sent.update(notify_many(users, kind, actor=actor, thread=thread, post=post))
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
            unread_clause(),
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
        pending.updated_at = utcnow()
        db.session.flush()


IDEA_STATUS_WORDS = {
    "Under review": "is being looked at",
    "Planned": "is planned",
    "In progress": "is being worked on",
    "Done": "is done",
    "Declined": "was declined",
    "New": "is open again",
}


def idea_status_text(title: str, new_label: str, note: str, *, own: bool) -> str:
    """ "Good news: your idea “X” is planned." in words a member would use, with the note."""
    happened = IDEA_STATUS_WORDS.get(new_label, f"is now {new_label.lower()}")
    opening = "Good news: " if new_label in ("Planned", "In progress", "Done") else ""
    whose = f"your idea “{title}”" if own else f"“{title}”, an idea you voted for,"
    text = f"{opening}{whose} {happened}."
    text = text[0].upper() + text[1:]
    return f"{text} {note}" if note else text


def notify_idea_status(
    thread: Thread, *, new_label: str, note: str, voter_ids: list[int], actor: User | None,
    extra_ids: Iterable[int] = (),
) -> int:  # fmt: skip
    """Tell an idea's author and voters (and `extra_ids`: other members it affects) of its new status."""
    author = thread.author
    told = 0
    if notify(author, "idea_status", actor=actor, thread=thread,
              detail=idea_status_text(thread.title, new_label, note, own=True)):  # fmt: skip
        told += 1
    others = [uid for uid in dict.fromkeys([*voter_ids, *extra_ids]) if uid != author.id]
    if others:
        users = db.session.scalars(select(User).where(User.id.in_(others))).all()
        detail = idea_status_text(thread.title, new_label, note, own=False)
        told += len(notify_many(users, "idea_status", actor=actor, thread=thread, detail=detail))
    return told


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
                unread_clause(),
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
    unread: bool = False
    # True when following the link reads it (a thread visit); else the page offers "Open",
    # a POST that marks it read on the way.
    read_by_visit: bool = False


def _title(thread: Thread | None) -> str:
    return f"“{thread.title}”" if thread is not None else "a thread"


def _name(user: User | None) -> str:
    return user.name if user is not None else "a former member"


def _actors(n: Notification) -> str:
    """ "Tom", "Tom and Priya", "Tom, Priya and 3 others": newest first."""
    first = _name(n.actor) if n.actor_id is not None or n.actor is not None else "Someone"
    if n.actor_count <= 1 or n.actor2_id is None:
        return first
    second = _name(n.actor2)
    others = n.actor_count - 2
    if others <= 0:
        return f"{first} and {second}"
    return f"{first}, {second} and {others} other{'s' if others != 1 else ''}"


def describe(notification: Notification, viewer: User, unread: bool | None = None) -> Shown:
    """What a notification says to `viewer`, re-checking that the content is still visible."""
    n = notification
    unread = (n.read_at is None) if unread is None else unread
    actor = n.actor.name if n.actor is not None else "Someone"
    thread = n.thread
    post = n.post
    page = db.session.get(WikiPage, n.wiki_page_id) if n.wiki_page_id else None
    if n.kind == "badge_expiring":
        return Shown(
            n, f"Your employee badge {n.detail}. Ask an administrator to renew it.", None, "", unread
        )
    if n.kind == "notice":
        return Shown(n, f"A notice from the moderators: {n.detail}", "/me/notices", "", unread)
    if n.kind == "moderation":
        visible = thread is not None and permissions.can_see_thread(viewer, thread)
        url = (post.url if post is not None else thread.url) if visible and thread is not None else None
        if thread is None:
            return Shown(n, f"A moderator took an action concerning you: {n.detail}", url, "", unread)
        where = f" in {_title(thread)}" if visible else ""
        return Shown(n, f"A moderator acted on your content{where}: {n.detail}", url, "", unread)
    if not can_see(viewer, thread=thread, post=post, wiki_page=page, kind=n.kind):
        return Shown(n, "This notification is about content that is no longer available.", None, "", unread)
    if n.kind == "idea_status":
        return Shown(n, n.detail, thread.url if thread else None, "", unread, read_by_visit=False)
    excerpt = plain_excerpt(post.body_html) if post is not None and n.kind != "helpful" else ""
    title = _title(thread)
    many = n.count > 1
    texts = {
        "new_thread": f"{actor} started {title}" + (f" in {thread.board.name}" if thread else ""),
        "new_post": f"{n.count} new replies in {title} by {_actors(n)}"
        if many
        else f"{actor} replied in {title}",
        "mention": (
            f"{_actors(n)} mentioned you {n.count} times in {title}"
            if many
            else f"{actor} mentioned you in {title}"
        ),
        "quote": f"{_actors(n)} quoted you {n.count} times in {title}"
        if many
        else f"{actor} quoted you in {title}",
        "solution": f"{actor} chose your reply as the solution to {title}",
        "helpful": (
            f"{n.count} people found your post in {title} helpful"
            if many
            else f"{actor} found your post in {title} helpful"
        ),
        "wiki_edit": f"{actor} edited the wiki page “{page.title if page else ''}”",
        # -- known (issue #17) --: progress on a problem the member is affected by.
        "known_update": f"Known issue {title}: {n.detail}",
        "known_solved": f"{title}, which affects you, is solved",
    }
    if page is not None:
        url = page.url
    elif n.first_post_id is not None and n.kind in GROUPED_KINDS:
        url = f"/p/{n.first_post_id}"  # the first post the group told about: the first unread
    else:
        url = post.url if post is not None else thread.url if thread else None
    by_visit = thread is not None and n.post_position is not None
    return Shown(n, texts.get(n.kind, "Something happened"), url, excerpt, unread, by_visit)


def plain_excerpt(body_html: str, length: int = 200) -> str:
    """The start of a post as plain text, from its stored (sanitized) HTML: no Markdown marks,
    no tags, quotes of other posts left out (issue #15)."""
    without_quotes = _BLOCKQUOTE.sub(" ", str(body_html))
    text = " ".join(html.unescape(nh3.clean(without_quotes, tags=set())).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _list_statement(user: User, page: int) -> Any:
    """The page's notifications with whether each is unread and the member's total, in one statement."""
    return (
        select(Notification, unread_clause().label("unread"), func.count().over().label("total"))
        .options(
            joinedload(Notification.actor),
            joinedload(Notification.actor2),
            joinedload(Notification.post),
            joinedload(Notification.thread).joinedload(Thread.board),
        )
        .where(Notification.user_id == user.id)
        .order_by(Notification.updated_at.desc(), Notification.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )


def list_notifications(user: User, page: int) -> tuple[list[Shown], int]:
    """One page of the member's notifications, newest change first, and how many they have.

    Two statements whatever the number of notifications (three when the page has wiki edits).
    """
    rows = db.session.execute(_list_statement(user, page)).unique().all()
    total = rows[0].total if rows else (count_notifications(user) if page > 1 else 0)
    _load_wiki_pages([row[0] for row in rows])
    return [describe(row[0], user, bool(row.unread)) for row in rows], total


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


def open_notification(notification_id: int, *, actor: User) -> str:
    """Mark one of the actor's notifications read and say where it leads (its first unread post)."""
    notification = mark_read(notification_id, actor=actor)
    _load_wiki_pages([notification])
    shown = describe(notification, actor)
    return shown.url or "/notifications"


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


def prune_read(before: datetime) -> int:
    """Delete read notifications last changed before `before` (the retention policy: README,
    `flask notifications prune`). Unread ones are kept, however old."""
    return (
        db.session.execute(
            delete(Notification)
            .where(Notification.updated_at < before, ~unread_clause())
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


# -- mail -------------------------------------------------------------------------------------


def email_delay() -> timedelta:
    return timedelta(seconds=int(current_app.config["NOTIFICATION_EMAIL_DELAY"]))


def _claim_pending(user: User, now: datetime) -> list[tuple[Notification, bool]]:
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
    rows = [
        (row[0], bool(row[1]))
        for row in db.session.execute(
            select(Notification, unread_clause())
            .options(
                joinedload(Notification.actor),
                joinedload(Notification.actor2),
                joinedload(Notification.post),
                joinedload(Notification.thread),
            )
            .where(Notification.id.in_(ids))
            .order_by(Notification.created_at, Notification.id)
            .execution_options(populate_existing=True)
        )
    ]
    _load_wiki_pages([row for row, _ in rows])
    return rows


def _mail_batch(user: User, mode: str, now: datetime) -> bool:
    """Mail the user's pending notifications (unread, still visible) in one message."""
    from forum.notifications import mailer

    pending = _claim_pending(user, now)
    shown = [describe(n, user, unread) for n, unread in pending if unread]
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
