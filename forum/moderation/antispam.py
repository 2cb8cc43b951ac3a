"""Limits for new accounts (Discourse's trust level 0), checked as their posts are created.

A new account is one younger than NEW_ACCOUNT_HOURS or with fewer than NEW_ACCOUNT_POSTS
posts. Too many images or mentions, or posting too fast, refuses the post with a message
(the typed text is kept by the form); too many links holds the post for review instead, so
a real customer's answer is never lost.
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


def count_images(html: str) -> int:
    return html.count("<img ")


def count_mentions(source: str) -> int:
    return len({name.lower() for name in MENTION.findall(CODE.sub("", source))})


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
    from forum.moderation.flags import hold_for_review

    if not is_new_account(sender, posts_before=sender.post_count - 1):
        return
    config = current_app.config
    interval = config["NEW_ACCOUNT_THREAD_INTERVAL" if is_new_thread else "NEW_ACCOUNT_REPLY_INTERVAL"]
    since = _seconds_since_last(sender, post, threads=is_new_thread)
    if since is not None and since < interval:
        wait = int(interval - since) + 1
        what = "start a thread" if is_new_thread else "reply"
        raise TooManyRequests(
            f"New members can {what} once every {interval} seconds; please wait {wait} more seconds. "
            "Your text is kept below.",
            "body",
        )
    images = count_images(post.body_html)
    if images > config["NEW_ACCOUNT_MAX_IMAGES"]:
        raise Invalid(f"New members can include at most {config['NEW_ACCOUNT_MAX_IMAGES']} image(s) per post "
                      f"(this has {images}).", "body")  # fmt: skip
    mentions = count_mentions(post.body_source)
    if mentions > config["NEW_ACCOUNT_MAX_MENTIONS"]:
        raise Invalid(f"New members can mention at most {config['NEW_ACCOUNT_MAX_MENTIONS']} people per post "
                      f"(this has {mentions}).", "body")  # fmt: skip
    links = count_links(post.body_html)
    if links > config["NEW_ACCOUNT_MAX_LINKS"]:
        hold_for_review(
            post,
            f"Waiting for a moderator: posts from new members with more than "
            f"{config['NEW_ACCOUNT_MAX_LINKS']} links are reviewed first",
        )
