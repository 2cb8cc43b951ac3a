"""Helpful votes and "This solved it" in each post's footer (page slot post.actions).

Written in Python rather than a macro: the footer is rendered for every post of a page, and
the four features' macros there were 28% of a member's thread page (forum.pages).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from markupsafe import Markup, escape

from forum.qa.permissions import can_be_solution, can_vote_helpful
from forum.web import action_form, page_csrf_token, url_for_id

NOTHING = Markup("")


def post_actions(post: Any, features: Any, viewer: Any) -> Markup:
    """`features["qa"]` is the page's Q&A state (forum.qa.views.thread_state); `viewer` its reader."""
    if not post.is_visible:
        return NOTHING
    qa = features.get("qa") if features else None
    parts = []
    count = f"{post.helpful_count:,} found this helpful"
    if qa and can_vote_helpful(viewer, post):
        voted = post.id in qa["voted"]
        parts.append(
            f'<form action="{escape(url_for_id("qa.helpful", post_id=post.id))}" method="post"'
            ' class="inline-form helpful-form" data-helpful>'
            f'<input type="hidden" name="csrf_token" value="{page_csrf_token()}">'
            f'<input type="hidden" name="helpful" value="{"0" if voted else "1"}">'
            f'<button type="submit" class="helpful-button" aria-pressed="{"true" if voted else "false"}">'
            f"{'Helpful ✓' if voted else 'Helpful'}</button>"
            f'<span class="helpful-count" aria-live="polite">{count}</span></form>'
        )
    elif post.helpful_count:
        parts.append(f'<span class="helpful-count">{count}</span>')
    if qa and qa["can_mark"] and can_be_solution(post):
        solution = qa["solution"]
        if solution is not None and solution.id == post.id:
            parts.append(
                action_form(url_for("qa.unmark_solution", thread_id=post.thread_id), "Unmark solution")
            )
        else:
            parts.append(action_form(url_for_id("qa.mark_solution", post_id=post.id), "This solved it"))
    return Markup("".join(parts))
