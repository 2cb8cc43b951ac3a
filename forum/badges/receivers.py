"""Signal receivers: a thread's "employee replied" mark follows deleted, hidden and shown posts."""

from __future__ import annotations

from sqlalchemy import exists, select

from forum import events
from forum.boards.models import Post, Thread
from forum.boards.visibility import post_is_visible
from forum.extensions import db


def refresh_employee_reply(thread: Thread) -> None:
    """Thread.has_employee_reply: is any visible reply posted with a badge?"""
    db.session.flush()
    thread.has_employee_reply = bool(
        db.session.scalar(
            select(
                exists().where(
                    Post.thread_id == thread.id,
                    Post.position > 1,
                    Post.badge_id.is_not(None),
                    post_is_visible(),
                )
            )
        )
    )


def _on_post_deleted(sender: object, *, post: Post, **extra: object) -> None:
    if post.badge_id is not None and not post.is_opening:
        refresh_employee_reply(post.thread)


def _on_moderation_action(sender: object, *, entry: object, **extra: object) -> None:
    """Hiding or showing a post is a logged moderator action: keep the thread's mark right."""
    if getattr(entry, "target_type", None) != "post" or getattr(entry, "target_id", None) is None:
        return
    post = db.session.get(Post, entry.target_id)  # type: ignore[attr-defined]
    if post is not None and post.badge_id is not None and not post.is_opening:
        refresh_employee_reply(post.thread)


def connect() -> None:
    """Called once by create_app (blinker ignores a second connection of the same function)."""
    events.post_deleted.connect(_on_post_deleted)
    events.moderation_action.connect(_on_moderation_action)
