"""Notifying: who hears about what. New posts (mentions, quotes, watchers), helpful votes,
ideas' status, wiki edits, and withdrawing what a removed post caused.

Grouping happens here, when notifications are created ("5 new replies in ..."), so reading
them never scans a member's history; forum.notifications.inbox says what each one means.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import case, func, literal, select, true, update

from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.markup import mentioned_usernames
from forum.notifications.delivery import wants_email
from forum.notifications.inbox import BLOCKQUOTE, can_see, refresh_unread_count
from forum.notifications.models import GROUPED_KINDS, MAX_ACTOR_IDS, Notification, unread_clause
from forum.notifications.watches import thread_level, thread_watchers, watch_by_default, watchers
from forum.wiki.models import WikiPage

# Kinds about a new post, which a visit to its thread reads (the post is then seen). Votes,
# solutions and moderators' actions are about the member's own post, which they saw long ago:
# those stay until opened or marked read.
READ_BY_VISIT = ("new_thread", "new_post", "mention", "quote")


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
    return {name for block in BLOCKQUOTE.findall(html) for name in mentioned_usernames(block)}


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
