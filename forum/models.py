"""Every feature's models, imported so Alembic and create_all() see all tables."""

from forum.auth.models import LoginSession, User
from forum.badges.models import BadgeVerification, EmployeeBadge  # noqa: F401
from forum.boards.models import Board, Post, Thread
from forum.follow.models import BoardRead, Bookmark, Draft, ThreadRead  # noqa: F401  (issue #15)
from forum.ideas.models import Idea, IdeaStatusChange, IdeaVote  # noqa: F401  (qa)
from forum.jobs.models import JobRun  # noqa: F401
from forum.known.models import (  # noqa: F401  (known)
    AffectedMember,
    KnownIssue,
    KnownIssueChange,
    ProblemField,
    ProblemValue,
    ProblemValueChange,
    ResponseFigure,
)
from forum.lifeboat.models import ImportedMember, OldUrl, PostOrigin  # noqa: F401
from forum.mail.models import OutgoingMail
from forum.moderation.models import AuditEntry, BoardModerator, Flag, PostRevision, UserNotice  # noqa: F401
from forum.notifications.models import Notification, PasswordResetToken, Watch  # noqa: F401
from forum.qa.models import HelpfulVote  # noqa: F401  (qa)
from forum.search.models import SearchDocument, SearchOutbox  # noqa: F401
from forum.semantic.models import ThreadEmbedding  # noqa: F401  (semantic)
from forum.uploads.models import Upload, UploadBlob, UploadUse  # noqa: F401  (uploads)
from forum.wiki.models import WikiPage, WikiRevision

__all__ = [
    "AuditEntry",
    "Board",
    "LoginSession",
    "OutgoingMail",
    "Post",
    "Thread",
    "User",
    "WikiPage",
    "WikiRevision",
]
