"""Build test data through the services (never raw rows), then commit."""

from __future__ import annotations

import itertools
from typing import Any

from forum.auth import services as accounts
from forum.auth.models import User
from forum.boards import services as boards
from forum.boards.models import Board, Post, Thread
from forum.extensions import db

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


def make_user(username: str | None = None, *, role: str = "member", password: str = PASSWORD,
              email: str | None = None, **fields: Any) -> User:  # fmt: skip
    username = username or f"member{next(_numbers)}"
    user = accounts.register_user(username, email or f"{username}@example.org", password, role=role)
    for name, value in fields.items():
        setattr(user, name, value)
    db.session.commit()
    return user


def make_board(name: str | None = None, **fields: Any) -> Board:
    name = name or f"Board {next(_numbers)}"
    board = boards.create_board(name, **fields)
    db.session.commit()
    return board


def make_thread(board: Board | None = None, author: User | None = None, *, title: str | None = None,
                body: str = "Opening post text.", replies: int = 0) -> Thread:  # fmt: skip
    board = board or make_board()
    author = author or make_user()
    thread = boards.start_thread(board, title or f"Thread number {next(_numbers)}", body, actor=author)
    for index in range(replies):
        boards.reply(thread, f"Reply number {index + 1}", actor=author)
    db.session.commit()
    return thread


def make_reply(thread: Thread, author: User | None = None, body: str = "A reply.") -> Post:
    post = boards.reply(thread, body, actor=author or make_user())
    db.session.commit()
    return post


def login(client: Any, user: User | str, password: str = PASSWORD, remember: bool = False) -> Any:
    name = user if isinstance(user, str) else user.username
    data = {"login": name, "password": password}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def recount_counters() -> None:
    """After a test sets visibility or solution columns by hand (as no service does yet, or to
    reach a state quickly): bring the counters in line, as `flask forum recount` would, so the
    after-test counter invariant checks what the services do from then on."""
    from forum.counters.rows import recount_batches

    for _batch in recount_batches():
        pass
    db.session.commit()
