"""Solutions, helpful votes and the unsolved/unanswered lists: parse, service, commit, respond."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from forum.boards import services as boards
from forum.boards.models import THREADS_PER_PAGE, Board, Post, Thread
from forum.errors import wants_json
from forum.extensions import db
from forum.qa import permissions, services
from forum.web import page_number

bp = Blueprint("qa", __name__)
log = logging.getLogger(__name__)

LIST_TITLES = {"unsolved": "Unsolved questions", "unanswered": "Unanswered questions"}


def post_anchor(post: Post) -> str:
    """The thread page holding `post`, scrolled to it."""
    page = f"?page={post.page}" if post.page > 1 else ""
    return f"{post.thread.url}{page}#post-{post.id}"


def _wanted_state() -> bool | None:
    """The form says which state the button asks for ("1" add, "0" remove); absent means toggle."""
    raw = request.form.get("helpful", "")
    if raw not in ("", "0", "1"):
        abort(400, description="helpful must be 1 (add your vote) or 0 (remove it).")
    return None if raw == "" else raw == "1"


@bp.route("/p/<int:post_id>/helpful", methods=["POST"])
@login_required
def helpful(post_id: int) -> ResponseReturnValue:
    post = boards.get_post(post_id, viewer=current_user)
    wanted = _wanted_state()
    try:
        state = services.set_helpful(post, actor=current_user, helpful=wanted)
        db.session.commit()
    except IntegrityError:
        # The same member's concurrent request inserted this vote first: answer as for a repeat.
        db.session.rollback()
        if not services.has_voted(post, current_user):
            raise
        log.info(
            "settled a concurrent duplicate helpful vote on post %s by user %s", post.id, current_user.id
        )
        state = True
    if wants_json():
        return jsonify(post_id=post.id, helpful=state, count=post.helpful_count)
    return redirect(post_anchor(post))


@bp.route("/p/<int:post_id>/solution", methods=["POST"])
@login_required
def mark_solution(post_id: int) -> ResponseReturnValue:
    post = boards.get_post(post_id, viewer=current_user)
    services.mark_solution(post, actor=current_user)
    db.session.commit()
    if wants_json():
        return jsonify(thread_id=post.thread_id, solution_post_id=post.id)
    flash("Marked as the solution. Thanks for closing the loop!", "success")
    return redirect(post_anchor(post))


@bp.route("/t/<int:thread_id>/solution/remove", methods=["POST"])
@login_required
def unmark_solution(thread_id: int) -> ResponseReturnValue:
    thread = boards.get_thread(thread_id, viewer=current_user)
    services.unmark_solution(thread, actor=current_user)
    db.session.commit()
    if wants_json():
        return jsonify(thread_id=thread.id, solution_post_id=None)
    flash("The thread is unsolved again.", "info")
    return redirect(thread.url)


def _thread_list(kind: str, board: Board | None) -> tuple[list[Thread], int, int]:
    if kind not in services.THREAD_FILTERS:
        abort(400, description="Unknown filter: use ?filter=unsolved or ?filter=unanswered.")
    total = services.count_question_threads(kind, board)
    page_count = max(1, -(-total // THREADS_PER_PAGE))
    page = page_number(page_count)
    return services.question_threads(kind, page, THREADS_PER_PAGE, board), page, page_count


@bp.route("/unsolved", defaults={"kind": "unsolved"})
@bp.route("/unanswered", defaults={"kind": "unanswered"})
def question_list(kind: str) -> ResponseReturnValue:
    threads, page, page_count = _thread_list(kind, None)
    return render_template(
        "qa/list.html", kind=kind, title=LIST_TITLES[kind], threads=threads, page=page, page_count=page_count
    )


def filtered_board(board: Board) -> ResponseReturnValue:
    """A question board's page narrowed by ?filter=unsolved|unanswered (called by boards.board)."""
    if not board.is_question_board:
        abort(404, description="Only question boards can be filtered by unsolved or unanswered threads.")
    kind = request.args.get("filter", "")
    threads, page, page_count = _thread_list(kind, board)
    return render_template(
        "boards/board.html",
        board=board,
        threads=threads,
        page=page,
        page_count=page_count,
        thread_filter=kind,
    )


def thread_state(thread: Thread, posts: list[Post], viewer: Any) -> dict[str, Any]:
    """What the thread page needs for Q&A, in at most one query (the solution, if on another page).

    A member's votes come with the posts (Post.viewer_found_helpful, loaded by thread_posts).
    """
    member = getattr(viewer, "is_authenticated", False)
    return {
        "solution": services.solution_post(thread, posts),
        "voted": {post.id for post in posts if post.viewer_found_helpful} if member else set(),
        "can_mark": permissions.can_mark_solution(viewer, thread),
    }


def register_templating(app: Any) -> None:
    app.jinja_env.globals.update(
        qa_thread_state=thread_state,
        accepted_solutions=services.accepted_solutions,
        can_mark_solution=permissions.can_mark_solution,
        can_be_solution=permissions.can_be_solution,
        can_vote_helpful=permissions.can_vote_helpful,
    )
