"""Record types of Q&A and ideas: `helpful_vote`, `idea`, `idea_vote`, `idea_status_change`.

Who voted is private (the pages show counts only), so vote records are in full backups only;
the counts people see travel on the post (`helpful_count`) and idea (`vote_count`) records,
so a public archive shows the same numbers. A file with vote records gets its counts from
them instead. Solution counts and reputation are recomputed after the import with the rules
of forum/qa/services.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select, update

from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.boards.visibility import thread_is_visible
from forum.exchange.exporter import batched
from forum.exchange.fields import RecordError, ident, iso, text, timestamp
from forum.exchange.importer import Checker, Links, Loader, Parsed
from forum.extensions import db
from forum.ideas.models import IDEA_STATUSES, Idea, IdeaStatusChange, IdeaVote
from forum.qa.models import HelpfulVote
from forum.qa.services import SOLUTION_REPUTATION


def _count(record: dict[str, Any], name: str) -> int:
    value = record.get(name, 0)
    if type(value) is not int or value < 0:
        raise RecordError(f"{name!r} must be a whole number of at least 0, not {value!r}")
    return value


def _status(record: dict[str, Any], name: str) -> str:
    value = text(record, name, max_length=20)
    if value not in IDEA_STATUSES:
        raise RecordError(f"{name!r} must be one of {', '.join(IDEA_STATUSES)}, not {value!r}")
    return value


def _public_threads(statement: Any, thread_column: Any, full: bool) -> Any:
    """The public archive leaves out what belongs to deleted or hidden threads."""
    if full:
        return statement
    return statement.join(Thread, Thread.id == thread_column).where(thread_is_visible())


# -- helpful_vote (full only: who found what helpful) -----------------------------------------


def parse_helpful_vote(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "post_id": ident(r, "post_id"),
        "user_id": ident(r, "user_id"),
        "created_at": timestamp(r, "created_at"),
    }


HELPFUL_VOTE = Links("helpful_vote", {"post_id": "post", "user_id": "user"})


def check_helpful_vote(c: Checker, p: Parsed) -> None:
    HELPFUL_VOTE.check(c, p)


def load_helpful_vote(loader: Loader, p: Parsed) -> None:
    loader.add("helpful_votes", HELPFUL_VOTE.row(loader, p))


def export_helpful_votes(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for vote in batched(select(HelpfulVote), HelpfulVote.id):
        yield {
            "type": "helpful_vote", "id": vote.id, "post_id": vote.post_id, "user_id": vote.user_id,
            "created_at": iso(vote.created_at),
        }  # fmt: skip


# -- idea (the state of an idea thread; public) ------------------------------------------------


def parse_idea(r: dict[str, Any]) -> Parsed:
    return {
        "thread_id": ident(r, "thread_id"),
        "status": _status(r, "status"),
        "vote_count": _count(r, "vote_count"),
        "votes_carried": _count(r, "votes_carried") if "votes_carried" in r else 0,
        "status_changed_at": timestamp(r, "status_changed_at", required=False),
    }


IDEA = Links("idea", {"thread_id": "thread"}, id="thread_id")


def check_idea(c: Checker, p: Parsed) -> None:
    IDEA.check(c, p)


def load_idea(loader: Loader, p: Parsed) -> None:
    carried = p["votes_carried"] if loader.checker.counts.get("idea_vote") else p["vote_count"]
    loader.add("ideas", IDEA.row(loader, p, votes_carried=carried))


def export_ideas(full: bool) -> Iterator[dict[str, Any]]:
    statement = _public_threads(select(Idea), Idea.thread_id, full).order_by(Idea.thread_id)
    for idea in db.session.scalars(statement):
        record = {
            "type": "idea", "thread_id": idea.thread_id, "status": idea.status,
            "vote_count": idea.vote_count, "status_changed_at": iso(idea.status_changed_at),
        }  # fmt: skip
        if full and idea.votes_carried:  # votes that came without voters: not in the vote records
            record["votes_carried"] = idea.votes_carried
        yield record
    db.session.expunge_all()


# -- idea_vote (full only) ---------------------------------------------------------------------


def parse_idea_vote(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "thread_id": ident(r, "thread_id"),
        "user_id": ident(r, "user_id"),
        "created_at": timestamp(r, "created_at"),
    }


IDEA_VOTE = Links("idea_vote", {"thread_id": "idea", "user_id": "user"})


def check_idea_vote(c: Checker, p: Parsed) -> None:
    IDEA_VOTE.check(c, p)


def load_idea_vote(loader: Loader, p: Parsed) -> None:
    loader.add("idea_votes", IDEA_VOTE.row(loader, p))


def export_idea_votes(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for vote in batched(select(IdeaVote), IdeaVote.id):
        yield {
            "type": "idea_vote", "id": vote.id, "thread_id": vote.thread_id, "user_id": vote.user_id,
            "created_at": iso(vote.created_at),
        }  # fmt: skip


# -- idea_status_change (the history shown in the idea's thread; public) -----------------------


def parse_idea_status_change(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "thread_id": ident(r, "thread_id"),
        "actor_id": ident(r, "actor_id", required=False),
        "old_status": _status(r, "old_status"),
        "new_status": _status(r, "new_status"),
        "note": text(r, "note", required=False, max_length=500) or "",
        "created_at": timestamp(r, "created_at"),
    }


IDEA_STATUS_CHANGE = Links("idea_status_change", {"thread_id": "idea", "actor_id": "user"})


def check_idea_status_change(c: Checker, p: Parsed) -> None:
    IDEA_STATUS_CHANGE.check(c, p)


def load_idea_status_change(loader: Loader, p: Parsed) -> None:
    loader.add("idea_status_changes", IDEA_STATUS_CHANGE.row(loader, p))


def export_idea_status_changes(full: bool) -> Iterator[dict[str, Any]]:
    statement = _public_threads(select(IdeaStatusChange), IdeaStatusChange.thread_id, full)
    for change in batched(statement, IdeaStatusChange.id):
        yield {
            "type": "idea_status_change", "id": change.id, "thread_id": change.thread_id,
            "actor_id": change.actor_id, "old_status": change.old_status, "new_status": change.new_status,
            "note": change.note, "created_at": iso(change.created_at),
        }  # fmt: skip


# -- counters ----------------------------------------------------------------------------------


def recompute_vote_counts(loader: Loader) -> None:
    """Each count is its vote rows plus what it carries without voters (set when loading).

    Who voted is in full backups only: there a count is its vote records plus the record's
    `helpful_carried`/`votes_carried` (imported counts a backed-up forum kept); a file without
    vote records (a public archive, another forum's likes) carries its whole counts. A recount
    adds the carried part to the rows, so it never drops imported votes.
    """
    connection = loader.connection
    helpful_rows = select(func.count()).where(HelpfulVote.post_id == Post.id).scalar_subquery()
    connection.execute(
        update(Post)
        .where((Post.helpful_count != Post.helpful_carried) | Post.id.in_(select(HelpfulVote.post_id)))
        .values(helpful_count=helpful_rows + Post.helpful_carried)
    )
    idea_rows = select(func.count()).where(IdeaVote.thread_id == Idea.thread_id).scalar_subquery()
    connection.execute(update(Idea).values(vote_count=idea_rows + Idea.votes_carried))


def recompute_reputation(loader: Loader) -> None:
    """User.solution_count and User.reputation by the rules of forum.qa.services.

    A solution counts for its author unless the asker answered their own question; reputation
    is the helpful votes received on posts that are not deleted (Post.helpful_count, which the
    file carries, so a public archive without vote rows gets the same figures) + 10 per solution.
    """
    from forum.exchange.records import _set_counts

    connection = loader.connection
    solutions = dict(connection.execute(
        select(Post.author_id, func.count()).join(Thread, Thread.solution_post_id == Post.id)
        .where(Post.author_id != Thread.author_id).group_by(Post.author_id)
    ).all())  # fmt: skip
    earned = dict(connection.execute(
        select(Post.author_id, func.sum(Post.helpful_count))
        .where(Post.deleted_at.is_(None), Post.helpful_count > 0).group_by(Post.author_id)
    ).all())  # fmt: skip
    _set_counts(connection, User, "solution_count", list(solutions.items()))
    reputation = {
        user_id: int(earned.get(user_id, 0)) + SOLUTION_REPUTATION * solutions.get(user_id, 0)
        for user_id in set(solutions) | set(earned)
    }
    _set_counts(connection, User, "reputation", list(reputation.items()))
