"""Search pages: results, syntax help, similar threads for the composer (JSON), and the
administrators' synonym list."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from forum.errors import ServiceError
from forum.extensions import db
from forum.forms import ForumForm
from forum.search import services, synonyms

bp = Blueprint("search", __name__, cli_group="search")


def _page_argument() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 6 else 1


@bp.route("/search")
def results() -> ResponseReturnValue:
    choices = services.Choices(
        **{
            name: request.args.get(name, "")[:60]
            for name in ("board", "status", "after", "before", "order", "thread")
        }
    )
    page = services.search(request.args.get("q", ""), page=_page_argument(), choices=choices)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    base_url = url_for("search.results", **args)
    return render_template(
        "search/results.html",
        result=page,
        choices=choices,
        boards=services.board_choices(),
        base_url=base_url,
    )


@bp.route("/search/help")
def help_page() -> ResponseReturnValue:
    return render_template("search/help.html")


@bp.route("/search/similar")
def similar() -> ResponseReturnValue:
    """Threads like ?title=, by relevance (solved boosted): the composer shows them as the title is typed."""
    found = services.similar_threads(request.args.get("title", ""))
    return jsonify(
        threads=[
            {
                "title": item.thread.title,
                "url": item.thread.url,
                "board": item.thread.board.name,
                "solved": item.thread.is_solved,
                "replies": item.thread.reply_count,
                "answer": item.answer,
            }
            for item in found
        ]
    )


class SynonymForm(ForumForm):
    word = StringField("Word", validators=[DataRequired(), Length(max=60)])
    synonym = StringField("Means the same as", validators=[DataRequired(), Length(max=60)])
    submit = SubmitField("Add pair")


class RemoveForm(ForumForm):
    pass


@bp.route("/admin/search/synonyms", methods=["GET", "POST"])
@login_required
def synonym_list() -> ResponseReturnValue:
    if not synonyms.can_manage_synonyms(current_user):
        abort(403, description="Only administrators can edit search synonyms.")
    form = SynonymForm()
    if form.validate_on_submit():
        try:
            pair = synonyms.add_synonym(form.word.data, form.synonym.data, actor=current_user)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash(f"“{pair.word}” and “{pair.synonym}” now find each other.", "success")
            return redirect(url_for("search.synonym_list"))
    return render_template(
        "search/synonyms.html", pairs=synonyms.list_synonyms(), form=form, remove_form=RemoveForm()
    ), 422 if form.has_errors else 200


@bp.route("/admin/search/synonyms/<int:pair_id>/remove", methods=["POST"])
@login_required
def remove_synonym(pair_id: int) -> ResponseReturnValue:
    if not RemoveForm().validate_on_submit():
        abort(400, description="The form expired; reload the page and try again.")
    try:
        pair = synonyms.remove_synonym(pair_id, actor=current_user)
    except ServiceError as error:
        abort(error.status, description=error.message)
    db.session.commit()
    flash(f"“{pair.word}” and “{pair.synonym}” are no longer synonyms.", "success")
    return redirect(url_for("search.synonym_list"))
