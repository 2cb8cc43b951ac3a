"""Following a forum (issue #15): unread tracking, /latest, drafts, bookmarks and quoting."""

from __future__ import annotations

from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """Blueprint, the post-created receiver, Jinja helpers (forum.follow.views) and page slots."""
    from forum import pages
    from forum.follow import footer
    from forum.follow.views import init_app as init_views

    init_views(app)
    pages.add_loader(app, "thread", "follow", thread_state)
    pages.fill_slot(app, "thread.head", "follow/_thread_head.html")
    pages.fill_slot(app, "board.filters", "follow/_board_read.html", order=60, when=pages.for_members_page)
    pages.fill_slot(
        app,
        "post.actions",
        render=footer.post_actions,
        when=pages.for_members,
        order=95,
    )


def thread_state(thread: Any, posts: list[Any], viewer: Any) -> dict[str, Any]:
    """The thread page's address for its quote links (no statement: the page follows from positions)."""
    page = posts[0].page if posts else 1
    return {"page_url": f"{thread.url}?page={page}"}
