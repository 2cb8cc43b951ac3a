"""Signal receivers: Q&A reacts to other features' events inside their transaction."""

from __future__ import annotations

from forum import events
from forum.auth.models import User
from forum.boards.models import Post
from forum.qa import services


def _on_post_deleted(actor: User, *, post: Post, **extra: object) -> None:
    services.post_deleted(actor, post=post)


def connect() -> None:
    events.post_deleted.connect(_on_post_deleted)
