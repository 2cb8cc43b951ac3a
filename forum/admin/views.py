"""Administrator pages: boards (create, rename, describe, reorder)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from wtforms import HiddenField

from forum.boards import services
from forum.boards.forms import BoardForm
from forum.boards.models import Board
from forum.boards.permissions import can_manage_boards
from forum.errors import ServiceError
from forum.extensions import db
from forum.forms import ForumForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


class MoveForm(ForumForm):
    direction = HiddenField()


@bp.before_request
@login_required
def require_admin() -> None:
    if not can_manage_boards(current_user):
        abort(403, description="Only administrators can open the admin pages.")


@bp.route("/boards", methods=["GET", "POST"])
def boards() -> ResponseReturnValue:
    form = BoardForm()
    if form.validate_on_submit():
        try:
            board = services.create_board(
                form.name.data, slug=form.slug.data or None, description=form.description.data or "",
                kind=form.kind.data, actor=current_user,
            )  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash(f"Board “{board.name}” created.", "success")
            return redirect(url_for("admin.boards"))
    status = 422 if form.has_errors else 200
    return render_template(
        "admin/boards.html", boards=services.list_boards(), form=form, move_form=MoveForm()
    ), status


@bp.route("/boards/<int:board_id>", methods=["GET", "POST"])
def edit_board(board_id: int) -> ResponseReturnValue:
    board = db.get_or_404(Board, board_id, description="There is no such board.")
    form = BoardForm(obj=board)
    if form.validate_on_submit():
        try:
            services.update_board(
                board, name=form.name.data, slug=form.slug.data or board.slug,
                description=form.description.data or "", kind=form.kind.data, actor=current_user,
            )  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash(f"Board “{board.name}” saved.", "success")
            return redirect(url_for("admin.boards"))
    status = 422 if form.has_errors else 200
    return render_template("admin/edit_board.html", board=board, form=form), status


@bp.route("/boards/<int:board_id>/move", methods=["POST"])
def move_board(board_id: int) -> ResponseReturnValue:
    board = db.get_or_404(Board, board_id, description="There is no such board.")
    form = MoveForm()
    if not form.validate_on_submit() or form.direction.data not in ("up", "down"):
        abort(400, description="Say whether to move the board up or down.")
    services.move_board(board, -1 if form.direction.data == "up" else 1, actor=current_user)
    db.session.commit()
    return redirect(url_for("admin.boards"))
