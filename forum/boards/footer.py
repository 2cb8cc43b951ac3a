"""Edit and Delete in each post's footer, for its author and the board's moderators (page slot
post.actions).

Written in Python rather than a macro: the footer is rendered for every post of a page, and
the four features' macros there were 28% of a member's thread page (forum.pages).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from forum.boards.permissions import can_delete_post, can_edit_post
from forum.icons import icon
from forum.web import action_form, url_for_id

NOTHING = Markup("")


def post_actions(post: Any, features: Any, viewer: Any) -> Markup:
    """`viewer` is the thread page's reader (forum.boards.permissions.ThreadViewer)."""
    if not viewer.is_member:
        return NOTHING
    parts = []
    if can_edit_post(viewer, post):
        parts.append(
            f'<a href="{escape(url_for_id("boards.edit_post", post_id=post.id))}">{icon("edit")}Edit</a>'
        )
    if can_delete_post(viewer, post):
        url = url_for_id("boards.delete_post", post_id=post.id)
        parts.append(action_form(url, "Delete", class_="link-button danger", confirm="Delete this post?"))
    return Markup("".join(parts))
