"""Reading the audit log: filters for moderators, and a public view without private details."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.boards.models import Board
from forum.boards.permissions import is_moderator_of
from forum.extensions import db
from forum.moderation.models import AuditEntry

PER_PAGE = 50
# Actions about members are shown publicly without naming the member or the reason.
PRIVATE_TARGETS = {"user"}


@dataclass
class LogPage:
    entries: list[AuditEntry]
    page: int
    page_count: int
    filters: dict[str, str]
    actions: list[str]
    boards: list[Board]


def query_page(args: Any, *, viewer: User | None, public: bool) -> LogPage:
    filters = {key: (args.get(key) or "").strip()[:60] for key in ("action", "actor", "user", "board")}
    query = select(AuditEntry)
    if filters["action"]:
        query = query.where(AuditEntry.action == filters["action"])
    if filters["actor"] and not public:
        actor = db.session.scalar(select(User.id).where(User.username == filters["actor"].lower()))
        query = query.where(AuditEntry.actor_id == actor)
    if filters["user"] and not public:
        user = db.session.scalar(select(User.id).where(User.username == filters["user"].lower()))
        query = query.where(AuditEntry.affected_user_id == user)
    board_list = list(db.session.scalars(select(Board).order_by(Board.position, Board.id)))
    if filters["board"]:
        board = next((b for b in board_list if b.slug == filters["board"]), None)
        query = query.where(AuditEntry.board_id == (board.id if board else None))
    if viewer is not None and not viewer.is_moderator:
        # Board moderators read the log of their own boards.
        mine = [b.id for b in board_list if is_moderator_of(viewer, b)]
        query = query.where(AuditEntry.board_id.in_(mine))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page_count = max(1, -(-total // PER_PAGE))
    raw = args.get("page", "1")
    page = int(raw) if raw.isdigit() and len(raw) < 7 else 1
    page = min(max(page, 1), page_count)
    entries = list(
        db.session.scalars(
            query.options(joinedload(AuditEntry.actor), joinedload(AuditEntry.affected_user))
            .order_by(AuditEntry.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    actions = list(db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
    return LogPage(entries, page, page_count, filters, actions, board_list)


def about_user(user: User, limit: int = 50) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry)
            .options(joinedload(AuditEntry.actor))
            .where(AuditEntry.affected_user_id == user.id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )
