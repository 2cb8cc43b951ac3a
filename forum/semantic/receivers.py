"""What makes a thread's vector stale: its opening post or its title changed."""

from __future__ import annotations

from typing import Any

from forum import events
from forum.semantic import services

RENAMED = "renamed thread"  # forum.moderation.services.rename_thread's audit action


def on_post_edited(sender: Any, *, post: Any, **_: Any) -> None:
    if post.is_opening:  # its edit may have changed the title too
        services.mark_stale(post.thread_id)


def on_moderation_action(sender: Any, *, entry: Any, **_: Any) -> None:
    if entry.action == RENAMED and entry.target_type == "thread" and entry.target_id:
        services.mark_stale(entry.target_id)


def connect() -> None:
    """New threads need no receiver: a thread without a row waits for the job already."""
    events.post_edited.connect(on_post_edited)
    events.moderation_action.connect(on_moderation_action)
