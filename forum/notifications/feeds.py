"""Atom feeds (RFC 4287): latest threads, a board, a thread, a member's posts, wiki changes.

Feeds show what an anonymous visitor sees: hidden or deleted threads and posts never appear.
Links use BASE_URL; titles are text and bodies are the stored, sanitized HTML, escaped once
more by the XML template, so a title holding `<script>` stays text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.boards.visibility import post_is_visible, thread_is_visible, visible_threads
from forum.db import utcnow
from forum.extensions import db
from forum.notifications.mailer import absolute_url
from forum.wiki.models import WikiPage, WikiRevision

FEED_SIZE = 30


@dataclass
class Entry:
    id: str
    title: str
    url: str
    author: str
    published: datetime
    updated: datetime
    html: str


def _visible_threads():  # noqa: ANN202 (a Select)
    return visible_threads().join(Board, Board.id == Thread.board_id)


def _opening_posts(threads: list[Thread]) -> dict[int, Post]:
    ids = [thread.id for thread in threads]
    if not ids:
        return {}
    posts = db.session.scalars(
        select(Post).where(Post.thread_id.in_(ids), Post.position == 1, post_is_visible())
    )  # fmt: skip
    return {post.thread_id: post for post in posts}


def _thread_entries(threads: list[Thread]) -> list[Entry]:
    openings = _opening_posts(threads)
    entries = []
    for thread in threads:
        post = openings.get(thread.id)
        entries.append(
            Entry(
                id=absolute_url(f"/t/{thread.id}"), title=thread.title, url=absolute_url(thread.url),
                author=thread.author.name, published=thread.created_at,
                updated=(post.edited_at if post and post.edited_at else thread.created_at),
                html=post.body_html if post else "",
            )
        )  # fmt: skip
    return entries


def latest_threads() -> list[Entry]:
    threads = db.session.scalars(
        _visible_threads()
        .options(joinedload(Thread.author))
        .order_by(Thread.created_at.desc(), Thread.id.desc())
        .limit(FEED_SIZE)
    ).all()
    return _thread_entries(list(threads))


def board_threads(board: Board) -> list[Entry]:
    threads = db.session.scalars(
        _visible_threads()
        .options(joinedload(Thread.author))
        .where(Thread.board_id == board.id)
        .order_by(Thread.created_at.desc(), Thread.id.desc())
        .limit(FEED_SIZE)
    ).all()
    return _thread_entries(list(threads))


def _post_entries(posts: list[Post]) -> list[Entry]:
    return [
        Entry(
            id=absolute_url(post.url),
            title=post.thread.title if post.is_opening else f"Re: {post.thread.title}",
            url=absolute_url(post.url),
            author=post.author.name,
            published=post.created_at,
            updated=post.edited_at or post.created_at,
            html=post.body_html,
        )  # fmt: skip
        for post in posts
    ]


def _visible_posts():  # noqa: ANN202 (a Select)
    return (
        select(Post)
        .join(Thread, Thread.id == Post.thread_id)
        .options(joinedload(Post.author), joinedload(Post.thread))
        .where(post_is_visible(), thread_is_visible())
    )


def thread_posts(thread: Thread) -> list[Entry]:
    posts = db.session.scalars(
        _visible_posts().where(Post.thread_id == thread.id).order_by(Post.position.desc()).limit(FEED_SIZE)
    ).all()
    return _post_entries(list(posts))


def user_posts(user: User) -> list[Entry]:
    posts = db.session.scalars(
        _visible_posts().where(Post.author_id == user.id).order_by(Post.created_at.desc(), Post.id.desc())
        .limit(FEED_SIZE)
    ).all()  # fmt: skip
    return _post_entries(list(posts))


def wiki_changes() -> list[Entry]:
    rows = db.session.execute(
        select(WikiRevision, WikiPage)
        .join(WikiPage, WikiPage.id == WikiRevision.page_id)
        .options(joinedload(WikiRevision.author))
        .where(WikiPage.deleted_at.is_(None))
        .order_by(WikiRevision.created_at.desc(), WikiRevision.id.desc())
        .limit(FEED_SIZE)
    ).all()
    entries = []
    for revision, page in rows:
        summary = f"<p>{_escape(revision.summary)}</p>" if revision.summary else ""
        entries.append(
            Entry(
                id=absolute_url(f"{page.url}?revision={revision.number}"),
                title=f"{revision.title} (revision {revision.number})", url=absolute_url(page.url),
                author=revision.author.name if revision.author else "Unknown",
                published=revision.created_at, updated=revision.created_at,
                html=summary + revision.body_html,
            )
        )  # fmt: skip
    return entries


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


# Characters XML 1.0 does not allow, even escaped: one (U+0001) in a title made every feed
# that listed it unreadable (issue #21). Titles and names are cleaned on input too.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_feed(title: str, page_path: str, feed_path: str, entries: list[Entry]) -> str:
    updated = max((entry.updated for entry in entries), default=None) or utcnow()
    xml = render_template(
        "notifications/feed.xml",
        feed_title=f"{title} · {current_app.config['SITE_NAME']}",
        feed_id=absolute_url(feed_path),
        feed_url=absolute_url(feed_path),
        page_url=absolute_url(page_path),
        updated=updated,
        entries=entries,
    )
    return _NOT_XML.sub("\ufffd", xml)
