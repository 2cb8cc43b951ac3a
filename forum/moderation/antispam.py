"""Limits for new accounts (Discourse's trust level 0), checked on everything they write.

A new account is one younger than NEW_ACCOUNT_HOURS or with fewer than NEW_ACCOUNT_POSTS
posts. Too many images or mentions, or posting too fast, refuses the post with a message
(the typed text is kept by the form); too many links holds the post for review instead, so
a real customer's answer is never lost. The same rules hold for edits (issue #21: harmless
text edited into six links, four images and six mentions was accepted): an edit counts the
mentions of every earlier version of the post too, so editing cannot reach more people than
posting could. A wiki revision may not add more than the limits to the page (a revision
cannot wait in a queue, so too many links are refused there).
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.errors import Invalid, TooManyRequests
from forum.extensions import db

MENTION = re.compile(r"(?<![\w@/])@([a-z0-9_]{3,30})\b", re.IGNORECASE)
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def is_new_account(user: User, *, posts_before: int | None = None) -> bool:
    if user.is_moderator or user.moderated_board_count:
        return False
    config = current_app.config
    young = user.created_at > utcnow() - timedelta(hours=config["NEW_ACCOUNT_HOURS"])
    posts = user.post_count if posts_before is None else posts_before
    return young or posts < config["NEW_ACCOUNT_POSTS"]


def count_links(html: str) -> int:
    return html.count("<a ")


_EXTERNAL_LINK = re.compile(r'<a href="(https?://[^"]*)"')
_IMAGE = re.compile(r'<img [^>]*src="([^"]*)"')


def count_images(html: str) -> int:
    return html.count("<img ")


def mentioned_names(source: str) -> set[str]:
    return {name.lower() for name in MENTION.findall(CODE.sub("", source))}


def count_mentions(source: str) -> int:
    return len(mentioned_names(source))


def _refuse_images(html: str, already: str | None = None) -> None:
    """Too many images in `html` (those also in the `already` HTML do not count)."""
    limit = current_app.config["NEW_ACCOUNT_MAX_IMAGES"]
    images = (
        len(set(_IMAGE.findall(html)) - set(_IMAGE.findall(already)))
        if already is not None
        else count_images(html)
    )
    if images > limit:
        raise Invalid(
            f"New members can include at most {limit} image(s) per post (this has {images}).", "body"
        )


def _refuse_mentions(count: int, *, edited: bool = False) -> None:
    limit = current_app.config["NEW_ACCOUNT_MAX_MENTIONS"]
    if count > limit:
        earlier = ", counting the people its earlier versions mentioned" if edited else ""
        raise Invalid(
            f"New members can mention at most {limit} people per post (this has {count}{earlier}).", "body"
        )


def _seconds_since_last(user: User, post: Post, *, threads: bool) -> float | None:
    query = select(func.max(Post.created_at)).where(Post.author_id == user.id, Post.id != post.id)
    if threads:
        query = query.join(Thread, Post.thread_id == Thread.id).where(
            Post.position == 1, Thread.author_id == user.id
        )
    else:
        query = query.where(Post.position > 1)
    last = db.session.scalar(query)
    return None if last is None else (post.created_at - last).total_seconds()


def check_new_post(sender: User, *, post: Post, thread: Thread, is_new_thread: bool, **_: object) -> None:
    """forum.events.post_created receiver: refuse or hold a new account's post."""
    if not is_new_account(sender, posts_before=sender.post_count - 1):
        return
    config = current_app.config
    interval = config["NEW_ACCOUNT_THREAD_INTERVAL" if is_new_thread else "NEW_ACCOUNT_REPLY_INTERVAL"]
    # An interval of 0 turns the check off (a concurrent post can make `since` negative).
    since = _seconds_since_last(sender, post, threads=is_new_thread) if interval > 0 else None
    if since is not None and since < interval:
        wait = int(interval - since) + 1
        what = "start a thread" if is_new_thread else "reply"
        raise TooManyRequests(
            f"New members can {what} once every {interval} seconds; please wait {wait} more seconds. "
            "Your text is kept below.",
            "body",
        )
    _refuse_images(post.body_html)
    _refuse_mentions(count_mentions(post.body_source))
    _hold_if_many_links(post)


def _hold_if_many_links(post: Post) -> None:
    from forum.moderation.flags import hold_for_review

    limit = current_app.config["NEW_ACCOUNT_MAX_LINKS"]
    if count_links(post.body_html) > limit and post.hidden_at is None:
        hold_for_review(
            post,
            f"Waiting for a moderator: posts from new members with more than {limit} links are reviewed first",
        )


def check_edited_post(sender: User | None, *, post: Post, previous_source: str, **_: object) -> None:
    """forum.events.post_edited receiver: a new account's edit obeys the rules of a new post."""
    from forum.moderation.models import PostRevision

    if sender is None or not is_new_account(sender):
        return
    _refuse_images(post.body_html)
    names = mentioned_names(post.body_source) | mentioned_names(previous_source)
    for source in db.session.scalars(select(PostRevision.body_source).where(PostRevision.post_id == post.id)):
        names |= mentioned_names(source)
    _refuse_mentions(len(names), edited=True)
    _hold_if_many_links(post)


def check_wiki_revision(sender: User | None, *, page: object, revision: object, **_: object) -> None:
    """forum.events.wiki_page_edited receiver: a new account's revision adds at most the limits."""
    from forum.wiki.models import WikiRevision

    if sender is None or revision is None or not is_new_account(sender):
        return
    previous = db.session.scalar(
        select(WikiRevision).where(
            WikiRevision.page_id == revision.page_id,
            WikiRevision.number == revision.number - 1,  # type: ignore[attr-defined]
        )
    )
    before_html = previous.body_html if previous is not None else ""
    before_source = previous.body_source if previous is not None else ""
    _refuse_images(revision.body_html, already=before_html)  # type: ignore[attr-defined]
    _refuse_mentions(len(mentioned_names(revision.body_source) - mentioned_names(before_source)))  # type: ignore[attr-defined]
    limit = current_app.config["NEW_ACCOUNT_MAX_LINKS"]
    added = len(set(_EXTERNAL_LINK.findall(revision.body_html)) - set(_EXTERNAL_LINK.findall(before_html)))  # type: ignore[attr-defined]
    if added > limit:
        raise Invalid(
            f"New members can add at most {limit} links to a wiki page at a time (this adds {added}).", "body"
        )
