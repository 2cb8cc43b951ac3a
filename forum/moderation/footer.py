"""History, Flag, Hide or Restore and Member actions in each post's footer (page slot post.actions).

Written in Python rather than a macro: the footer is rendered for every post of a page, and
the four features' macros there were 28% of a member's thread page (forum.pages).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from markupsafe import Markup, escape

from forum.moderation.flags import can_flag
from forum.moderation.services import can_view_history
from forum.web import action_form, url_for_id

NOTHING = Markup("")


def post_tools(post: Any, features: Any, viewer: Any) -> Markup:
    """`viewer` is the thread page's reader (forum.boards.permissions.ThreadViewer)."""
    if not viewer.is_member:
        return NOTHING
    parts = []
    if post.edited_at is not None and can_view_history(viewer, post):
        parts.append(
            f'<a href="{escape(url_for_id("moderation.post_history", post_id=post.id))}">History</a>'
        )
    if can_flag(viewer, post):
        parts.append(f'<a href="{escape(url_for_id("moderation.flag_post", post_id=post.id))}">Flag</a>')
    if viewer.moderates_board and post.deleted_at is None:
        if post.hidden_at is not None:
            parts.append(action_form(url_for_id("moderation.restore_post", post_id=post.id), "Restore"))
        else:
            parts.append(f'<a href="{escape(url_for_id("moderation.hide_post", post_id=post.id))}">Hide</a>')
        author = post.author
        if author.username and author.deleted_at is None and viewer.is_site_moderator:
            member_url = url_for("moderation.member", username=author.username)
            parts.append(f'<a href="{escape(member_url)}">Member actions</a>')
    return Markup("".join(parts))
