"""Who may upload, see and remove files: named predicates, asked by the services and templates."""

from __future__ import annotations

from typing import Any

from forum.auth.models import User
from forum.boards.models import Post
from forum.boards.permissions import can_post, can_see_post_body, can_see_thread


def _is_member(user: Any) -> bool:
    return isinstance(user, User) and user.is_authenticated


def can_upload(user: Any) -> bool:
    """Members in good standing (not silenced or suspended): the same rule as posting."""
    return can_post(user)


def owns(user: Any, upload: Any) -> bool:
    return _is_member(user) and upload.owner_id == user.id


def can_see_removed_uploads(user: Any) -> bool:
    """Site moderators see every file, removed ones and those of hidden posts included."""
    return _is_member(user) and user.is_moderator


can_remove_upload = can_see_removed_uploads


def can_see_in_post(user: Any, post: Post) -> bool:
    """A file in a post is seen by whoever may read the post's body: hidden posts by their moderators."""
    return can_see_thread(user, post.thread) and can_see_post_body(user, post)


def can_see_in_wiki_pages(user: Any, page_ids: list[int]) -> bool:
    from sqlalchemy import select

    from forum.extensions import db
    from forum.wiki.models import WikiPage
    from forum.wiki.permissions import can_view_page

    return any(
        can_view_page(user, page)
        for page in db.session.scalars(select(WikiPage).where(WikiPage.id.in_(page_ids)))
    )
