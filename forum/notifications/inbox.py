"""The inbox: what a member's notifications say, the list and the bell's unread count,
marking read, and how long read ones are kept.

A notification row only points at content (thread, post, wiki page); what it says is worked
out when it is shown or mailed, after checking that the recipient may still see it, so a
post hidden or deleted later does not leak through an old notification.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.boards import permissions
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.errors import NotFound
from forum.extensions import db
from forum.notifications.models import GROUPED_KINDS, Notification, unread_clause
from forum.wiki.models import WikiPage

PER_PAGE = 30
# Content kinds whose post body the recipient must be able to read.
POST_KINDS = {"new_thread", "new_post", "mention", "quote", "solution", "helpful"}
# A quoted post: left out of excerpts; members named inside it are quoted (notifying).
BLOCKQUOTE = re.compile(r"<blockquote>(.*?)</blockquote>", re.DOTALL)


def can_see(user: User, *, thread: Thread | None, post: Post | None, wiki_page: WikiPage | None,
            kind: str) -> bool:  # fmt: skip
    if thread is not None and not permissions.can_see_thread(user, thread):
        return False
    if post is not None and kind in POST_KINDS and not permissions.can_see_post_body(user, post):
        return False
    return wiki_page is None or wiki_page.deleted_at is None


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
    without_quotes = BLOCKQUOTE.sub(" ", str(body_html))
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
    load_wiki_pages([row[0] for row in rows])
    return [describe(row[0], user, bool(row.unread)) for row in rows], total


def load_wiki_pages(rows: list[Notification]) -> None:
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
    load_wiki_pages([notification])
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
