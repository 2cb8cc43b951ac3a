"""Known problems test data, built through the services (issue #17)."""

from __future__ import annotations

from typing import Any

from forum.boards.models import Board, Thread
from forum.extensions import db
from forum.known import fields, services
from forum.known.models import ProblemField
from tests.factories import make_board


def make_question_board(name: str | None = None) -> Board:
    return make_board(name, kind="questions")


def say_affected(thread: Thread, *members: Any) -> None:
    for member in members:
        services.set_affected(thread, actor=member, affected=True)
    db.session.commit()


def define(board: Board, admin: Any, label: str, *, kind: str = "choice", choices: str = "",
           required: bool = False, position: int = 0, key: str = "") -> ProblemField:  # fmt: skip
    field = fields.define_field(
        board, fields.FieldDefinition(label, key, kind, choices, required, position), actor=admin
    )
    db.session.commit()
    return field


def set_status(thread: Thread, status: str, actor: Any, note: str = "", **kwargs: Any) -> None:
    services.set_known_status(thread, status, note, actor=actor, **kwargs)
    db.session.commit()
