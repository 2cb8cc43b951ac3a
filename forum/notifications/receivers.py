"""Signal receivers: features send events (forum.events), notifications listen.

Each receiver adds rows to the sender's transaction and never commits, so a rolled-back
post leaves no notification behind.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from forum import events
from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.extensions import db
from forum.notifications import notifying
from forum.notifications.models import Notification


def on_post_created(sender: User, *, post: Post, thread: Thread, is_new_thread: bool, **_: Any) -> None:
    notifying.notify_post(post, thread, actor=sender, is_new_thread=is_new_thread)


def on_post_edited(sender: User, *, post: Post, **_: Any) -> None:
    notifying.notify_post_edit(post, actor=sender)


def on_post_deleted(sender: User, *, post: Post, **_: Any) -> None:
    notifying.withdraw_for_post(post)


def on_solution_marked(sender: User, *, thread: Thread, post: Post | None, **_: Any) -> None:
    if post is not None:
        notifying.notify(post.author, "solution", actor=sender, thread=thread, post=post)


def on_post_voted(sender: User, *, post: Post, added: bool, **_: Any) -> None:
    notifying.notify_helpful(post, voter=sender, added=added)


def on_wiki_page_edited(sender: User | None, *, page: Any, revision: Any = None, **_: Any) -> None:
    notifying.notify_wiki_edit(page, editor=sender)


def on_moderation_action(sender: User | None, *, entry: Any, affected_user: User | None, **_: Any) -> None:
    """Tell members when a moderator acts on their content (never the moderator themself)."""
    post = thread = None
    if entry.target_type == "post" and entry.target_id:
        post = db.session.get(Post, entry.target_id)
        thread = post.thread if post is not None else None
    elif entry.target_type == "thread" and entry.target_id:
        thread = db.session.get(Thread, entry.target_id)
    if post is not None and not post.is_visible:
        notifying.withdraw_for_post(post)  # hidden or deleted: notices about it go from bells
    if affected_user is None or (sender is not None and sender.id == affected_user.id):
        return
    if entry.action in TOLD_ELSEWHERE or str(entry.action).startswith("lifted "):
        return  # the member hears of these in their own words (a notice, an idea's status)
    action = str(entry.action).replace("_", " ")
    detail = action + (f". Reason: {entry.reason}" if entry.reason else ".")
    notifying.notify(affected_user, "moderation", actor=None, thread=thread, post=post, detail=detail)


# Audit actions whose member is told by a friendlier notification of their own: sanctions come
# with a moderators' notice (on_notice_sent), an idea's status with on_idea_status_changed.
TOLD_ELSEWHERE = {"warned user", "silenced user", "suspended user", "set idea status"}


def on_notice_sent(sender: Any, *, user: User, notice: Any, **_: Any) -> None:
    """Moderators' notices also land in the notifications inbox (/me/notices keeps the history)."""
    notifying.notify(user, "notice", detail=str(notice.message))


def on_idea_status_changed(
    sender: User, *, thread: Thread, old_label: str, new_label: str, note: str, voter_ids: list[int], **_: Any
) -> None:
    """The idea's author and voters hear of a new status in plain words (issue #15)."""
    notifying.notify_idea_status(thread, new_label=new_label, note=note, voter_ids=voter_ids, actor=sender)


def on_badge_expiring(sender: Any, *, user: User, badge: Any, expires_at: datetime, **_: Any) -> None:
    name = getattr(badge, "name", None) or getattr(badge, "title", None) or "employee badge"
    detail = f"“{name}” expires on {expires_at:%Y-%m-%d} at {expires_at:%H:%M} UTC"
    already = db.session.scalar(
        select(Notification.id).where(
            Notification.user_id == user.id,
            Notification.kind == "badge_expiring",
            Notification.detail == detail,
        )
    )
    if already is None:
        notifying.notify(user, "badge_expiring", detail=detail)


RECEIVERS = (
    (events.post_created, on_post_created),
    (events.post_edited, on_post_edited),
    (events.post_deleted, on_post_deleted),
    (events.solution_marked, on_solution_marked),
    (events.post_voted, on_post_voted),
    (events.wiki_page_edited, on_wiki_page_edited),
    (events.moderation_action, on_moderation_action),
    (events.badge_expiring, on_badge_expiring),
    (events.notice_sent, on_notice_sent),
    (events.idea_status_changed, on_idea_status_changed),
)


def connect_receivers() -> None:
    """Subscribe to every signal (idempotent: blinker keeps one connection per receiver)."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver)
