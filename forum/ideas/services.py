"""Ideas: votes within a budget of active votes per member, statuses with a history.

A member's active votes are their votes on ideas that are open (not done or declined),
still visible, and still in an ideas board; IDEA_VOTES_PER_MEMBER (default 10) caps them.
Closing an idea therefore returns its votes to every voter at once, without touching
vote rows, and the closed idea keeps its count as a record. Reopening an idea makes its
votes active again, which may leave a member above the cap: they then cannot add votes
until they are back under it.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from forum import events
from forum.auth.models import User
from forum.boards.models import Board, Thread
from forum.boards.visibility import thread_is_visible
from forum.counters import votes
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.ideas import permissions
from forum.ideas.models import CLOSED_STATUSES, IDEA_STATUSES, Idea, IdeaStatusChange, IdeaVote
from forum.moderation import audit

DEFAULT_VOTES_PER_MEMBER = 10
MAX_NOTE_LENGTH = 500
SORTS = {"votes": "Most votes", "newest": "Newest", "active": "Recently active"}


def vote_budget() -> int:
    return int(current_app.config.get("IDEA_VOTES_PER_MEMBER", DEFAULT_VOTES_PER_MEMBER))


def get_idea(thread: Thread) -> Idea | None:
    return db.session.get(Idea, thread.id)


def ensure_idea(thread: Thread) -> Idea:
    """The thread's idea row; threads that became ideas later (moved, board kind changed) get one now."""
    if not permissions.is_idea(thread):
        raise NotFound("This thread is not in an ideas board.")
    idea = get_idea(thread)
    if idea is None:
        idea = Idea(thread_id=thread.id, status="new", vote_count=0)
        db.session.add(idea)
        db.session.flush()
    return idea


def idea_created(thread: Thread) -> None:
    """Every new thread in an ideas board starts as a "new" idea (receiver of post_created)."""
    if permissions.is_idea(thread):
        db.session.add(Idea(thread_id=thread.id, status="new", vote_count=0))


# -- votes -------------------------------------------------------------------------------------


def active_vote_count(user: Any) -> int:
    """How many of the user's votes count against their budget (one query)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return (
        db.session.scalar(
            select(func.count())
            .select_from(IdeaVote)
            .join(Thread, Thread.id == IdeaVote.thread_id)
            .join(Board, Board.id == Thread.board_id)
            .outerjoin(Idea, Idea.thread_id == IdeaVote.thread_id)
            .where(
                IdeaVote.user_id == user.id,
                Board.kind == "ideas",
                thread_is_visible(),
                func.coalesce(Idea.status, "new").not_in(CLOSED_STATUSES),
            )
        )
        or 0
    )


def has_voted(thread: Thread, user: Any) -> bool:
    return votes.has_vote(IdeaVote.thread_id, thread, user)


def voted_thread_ids(user: Any, threads: list[Thread]) -> set[int]:
    return votes.voted_ids(IdeaVote.thread_id, user, [thread.id for thread in threads])


def _budget_message(budget: int) -> str:
    return (
        f"You are using all {budget} of your votes. Take one back from another idea, "
        "or wait: votes come back when an idea is done or declined."
    )


def set_idea_vote(thread: Thread, *, actor: User, vote: bool | None = None) -> bool:
    """Add or remove the actor's vote (None toggles); returns whether they now vote for it.

    Asking for the current state changes nothing. A concurrent duplicate insert raises
    IntegrityError at the flush, before any counter moves; the caller answers normally.
    """
    if not permissions.can_vote_idea(actor, thread):
        if thread.author_id == getattr(actor, "id", None):
            raise Forbidden("You cannot vote for your own idea.")
        if not permissions.is_idea(thread):
            raise NotFound("This thread is not in an ideas board.")
        raise Forbidden("You cannot vote at the moment.")
    idea = ensure_idea(thread)
    if idea.is_closed:
        raise Conflict(
            f"This idea is {idea.status_label.lower()}: its votes are kept as a record and cannot change."
        )
    budget = vote_budget()
    change = votes.set_vote(
        IdeaVote.thread_id, idea, "vote_count", actor=actor, wanted=vote,
        before_adding=lambda: _check_room(actor, budget),
        after_adding=lambda new_vote: _check_budget_kept(actor, budget, new_vote),
    )  # fmt: skip
    return change.on


def _check_room(actor: User, budget: int) -> None:
    """Refuse a new vote when the member has none left.

    One member's votes are counted under a lock on their row (PostgreSQL), so two
    concurrent votes cannot both see room for one more; on SQLite the insert that follows
    takes the database's write lock before `_check_budget_kept` counts again.
    """
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    if active_vote_count(actor) >= budget:
        raise Conflict(_budget_message(budget))


def _check_budget_kept(actor: User, budget: int, new_vote: IdeaVote) -> None:
    """Take the new vote back, before its count moves, if it went over the budget."""
    if active_vote_count(actor) > budget:
        db.session.delete(new_vote)
        db.session.flush()
        raise Conflict(_budget_message(budget))


# -- statuses ----------------------------------------------------------------------------------


def set_idea_status(thread: Thread, status: str, note: str = "", *, actor: User) -> IdeaStatusChange:
    """Move an idea to `status` with an optional short note; history row + audit entry."""
    if not permissions.can_set_idea_status(actor, thread):
        raise Forbidden("Only moderators and employees can set the status of an idea.")
    if status not in IDEA_STATUSES:
        raise Invalid(f"Choose one of: {', '.join(IDEA_STATUSES.values())}.", "status")
    note = " ".join(note.split())
    if len(note) > MAX_NOTE_LENGTH:
        raise Invalid(f"Keep the note to {MAX_NOTE_LENGTH} characters (this has {len(note)}).", "note")
    idea = ensure_idea(thread)
    if status == idea.status and not note:
        raise Invalid(
            f"The idea is {idea.status_label.lower()} already: choose another status or add a note.", "status"
        )
    change = IdeaStatusChange(
        thread_id=thread.id, actor_id=actor.id, old_status=idea.status, new_status=status, note=note
    )
    db.session.add(change)
    old_label = idea.status_label
    idea.status = status
    idea.status_changed_at = utcnow()
    db.session.flush()
    audit.record(
        actor, "set idea status", target_type="thread", target_id=thread.id, target_label=thread.title,
        reason=note, board_id=thread.board_id, affected_user=thread.author,
        details=f"{old_label} → {idea.status_label}",
    )  # fmt: skip
    voter_ids = list(db.session.scalars(select(IdeaVote.user_id).where(IdeaVote.thread_id == thread.id)))
    events.idea_status_changed.send(
        actor, thread=thread, old_label=old_label, new_label=idea.status_label, note=note, voter_ids=voter_ids
    )
    return change


def status_history(thread: Thread) -> list[IdeaStatusChange]:
    return list(
        db.session.scalars(
            select(IdeaStatusChange)
            .options(joinedload(IdeaStatusChange.actor))
            .where(IdeaStatusChange.thread_id == thread.id)
            .order_by(IdeaStatusChange.created_at, IdeaStatusChange.id)
        )
    )


# -- lists -------------------------------------------------------------------------------------


def _idea_conditions(board: Board, status: str) -> list[Any]:
    conditions: list[Any] = [
        Thread.board_id == board.id,
        thread_is_visible(),
    ]
    if status:
        if status not in IDEA_STATUSES:
            raise Invalid(f"Unknown status “{status}”.", "status")
        conditions.append(func.coalesce(Idea.status, "new") == status)
    return conditions


def count_ideas(board: Board, status: str = "") -> int:
    if not status:
        return board.thread_count
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Thread)
            .outerjoin(Idea, Idea.thread_id == Thread.id)
            .where(*_idea_conditions(board, status))
        )
        or 0
    )


def idea_threads(
    board: Board, *, sort: str = "votes", status: str = "", page: int = 1, per_page: int = 30
) -> list[tuple[Thread, Idea | None]]:
    """One page of ideas with their state (one query): pinned first, then by `sort`."""
    if sort not in SORTS:
        raise Invalid(f"Sort by one of: {', '.join(SORTS)}.", "sort")
    order: list[Any] = [Thread.is_pinned.desc()]
    if sort == "votes":
        order += [func.coalesce(Idea.vote_count, 0).desc(), Thread.last_post_at.desc()]
    elif sort == "newest":
        order += [Thread.created_at.desc()]
    else:
        order += [Thread.last_post_at.desc()]
    rows = db.session.execute(
        select(Thread, Idea)
        .outerjoin(Idea, Idea.thread_id == Thread.id)
        .options(joinedload(Thread.author), joinedload(Thread.last_poster))
        .where(*_idea_conditions(board, status))
        .order_by(*order, Thread.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [(thread, idea) for thread, idea in rows]


def recount() -> int:
    """Recompute every idea's vote count from the vote rows (and the votes imported as a number,
    Idea.votes_carried); returns how many changed."""
    counts = dict(
        db.session.execute(select(IdeaVote.thread_id, func.count()).group_by(IdeaVote.thread_id)).all()
    )
    changed = 0
    for idea in db.session.scalars(select(Idea)):
        expected = counts.get(idea.thread_id, 0) + idea.votes_carried
        if idea.vote_count != expected:
            idea.vote_count = expected
            changed += 1
    return changed
