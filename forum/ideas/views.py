"""Ideas boards, idea votes and statuses: parse, service, commit, respond."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from forum.boards import services as boards
from forum.boards.models import THREADS_PER_PAGE, Board, Thread
from forum.errors import ServiceError, wants_json
from forum.extensions import db
from forum.ideas import permissions, services
from forum.ideas.forms import IdeaStatusForm
from forum.ideas.models import IDEA_STATUSES
from forum.web import page_number, safe_next

bp = Blueprint("ideas", __name__)


def idea_board(board: Board) -> ResponseReturnValue:
    """An ideas board's page: ?sort=votes|newest|active, ?status=<status> (called by boards.board)."""
    sort = request.args.get("sort", "votes")
    status = request.args.get("status", "")
    if sort not in services.SORTS:
        abort(400, description="Sort by votes, newest or active, like ?sort=newest.")
    if status and status not in IDEA_STATUSES:
        abort(400, description=f"Filter by one of these statuses: {', '.join(IDEA_STATUSES)}.")
    page_count = max(1, -(-services.count_ideas(board, status) // THREADS_PER_PAGE))
    page = page_number(page_count)
    rows = services.idea_threads(board, sort=sort, status=status, page=page, per_page=THREADS_PER_PAGE)
    query = "&".join(
        part
        for part in (f"sort={sort}" if sort != "votes" else "", f"status={status}" if status else "")
        if part
    )
    return render_template(
        "ideas/board.html", board=board, rows=rows, page=page, page_count=page_count, sort=sort,
        status=status, sorts=services.SORTS, statuses=IDEA_STATUSES, base_url=board.url + (f"?{query}" if query else ""),
        voted=services.voted_thread_ids(current_user, [thread for thread, _ in rows]),
        votes_used=services.active_vote_count(current_user), budget=services.vote_budget(),
    )  # fmt: skip


def _wanted_vote() -> bool | None:
    raw = request.form.get("vote", "")
    if raw not in ("", "0", "1"):
        abort(400, description="vote must be 1 (vote for the idea) or 0 (take your vote back).")
    return None if raw == "" else raw == "1"


@bp.route("/t/<int:thread_id>/vote", methods=["POST"])
@login_required
def vote(thread_id: int) -> ResponseReturnValue:
    thread = boards.get_thread(thread_id, viewer=current_user)
    wanted = _wanted_vote()
    try:
        state = services.set_idea_vote(thread, actor=current_user, vote=wanted)
        db.session.commit()
    except IntegrityError:
        # A concurrent request inserted the same vote (or the idea row) first: settle on what is stored.
        db.session.rollback()
        if not services.has_voted(thread, current_user):
            state = services.set_idea_vote(thread, actor=current_user, vote=wanted)
            db.session.commit()
        else:
            state = True
    if wants_json():
        idea = services.get_idea(thread)
        return jsonify(
            thread_id=thread.id, voted=state, count=idea.vote_count if idea else 0,
            votes_left=max(0, services.vote_budget() - services.active_vote_count(current_user)),
        )  # fmt: skip
    return redirect(safe_next(request.form.get("next"), thread.url))


@bp.route("/t/<int:thread_id>/status", methods=["GET", "POST"])
@login_required
def set_status(thread_id: int) -> ResponseReturnValue:
    thread = boards.get_thread(thread_id, viewer=current_user)
    if not permissions.is_idea(thread):
        abort(404, description="This thread is not in an ideas board.")
    if not permissions.can_set_idea_status(current_user, thread):
        abort(403, description="Only moderators and employees can set the status of an idea.")
    idea = services.get_idea(thread)
    form = IdeaStatusForm(data={"status": idea.status if idea else "new"})
    if form.validate_on_submit():
        try:
            change = services.set_idea_status(
                thread, form.status.data or "", form.note.data or "", actor=current_user
            )
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash(f"The idea is now “{change.new_label}”.", "success")
            return redirect(thread.url)
    status = 422 if form.has_errors else 200
    if request.method == "POST" and status == 200:
        status = 400
    return render_template("ideas/status.html", thread=thread, form=form), status


def thread_state(thread: Thread, viewer: Any) -> dict[str, Any] | None:
    """The idea panel of a thread page (four small queries), or None outside ideas boards."""
    if not permissions.is_idea(thread):
        return None
    idea = services.get_idea(thread)
    return {
        "status": idea.status if idea else "new",
        "status_label": idea.status_label if idea else IDEA_STATUSES["new"],
        "is_closed": bool(idea and idea.is_closed),
        "count": idea.vote_count if idea else 0,
        "history": services.status_history(thread) if idea and idea.status_changed_at else [],
        "voted": services.has_voted(thread, viewer),
        "votes_used": services.active_vote_count(viewer),
        "budget": services.vote_budget(),
        "can_vote": permissions.can_vote_idea(viewer, thread),
        "can_set_status": permissions.can_set_idea_status(viewer, thread),
        "form": IdeaStatusForm(formdata=None, data={"status": idea.status if idea else "new"})
        if permissions.can_set_idea_status(viewer, thread)
        else None,
    }


def register_templating(app: Any) -> None:
    app.jinja_env.globals.update(
        idea_thread_state=thread_state,
        can_vote_idea=permissions.can_vote_idea,
        can_set_idea_status=permissions.can_set_idea_status,
    )
