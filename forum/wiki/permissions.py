"""Who may do what in the wiki: named predicates, enforced by the services and shown in Jinja.

Any member in good standing edits (the wiki is a shared document, so there is no "own
page"), except new accounts, which must first be WIKI_MIN_ACCOUNT_AGE_DAYS old and have
written WIKI_MIN_POSTS posts (issue #4: "the page tells them why and when"). Moderators
protect pages (then only moderators and employees edit them) and delete or restore them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from forum.badges import permissions as badge_permissions
from forum.boards.models import Thread
from forum.boards.permissions import can_post, can_see_thread, is_moderator_of
from forum.db import utcnow
from forum.wiki.models import WikiPage

DEFAULT_MIN_ACCOUNT_AGE_DAYS = 4
DEFAULT_MIN_POSTS = 3


def _is_member(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_employee(user: Any) -> bool:
    """Verified employees (an active badge) may edit protected pages."""
    return badge_permissions.is_employee(user)


def is_wiki_moderator(user: Any) -> bool:
    return is_moderator_of(user)


def _thresholds() -> tuple[int, int]:
    config = current_app.config
    return (
        int(config.get("WIKI_MIN_ACCOUNT_AGE_DAYS", DEFAULT_MIN_ACCOUNT_AGE_DAYS)),
        int(config.get("WIKI_MIN_POSTS", DEFAULT_MIN_POSTS)),
    )


def wiki_editable_from(user: Any) -> datetime | None:
    """When a new account becomes old enough to edit (None when it already is)."""
    days, _ = _thresholds()
    ready_at = user.created_at + timedelta(days=days)
    return ready_at if ready_at > utcnow() else None


def posts_still_needed(user: Any) -> int:
    _, posts = _thresholds()
    return max(0, posts - (user.post_count or 0))


def is_new_account(user: Any) -> bool:
    """Too new to edit the wiki yet (moderators and employees never are)."""
    if not _is_member(user) or is_wiki_moderator(user) or is_employee(user):
        return False
    return wiki_editable_from(user) is not None or posts_still_needed(user) > 0


def why_cannot_edit_wiki(user: Any) -> str | None:
    """A sentence saying why `user` may not edit the wiki and when they can; None if they can."""
    if not _is_member(user):
        return "Log in to edit the wiki."
    if not can_post(user):
        return "Your account cannot write at the moment, so it cannot edit the wiki either."
    if not is_new_account(user):
        return None
    days, posts = _thresholds()
    parts = []
    ready_at = wiki_editable_from(user)
    if ready_at is not None:
        parts.append(f"from {ready_at.strftime('%d %B %Y, %H:%M UTC')}")
    needed = posts_still_needed(user)
    if needed:
        parts.append(f"after {needed} more post{'s' if needed != 1 else ''} in the forum")
    return (
        f"New accounts can edit the wiki once they are {days} day{'s' if days != 1 else ''} old "
        f"and have written {posts} post{'s' if posts != 1 else ''}. You can edit {' and '.join(parts)}."
    )


def can_edit_wiki(user: Any) -> bool:
    """May create pages and edit unprotected ones."""
    return why_cannot_edit_wiki(user) is None


def can_view_page(user: Any, page: WikiPage) -> bool:
    """Deleted pages stay visible to moderators only (so they can restore them)."""
    return page.deleted_at is None or is_wiki_moderator(user)


def can_edit_page(user: Any, page: WikiPage) -> bool:
    """Edit, revert and rename: any editor; protected pages only moderators and employees."""
    if page.deleted_at is not None or not can_edit_wiki(user):
        return False
    if page.protected_at is not None:
        return is_wiki_moderator(user) or is_employee(user)
    return True


def can_protect_page(user: Any, page: WikiPage) -> bool:
    return page.deleted_at is None and is_wiki_moderator(user)


def can_delete_page(user: Any, page: WikiPage) -> bool:
    return page.deleted_at is None and is_wiki_moderator(user)


def can_restore_page(user: Any, page: WikiPage) -> bool:
    return page.deleted_at is not None and is_wiki_moderator(user)


def can_promote_thread(user: Any, thread: Thread) -> bool:
    return can_edit_wiki(user) and can_see_thread(user, thread)


JINJA_PREDICATES = {
    "can_edit_wiki": can_edit_wiki,
    "can_edit_page": can_edit_page,
    "can_protect_page": can_protect_page,
    "can_delete_page": can_delete_page,
    "can_restore_page": can_restore_page,
    "can_promote_thread": can_promote_thread,
    "is_wiki_moderator": is_wiki_moderator,
    "why_cannot_edit_wiki": why_cannot_edit_wiki,
}
