"""Q&A: accepted solutions, helpful votes, reputation, unsolved and unanswered lists."""

from __future__ import annotations

from typing import Any

from flask import Flask, request


def init_app(app: Flask) -> None:
    """Pages, the `qa` commands, the questions board kind, the thread page's Q&A parts, receivers."""
    from forum import pages
    from forum.boards.kinds import BoardKind, register_board_kind
    from forum.qa import footer, receivers
    from forum.qa.cli import bp as cli_bp
    from forum.qa.views import bp, filtered_board, register_templating, thread_state

    app.register_blueprint(bp)
    app.register_blueprint(cli_bp)
    register_templating(app)
    receivers.connect()

    def question_board(board):  # ?filter=unsolved|unanswered; else the plain list
        return filtered_board(board) if "filter" in request.args else None

    register_board_kind(
        app, BoardKind("questions", "Questions (threads can be marked solved)", order=10, page=question_board)
    )
    pages.add_loader(app, "thread", "qa", thread_state)
    pages.fill_slot(app, "board.filters", "qa/_board_filters.html")
    pages.fill_slot(app, "thread.title", "qa/_thread_title.html")
    pages.fill_slot(app, "thread_row.marks", "qa/_row_marks.html", macro="row_marks", order=10)
    pages.fill_slot(app, "thread.after_opening_post", "qa/_solution_notice.html", order=10)
    pages.fill_slot(
        app,
        "post.author",
        "qa/_post_reputation.html",
        macro="post_reputation",
        order=10,
        when=_has_reputation,
    )
    pages.fill_slot(app, "post.header", "qa/_post_header.html", macro="post_header", when=_is_the_solution)
    pages.fill_slot(app, "post.actions", render=footer.post_actions, order=10, when=_has_actions)


def _has_actions(post: Any, features: Any, viewer: Any) -> bool:
    """Visitors can neither vote nor mark a solution: for them only a helpful count shows."""
    return bool(post.is_visible and (viewer.is_member or post.helpful_count))


def _has_reputation(post: Any, features: Any, viewer: Any) -> bool:
    return bool(post.author.reputation)


def _is_the_solution(post: Any, features: Any, viewer: Any) -> bool:
    qa = (features or {}).get("qa")
    return bool(qa and qa.get("solution") is not None and qa["solution"].id == post.id)
