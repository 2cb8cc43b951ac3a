"""Board kinds, registered by the feature that owns each (forum.qa: questions, forum.ideas: ideas).

A kind gives its boards a label (the admin form's choice) and, optionally, a board page of
their own: `page(board)` returns a response, or None to show the plain list of threads.
The board view dispatches through this registry, so boards/ names no other feature.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from flask.typing import ResponseReturnValue

from forum.boards.models import Board

BoardPage = Callable[[Board], ResponseReturnValue | None]


@dataclass(frozen=True)
class BoardKind:
    name: str
    label: str
    order: int = 50  # its place among the admin form's choices
    page: BoardPage | None = None  # None: the plain list of threads
    filters: bool = False  # True: its page takes ?filter= (other boards answer 404 to it)


def register_board_kind(app: Flask, kind: BoardKind) -> None:
    kinds = app.extensions.setdefault("forum.board_kinds", {})
    kinds[kind.name] = kind


def board_kinds() -> list[BoardKind]:
    """The current app's kinds, in the admin form's order."""
    return sorted(current_app.extensions.get("forum.board_kinds", {}).values(), key=lambda kind: kind.order)


def board_kind(name: str) -> BoardKind | None:
    return current_app.extensions.get("forum.board_kinds", {}).get(name)
