"""Watching: how closely a member follows a thread, a board or a wiki page, and who watches
what (forum.notifications.notifying asks before telling anyone about new content).

A thread's own watch wins over its board's; a member who never chose a level is "normal".
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, or_, select

from forum.auth.models import User
from forum.boards import permissions
from forum.boards.models import Board, Thread
from forum.errors import Invalid, NotFound
from forum.extensions import db
from forum.notifications.models import WATCH_LEVELS, WATCH_TARGETS, Watch
from forum.wiki.models import WikiPage


def watch_level(user: Any, target_type: str, target_id: int) -> str | None:
    """The level the member chose for this target, or None (never chosen)."""
    if not getattr(user, "is_authenticated", False):
        return None
    values = {"user_id": user.id, "target_type": target_type, "target_id": target_id}
    return db.session.scalar(_watch_level_statement(), values)


@cache
def _watch_level_statement() -> Select[tuple[str]]:
    """Built once per process: a member's board page asks for it on every visit."""
    return select(Watch.level).where(
        Watch.user_id == bindparam("user_id"),
        Watch.target_type == bindparam("target_type"),
        Watch.target_id == bindparam("target_id"),
    )


def thread_level(user: User, thread: Thread) -> str:
    """The effective level for a thread: its own watch, else its board's, else normal."""
    rows = dict(
        db.session.execute(
            select(Watch.target_type, Watch.level).where(
                Watch.user_id == user.id,
                or_(
                    (Watch.target_type == "thread") & (Watch.target_id == thread.id),
                    (Watch.target_type == "board") & (Watch.target_id == thread.board_id),
                ),
            )
        ).all()
    )
    return rows.get("thread") or rows.get("board") or "normal"


def _watch_target(target_type: str, target_id: int, actor: User) -> Thread | Board | WikiPage:
    """The thread, board or wiki page to watch, if the member can see it."""
    if target_type not in WATCH_TARGETS:
        raise NotFound("There is nothing like that to watch.")
    model = {"thread": Thread, "board": Board, "wiki": WikiPage}[target_type]
    target = db.session.get(model, target_id)
    if target is None:
        raise NotFound(f"There is no such {target_type}.")
    if isinstance(target, Thread) and not permissions.can_see_thread(actor, target):
        raise NotFound("There is no such thread; it may have been removed.")
    if isinstance(target, WikiPage) and target.deleted_at is not None:
        raise NotFound("There is no such wiki page; it may have been removed.")
    return target


def set_watch(target_type: str, target_id: int, level: str, *, actor: User) -> Thread | Board | WikiPage:
    """Choose how closely `actor` follows a thread, board or wiki page; returns the target."""
    if level not in WATCH_LEVELS or (level == "affected" and target_type != "thread"):
        raise Invalid(f"Choose one of: {', '.join(WATCH_LEVELS)}.", "level")
    target = _watch_target(target_type, target_id, actor)
    watch = db.session.scalar(
        select(Watch).where(
            Watch.user_id == actor.id, Watch.target_type == target_type, Watch.target_id == target_id
        )
    )
    if watch is None:
        db.session.add(Watch(user_id=actor.id, target_type=target_type, target_id=target_id, level=level))
    else:
        watch.level = level
    db.session.flush()
    return target


def watch_by_default(user: User, target_type: str, target_id: int) -> None:
    """Watch what the member just wrote in, unless they chose a level for it before."""
    if not user.watch_on_post or watch_level(user, target_type, target_id) is not None:
        return
    db.session.add(Watch(user_id=user.id, target_type=target_type, target_id=target_id, level="watching"))
    db.session.flush()


def watchers(target_type: str, target_id: int, level: str = "watching") -> list[int]:
    return list(
        db.session.scalars(
            select(Watch.user_id).where(
                Watch.target_type == target_type, Watch.target_id == target_id, Watch.level == level
            )
        )
    )


def thread_watchers(thread: Thread) -> list[int]:
    """Who watches the thread itself, or its board without choosing another level for the thread."""
    on_thread = watchers("thread", thread.id)
    chose_thread = set(
        db.session.scalars(
            select(Watch.user_id).where(Watch.target_type == "thread", Watch.target_id == thread.id)
        )
    )
    on_board = [uid for uid in watchers("board", thread.board_id) if uid not in chose_thread]
    return list(dict.fromkeys(on_thread + on_board))
