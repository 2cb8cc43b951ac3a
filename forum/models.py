"""Every feature's models, imported so Alembic and create_all() see all tables."""

from forum.auth.models import LoginSession, User
from forum.boards.models import Board, Post, Thread
from forum.mail.models import OutgoingMail
from forum.moderation.models import AuditEntry
from forum.search.models import SearchDocument, SearchOutbox  # noqa: F401
from forum.wiki.models import WikiPage, WikiRevision

__all__ = ["AuditEntry", "Board", "LoginSession", "OutgoingMail", "Post", "Thread", "User", "WikiPage", "WikiRevision"]
