"""Every feature's models, imported so Alembic and create_all() see all tables."""

from forum.auth.models import LoginSession, User
from forum.boards.models import Board, Post, Thread
from forum.mail.models import OutgoingMail

__all__ = ["Board", "LoginSession", "OutgoingMail", "Post", "Thread", "User"]
