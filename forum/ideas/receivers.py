"""Signal receivers: a new thread in an ideas board becomes a "new" idea."""

from __future__ import annotations

from forum import events
from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.ideas import services


def _on_post_created(
    actor: User, *, post: Post, thread: Thread, is_new_thread: bool, **extra: object
) -> None:
    if is_new_thread:
        services.idea_created(thread)


def connect() -> None:
    events.post_created.connect(_on_post_created)
