"""Accepted solutions, helpful votes and reputation: the rules and the counters.

Reputation = helpful votes received on posts that are not deleted + 10 per accepted
solution. A solution counts for its author unless the asker answered their own question
(allowed, shown as solved, but it earns nothing). Counters (Post.helpful_count,
User.solution_count, User.reputation) change by atomic SQL increments, so concurrent
requests never lose an update; `recount()` recomputes them all from the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from forum import events
from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.boards.visibility import thread_is_visible
from forum.counters import votes
from forum.errors import Conflict, Forbidden, Invalid
from forum.extensions import db
from forum.moderation import audit
from forum.qa import permissions
from forum.qa.models import HelpfulVote

SOLUTION_REPUTATION = 10
THREAD_FILTERS = ("unsolved", "unanswered")


def _bump_user(user_id: int, *, reputation: int = 0, solutions: int = 0) -> None:
    """Add to a user's counters in SQL (never read-modify-write), then forget stale values."""
    if not reputation and not solutions:
        return
    db.session.execute(
        update(User)
        .where(User.id == user_id)
        .values(reputation=User.reputation + reputation, solution_count=User.solution_count + solutions)
        .execution_options(synchronize_session=False)
    )
    user = db.session.identity_map.get(db.session.identity_key(User, (user_id,)))  # type: ignore[arg-type]
    if user is not None:
        db.session.expire(user, ["reputation", "solution_count"])


def _earns_credit(post: Post) -> bool:
    """Answering your own question does not earn solution credit (as on Stack Exchange)."""
    return post.author_id != post.thread.author_id


def _credit_solution(post: Post, sign: int) -> None:
    if _earns_credit(post):
        _bump_user(post.author_id, reputation=sign * SOLUTION_REPUTATION, solutions=sign)


# -- solutions ---------------------------------------------------------------------------------


def mark_solution(post: Post, *, actor: User) -> None:
    """Make `post` its thread's accepted solution (replacing any earlier one); the caller commits.

    A moderator's choice is written to the audit log for the asker.
    """
    thread = post.thread
    if not permissions.can_mark_solution(actor, thread):
        if not thread.board.is_question_board:
            raise Forbidden("Threads in this board are not questions: they have no solutions.")
        raise Forbidden("Only the person who asked or a moderator can choose the solution.")
    if not permissions.can_be_solution(post):
        raise Invalid("Only a visible reply can be the solution, not the question itself.")
    previous_id = thread.solution_post_id
    if previous_id == post.id:
        return
    _swap_solution(thread, previous_id, post)
    events.solution_marked.send(actor, thread=thread, post=post)
    if actor.id != thread.author_id:
        audit.record(
            actor, "chose the solution", target_type="post", target_id=post.id, target_label=thread.title,
            board_id=thread.board_id, affected_user=thread.author,
            details=f"previous solution: post {previous_id}" if previous_id else "",
        )  # fmt: skip


def unmark_solution(thread: Thread, *, actor: User) -> None:
    """The thread goes back to unsolved; the caller commits."""
    if not permissions.can_mark_solution(actor, thread):
        raise Forbidden("Only the person who asked or a moderator can change the solution.")
    previous_id = thread.solution_post_id
    if previous_id is None:
        return
    _swap_solution(thread, previous_id, None)
    events.solution_marked.send(actor, thread=thread, post=None)
    if actor.id != thread.author_id:
        audit.record(
            actor, "unmarked the solution", target_type="post", target_id=previous_id,
            target_label=thread.title, board_id=thread.board_id, affected_user=thread.author,
        )  # fmt: skip


def _swap_solution(thread: Thread, previous_id: int | None, post: Post | None) -> None:
    """Compare-and-set the thread's solution, then move the credit.

    The conditional UPDATE makes two concurrent changes safe: the second one finds the
    solution is no longer what it read and is refused instead of moving credit twice.
    """
    current = (
        Thread.solution_post_id.is_(None) if previous_id is None else Thread.solution_post_id == previous_id
    )
    result = db.session.execute(
        update(Thread)
        .where(Thread.id == thread.id, current)
        .values(solution_post_id=post.id if post else None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(thread, ["solution_post_id"])
        raise Conflict("Someone changed the solution at the same moment; reload the thread and try again.")
    db.session.expire(thread, ["solution_post_id"])
    if previous_id is not None:
        previous = db.session.get(Post, previous_id)
        if previous is not None:
            _credit_solution(previous, -1)
    if post is not None:
        _credit_solution(post, +1)


def solution_post(thread: Thread, posts: Iterable[Post] = ()) -> Post | None:
    """The accepted reply with its author (taken from `posts` when it is among them)."""
    if thread.solution_post_id is None:
        return None
    loaded = thread.__dict__.get("loaded_solution")  # came with the page's posts (boards.thread_posts)
    if loaded is not None:
        return loaded
    for post in posts:
        if post.id == thread.solution_post_id:
            return post
    return db.session.scalar(
        select(Post).options(joinedload(Post.author)).where(Post.id == thread.solution_post_id)
    )


def accepted_solutions(user: User, limit: int = 10) -> list[Thread]:
    """Threads (visible, newest activity first) whose accepted solution the user wrote, for profiles."""
    return list(
        db.session.scalars(
            select(Thread)
            .options(joinedload(Thread.board))
            .join(Post, Post.id == Thread.solution_post_id)
            .where(
                Post.author_id == user.id,
                Thread.author_id != user.id,
                thread_is_visible(),
            )
            .order_by(Thread.last_post_at.desc(), Thread.id.desc())
            .limit(limit)
        )
    )


# -- helpful votes -----------------------------------------------------------------------------


def set_helpful(post: Post, *, actor: User, helpful: bool | None = None) -> bool:
    """Add or remove the actor's helpful vote (None toggles); returns whether it is now on.

    A repeated click changes nothing. Two requests adding the same vote at the same moment:
    the second raises IntegrityError (forum.counters.votes), which the caller answers like
    a repeated click (roll back, show the current state). The author's reputation follows.
    """
    if not permissions.can_vote_helpful(actor, post):
        if post.author_id == getattr(actor, "id", None):
            raise Forbidden("You cannot mark your own post as helpful.")
        if not post.is_visible:
            raise Conflict("This post is deleted or hidden: it takes no votes.")
        raise Forbidden("You cannot vote on posts at the moment.")
    vote = votes.set_vote(HelpfulVote.post_id, post, "helpful_count", actor=actor, wanted=helpful)
    if vote.moved:
        _bump_user(post.author_id, reputation=vote.moved)
        events.post_voted.send(actor, post=post, added=vote.on)
    return vote.on


def has_voted(post: Post, user: Any) -> bool:
    return votes.has_vote(HelpfulVote.post_id, post, user)


# -- deletions ---------------------------------------------------------------------------------


def post_deleted(actor: User, *, post: Post) -> None:
    """A deleted post stops earning: its votes leave the author's reputation, and if it was
    the accepted solution the thread becomes unsolved again (receiver of events.post_deleted)."""
    thread = post.thread
    if thread.solution_post_id == post.id:
        _swap_solution(thread, post.id, None)
        events.solution_marked.send(actor, thread=thread, post=None)
    votes = db.session.scalar(
        select(func.count()).select_from(HelpfulVote).where(HelpfulVote.post_id == post.id)
    )
    _bump_user(post.author_id, reputation=-(votes or 0))


# -- lists -------------------------------------------------------------------------------------


def _filter_conditions(kind: str) -> list[Any]:
    if kind not in THREAD_FILTERS:
        raise Invalid(f"Unknown filter “{kind}”: use unsolved or unanswered.", "filter")
    conditions: list[Any] = [thread_is_visible()]
    if kind == "unsolved":
        conditions.append(Thread.solution_post_id.is_(None))
    else:
        conditions.append(Thread.reply_count == 0)
    return conditions


def count_question_threads(kind: str, board: Board | None = None) -> int:
    query = select(func.count()).select_from(Thread).where(*_filter_conditions(kind))
    if board is None:
        query = query.join(Board, Thread.board_id == Board.id).where(Board.kind == "questions")
    else:
        query = query.where(Thread.board_id == board.id)
    return db.session.scalar(query) or 0


def question_threads(kind: str, page: int, per_page: int, board: Board | None = None) -> list[Thread]:
    """Unsolved or unanswered threads of one question board, or of all of them; latest first."""
    query = select(Thread).options(
        joinedload(Thread.author), joinedload(Thread.last_poster), joinedload(Thread.board)
    )
    query = query.where(*_filter_conditions(kind))
    if board is None:
        query = query.join(Board, Thread.board_id == Board.id).where(Board.kind == "questions")
        order = (Thread.last_post_at.desc(), Thread.id.desc())
    else:
        query = query.where(Thread.board_id == board.id)
        order = (Thread.is_pinned.desc(), Thread.last_post_at.desc(), Thread.id.desc())
    return list(db.session.scalars(query.order_by(*order).offset((page - 1) * per_page).limit(per_page)))


# -- recount -----------------------------------------------------------------------------------


def expected_counters() -> tuple[dict[int, int], dict[int, tuple[int, int]]]:
    """From the rows: helpful votes per post, and (solutions, reputation) per user. Votes that
    were imported as a number without their voters (Post.helpful_carried) count too."""
    helpful = dict(
        db.session.execute(select(HelpfulVote.post_id, func.count()).group_by(HelpfulVote.post_id)).all()
    )
    earned = dict(
        db.session.execute(
            select(Post.author_id, func.count())
            .join(HelpfulVote, HelpfulVote.post_id == Post.id)
            .where(Post.deleted_at.is_(None))
            .group_by(Post.author_id)
        ).all()
    )
    for post_id, author_id, deleted_at, carried in db.session.execute(
        select(Post.id, Post.author_id, Post.deleted_at, Post.helpful_carried).where(Post.helpful_carried > 0)
    ):
        helpful[post_id] = helpful.get(post_id, 0) + carried
        if deleted_at is None:
            earned[author_id] = earned.get(author_id, 0) + carried
    solutions = dict(
        db.session.execute(
            select(Post.author_id, func.count())
            .join(Thread, Thread.solution_post_id == Post.id)
            .where(Post.author_id != Thread.author_id)
            .group_by(Post.author_id)
        ).all()
    )
    users = {
        user_id: (
            solutions.get(user_id, 0),
            earned.get(user_id, 0) + SOLUTION_REPUTATION * solutions.get(user_id, 0),
        )
        for user_id in db.session.scalars(select(User.id))
    }
    return helpful, users


def recount() -> int:
    """Recompute every helpful count, solution count and reputation; returns how many changed."""
    helpful, users = expected_counters()
    changed = 0
    for post in db.session.scalars(
        select(Post).where((Post.helpful_count != 0) | Post.id.in_(list(helpful)))
    ):
        if post.helpful_count != helpful.get(post.id, 0):
            post.helpful_count = helpful.get(post.id, 0)
            changed += 1
    for user in db.session.scalars(select(User)):
        solutions, reputation = users[user.id]
        if (user.solution_count, user.reputation) != (solutions, reputation):
            user.solution_count, user.reputation = solutions, reputation
            changed += 1
    return changed
