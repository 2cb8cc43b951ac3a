"""Q&A and ideas test data, built through the services, then committed."""

from __future__ import annotations

from typing import Any

from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.extensions import db
from forum.ideas import services as ideas
from forum.qa import services as qa
from tests.factories import make_board, make_reply, make_thread, make_user


def make_question(
    asker: User | None = None, board: Board | None = None, answerers: int = 1
) -> tuple[Thread, list[Post]]:
    """A question thread with one reply by each of `answerers` new members."""
    board = board or make_board(kind="questions")
    thread = make_thread(board, asker or make_user(), title="How do I fix my router?")
    replies = [make_reply(thread, make_user(), body=f"Try answer {index + 1}.") for index in range(answerers)]
    return thread, replies


def vote_helpful(post: Post, voter: User, helpful: bool | None = True) -> None:
    qa.set_helpful(post, actor=voter, helpful=helpful)
    db.session.commit()


def mark(post: Post, actor: User) -> None:
    qa.mark_solution(post, actor=actor)
    db.session.commit()


def make_ideas_board(**fields: Any) -> Board:
    return make_board(kind="ideas", **fields)


def make_idea(board: Board, author: User | None = None, title: str = "Dark mode for the app") -> Thread:
    return make_thread(board, author or make_user(), title=title)


def vote_idea(thread: Thread, voter: User, vote: bool | None = True) -> None:
    ideas.set_idea_vote(thread, actor=voter, vote=vote)
    db.session.commit()


def set_status(thread: Thread, status: str, actor: User, note: str = "") -> None:
    ideas.set_idea_status(thread, status, note, actor=actor)
    db.session.commit()
