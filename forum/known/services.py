"""Affected members and the known-issue timeline: every rule, for views, CLI and tests.

Services take the actor and never commit. Counters move by SQL increments
(`affected_count = affected_count + 1`), never read-modify-write (issue #13's rule).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, delete, func, select, update

from forum.auth.models import User
from forum.badges.models import EmployeeBadge
from forum.badges.permissions import can_wear_badge
from forum.boards.models import Thread
from forum.counters import votes
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid
from forum.extensions import db
from forum.known import permissions
from forum.known.models import (
    KNOWN_STATUSES,
    NOTE_MAX,
    TOLD_STATUSES,
    AffectedMember,
    KnownIssue,
    KnownIssueChange,
)
from forum.notifications.models import Watch

# Where a status may go next. Forward jumps are allowed (a fix can come without a
# workaround); going back is not, except that a fixed issue can recur and start again.
NEXT_STATUSES = {
    "reported": ("acknowledged", "workaround", "fixed"),
    "acknowledged": ("workaround", "fixed"),
    "workaround": ("fixed",),
    "fixed": ("recurred",),
    "recurred": ("acknowledged", "workaround", "fixed"),
}
AFFECTED_LEVEL = "affected"
RECENT_DAYS = 7  # the register orders issues by members affected in the last 7 days


# -- affected too -----------------------------------------------------------------------------


def is_affected(thread: Thread, user: object) -> bool:
    """Has `user` said "affected too" here? (The asker counts as affected, without a row.)"""
    if getattr(user, "is_authenticated", False) and user.id == thread.author_id:  # type: ignore[attr-defined]
        return True
    return votes.has_vote(AffectedMember.thread_id, thread, user)


def set_affected(thread: Thread, *, actor: User, affected: bool | None = None) -> bool:
    """Say (or take back) "I'm affected too"; None toggles. Returns the member's new state.

    One row per member and thread, counted in Thread.affected_count (forum.counters.votes)
    and in the known issue's stored 7-day count. Saying it follows the thread quietly (watch
    level "affected"); taking it back ends that.
    """
    if not permissions.can_say_affected(actor, thread):
        if actor.id == thread.author_id:
            raise Conflict("You asked this question: you count as affected already.")
        if not permissions.takes_affected(thread):
            raise Forbidden("Only open questions take “affected too”.")
        raise Forbidden("You cannot mark yourself affected.")
    now = utcnow()
    vote = votes.set_vote(
        AffectedMember.thread_id, thread, "affected_count", actor=actor, wanted=affected,
        created_at=now, created_on=now.date(),
    )  # fmt: skip
    if vote.moved:
        db.session.refresh(thread, ["affected_count"])  # read back now, as before the shared helper
        _move_recent(thread, vote.created_at, vote.moved)  # type: ignore[arg-type]
    if vote.moved > 0:
        _follow_quietly(actor.id, thread.id)
    elif vote.was and not vote.on:  # taken back, here or by a concurrent request
        db.session.execute(
            delete(Watch).where(
                Watch.user_id == actor.id,
                Watch.target_type == "thread",
                Watch.target_id == thread.id,
                Watch.level == AFFECTED_LEVEL,
            )
        )
    return vote.on


def _move_recent(thread: Thread, created_at: datetime, by: int) -> None:
    """Move a known issue's stored 7-day count for a report made at `created_at`, if the
    count includes that time (a report older than the last recount was never counted)."""
    db.session.execute(
        update(KnownIssue)
        .where(
            KnownIssue.thread_id == thread.id,
            KnownIssue.recent_since <= created_at,
            KnownIssue.recent_affected + by >= 0,
        )
        .values(recent_affected=KnownIssue.recent_affected + by)
    )


def _follow_quietly(user_id: int, thread_id: int) -> None:
    """Watch level "affected", unless the member chose to watch every post or to mute it."""
    exists = db.session.scalar(
        select(Watch.id).where(
            Watch.user_id == user_id, Watch.target_type == "thread", Watch.target_id == thread_id
        )
    )
    if exists is None:
        db.session.add(
            Watch(user_id=user_id, target_type="thread", target_id=thread_id, level=AFFECTED_LEVEL)
        )
        db.session.flush()


def move_affected(source: Thread, target: Thread) -> int:
    """A merge or a duplicate: the source's affected members (and its asker) join the target,
    each counted once (nobody twice, and the target's asker never). Returns how many joined."""
    already = set(
        db.session.scalars(select(AffectedMember.user_id).where(AffectedMember.thread_id == target.id))
    )
    already.add(target.author_id)
    rows = list(db.session.scalars(select(AffectedMember).where(AffectedMember.thread_id == source.id)))
    moved = 0
    candidates = [(row.user_id, row.created_at) for row in rows] + [(source.author_id, source.created_at)]
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    for user_id, created_at in candidates:
        if user_id in already:
            continue
        already.add(user_id)
        db.session.add(
            AffectedMember(
                thread_id=target.id, user_id=user_id, created_at=created_at, created_on=created_at.date()
            )
        )
        _follow_quietly(user_id, target.id)
        moved += 1
    db.session.flush()
    for thread in (source, target):
        db.session.execute(
            update(Thread)
            .where(Thread.id == thread.id)
            .values(
                affected_count=select(func.count(AffectedMember.id))
                .where(AffectedMember.thread_id == thread.id)
                .scalar_subquery()
            )
        )
        db.session.refresh(thread, ["affected_count"])  # read back now, as before the shared helper
    recount_recent_affected([source.id, target.id])
    return moved


def on_threads_combined(sender: User, *, source: Thread, target: Thread, how: str, **_: object) -> None:
    """forum.events.threads_combined: merges and duplicates carry the affected members over."""
    if source.board.is_question_board or source.affected_count:
        move_affected(source, target)


# -- the known-issue timeline -----------------------------------------------------------------


def known_issue(thread: Thread) -> KnownIssue | None:
    return db.session.get(KnownIssue, thread.id)


def timeline(thread: Thread) -> list[KnownIssueChange]:
    return list(
        db.session.scalars(
            select(KnownIssueChange)
            .where(KnownIssueChange.thread_id == thread.id)
            .order_by(KnownIssueChange.created_at, KnownIssueChange.id)
        )
    )


def allowed_statuses(issue: KnownIssue | None) -> tuple[str, ...]:
    """What the status form offers: "reported" (or straight to a later status) for a new issue."""
    if issue is None:
        return ("reported", "acknowledged", "workaround", "fixed")
    return NEXT_STATUSES[issue.status]


def check_note(note: str | None) -> str:
    note = " ".join((note or "").split())
    if len(note) > NOTE_MAX:
        raise Invalid(f"The note is {len(note)} characters long; keep it under {NOTE_MAX + 1}.", "note")
    return note


def set_known_status(
    thread: Thread,
    status: str,
    note: str = "",
    *,
    actor: User,
    badge: EmployeeBadge | None = None,
    now: datetime | None = None,
) -> KnownIssue:
    """Mark a question as a known issue or move it along its timeline; the caller commits.

    `badge`: the actor's own active badge when they choose to act with it (then the timeline
    shows "Employee · <Company>"). Jumps backwards are refused with a message on the field.
    """
    if not permissions.can_manage_known_issue(actor, thread):
        raise Forbidden("Only moderators and verified employees can change a known issue.")
    if status not in KNOWN_STATUSES:
        raise Invalid(f"Choose a status: {', '.join(KNOWN_STATUSES.values())}.", "status")
    note = check_note(note)
    if badge is not None and not can_wear_badge(actor, badge):
        raise Forbidden("You can act only with your own, active employee badge.", "with_badge")
    issue = known_issue(thread)
    allowed = allowed_statuses(issue)
    if status not in allowed:
        current = issue.status_label if issue else "not a known issue"
        if issue is not None and status == issue.status:
            raise Conflict(f"This issue is already “{current}”.", "status")
        hint = (
            " A fixed issue must be marked “Recurred” first."
            if issue is not None and issue.status == "fixed"
            else ""
        )
        choices = ", ".join(f"“{KNOWN_STATUSES[s]}”" for s in allowed)
        raise Invalid(f"From “{current}” the status can go to {choices}.{hint}", "status")
    now = now or utcnow()
    old = issue.status if issue else None
    if issue is None:
        since = now - timedelta(days=RECENT_DAYS)  # members affected before it was marked count
        issue = KnownIssue(
            thread_id=thread.id, status=status, marked_at=now, status_changed_at=now,
            recent_affected=_reports_since(thread.id, since), recent_since=since,
        )  # fmt: skip
        db.session.add(issue)
    issue.status = status
    issue.status_changed_at = now
    if status in ("acknowledged", "workaround", "fixed") and issue.acknowledged_at is None:
        issue.acknowledged_at = now
    if status == "fixed":
        issue.fixed_at = now
    elif status == "recurred":
        issue.fixed_at = None
    change = KnownIssueChange(
        thread_id=thread.id, old_status=old, new_status=status, note=note, actor_id=actor.id,
        badge_id=badge.id if badge else None, created_at=now,
    )  # fmt: skip
    db.session.add(change)
    db.session.flush()
    if status in TOLD_STATUSES:
        tell_affected(
            thread,
            "known_update",
            actor=actor,
            detail=f"{KNOWN_STATUSES[status]}" + (f": {note}" if note else ""),
        )
    return issue


# -- telling the affected ---------------------------------------------------------------------


def followers_told_of_progress(thread: Thread) -> list[User]:
    """Members whose thread watch is "affected" or "watching", and the asker (unless muted)."""
    ids = set(
        db.session.scalars(
            select(Watch.user_id).where(
                Watch.target_type == "thread",
                Watch.target_id == thread.id,
                Watch.level.in_((AFFECTED_LEVEL, "watching")),
            )
        )
    )
    muted = set(
        db.session.scalars(
            select(Watch.user_id).where(
                Watch.target_type == "thread", Watch.target_id == thread.id, Watch.level == "muted"
            )
        )
    )
    if thread.author_id not in muted:
        ids.add(thread.author_id)
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))


def tell_affected(thread: Thread, kind: str, *, actor: User | None, detail: str = "") -> int:
    """One notification each to the thread's affected members and watchers (never the actor)."""
    from forum.notifications.notifying import notify_many

    return len(
        notify_many(followers_told_of_progress(thread), kind, actor=actor, thread=thread, detail=detail)
    )


def on_solution_marked(sender: User, *, thread: Thread, post: object = None, **_: object) -> None:
    """forum.events.solution_marked: members following as "affected" hear it is solved."""
    if post is None:
        return
    from forum.notifications.notifying import notify_many

    ids = list(
        db.session.scalars(
            select(Watch.user_id).where(
                Watch.target_type == "thread", Watch.target_id == thread.id, Watch.level == AFFECTED_LEVEL
            )
        )
    )
    if ids:
        users = db.session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)).all()
        notify_many(users, "known_solved", actor=sender, thread=thread, post=post)


# -- the register's 7-day counts ---------------------------------------------------------------


def _reports_since(thread_id: Any, since: datetime) -> Any:
    """The number of "affected" reports on a thread since `since`, as a scalar subquery
    (`thread_id` is an id, or KnownIssue.thread_id to count for every issue updated)."""
    return (
        select(func.count(AffectedMember.id))
        .where(
            AffectedMember.thread_id == thread_id,
            AffectedMember.created_on >= since.date(),  # ix_affected_members_recent's range
            AffectedMember.created_at >= since,
        )
        .scalar_subquery()
    )


def recount_statement(thread_ids: list[int] | None = None, now: datetime | None = None) -> Update:
    """Set each known issue's stored count to its reports of the last 7 days (all issues, or
    those of `thread_ids`); the exchange importer runs it on its own connection."""
    since = (now or utcnow()) - timedelta(days=RECENT_DAYS)
    statement = update(KnownIssue).values(
        recent_affected=_reports_since(KnownIssue.thread_id, since), recent_since=since
    )
    if thread_ids is not None:
        statement = statement.where(KnownIssue.thread_id.in_(thread_ids))
    return statement


def recount_recent_affected(thread_ids: list[int] | None = None, now: datetime | None = None) -> int:
    """Recount the register's 7-day counts: hourly (reports older than 7 days drop out only
    here) and after a merge moves reports. Returns how many issues were counted."""
    return db.session.execute(recount_statement(thread_ids, now)).rowcount
