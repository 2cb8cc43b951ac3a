"""Quote and Bookmark in each post's footer (page slot post.actions).

Written in Python rather than a macro: the footer is rendered for every post of a page, and
the four features' macros there were 28% of a member's thread page (forum.pages).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from forum.boards.permissions import can_see_post_body
from forum.web import page_csrf_token, url_for_id

NOTHING = Markup("")


def post_actions(post: Any, features: Any, viewer: Any) -> Markup:
    """`features["follow"]["page_url"]` is the thread page the post is on: the quote link's
    address without JavaScript (forum.follow.thread_state)."""
    follow = features.get("follow") if features else None
    page_url = follow["page_url"] if follow else None
    if not (viewer.is_member and page_url and post.deleted_at is None and can_see_post_body(viewer, post)):
        return NOTHING
    parts = []
    if viewer.can_post:
        author = post.author
        gone = author.deleted_at is not None
        parts.append(
            f'<a class="quote-link" href="{escape(page_url)}&amp;quote={post.id}#reply" data-post="{post.id}"'
            f' data-author="{escape(author.name if gone else author.username)}"'
            f' data-mention="{"false" if gone else "true"}">Quote</a>'
        )
    bookmarked = post.viewer_bookmarked
    parts.append(
        f'<form action="{escape(url_for_id("follow.bookmark", post_id=post.id))}" method="post" class="inline-form">'
        f'<input type="hidden" name="csrf_token" value="{page_csrf_token()}">'
        f'<input type="hidden" name="bookmarked" value="{"0" if bookmarked else "1"}">'
        '<button type="submit" class="link-button bookmark-button">'
        f"{'Bookmarked ✓' if bookmarked else 'Bookmark'}</button></form>"
    )
    return Markup("".join(parts))
