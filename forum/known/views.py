"""Affected too, problem details, the known-issue register and /response: parse, call a
service, commit, respond (HTML, or JSON for scripts and the in-place buttons)."""

from __future__ import annotations

import csv
import io
import json
import logging
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from forum.badges.permissions import active_badge, is_employee
from forum.boards import services as boards
from forum.boards.models import THREADS_PER_PAGE, Board, Thread
from forum.boards.visibility import thread_is_visible
from forum.errors import ServiceError, wants_json
from forum.extensions import db, login_manager
from forum.known import fields, permissions, register, response, services
from forum.known.models import FIELD_KINDS, KNOWN_STATUSES, NOTE_MAX, ProblemField

bp = Blueprint("known", __name__)
log = logging.getLogger(__name__)


# -- affected too -----------------------------------------------------------------------------


def _wanted(name: str) -> bool | None:
    raw = request.form.get(name, "")
    if raw not in ("", "0", "1"):
        abort(400, description=f"{name} must be 1 (add) or 0 (take back).")
    return None if raw == "" else raw == "1"


@bp.route("/t/<int:thread_id>/affected", methods=["POST"])
@login_required
def affected(thread_id: int) -> ResponseReturnValue:
    thread = boards.get_thread(thread_id, viewer=current_user)
    wanted = _wanted("affected")
    try:
        state = services.set_affected(thread, actor=current_user, affected=wanted)
        db.session.commit()
    except IntegrityError:
        # The same member's concurrent click inserted the row first: answer as for a repeat.
        db.session.rollback()
        thread = boards.get_thread(thread_id, viewer=current_user)
        if not services.is_affected(thread, current_user):
            raise
        state = True
    if wants_json():
        return jsonify(thread_id=thread.id, affected=state, count=thread.affected_total)
    flash(
        "You are counted as affected. You will hear when it is acknowledged, worked around, fixed or solved."
        if state
        else "You are no longer counted as affected.",
        "success" if state else "info",
    )
    return redirect(thread.url + "#affected")


# -- the known-issue timeline -----------------------------------------------------------------


def status_form_state(thread: Thread, issue: Any, errors: dict[str, str] | None = None) -> dict[str, Any]:
    badge = active_badge(current_user)
    return {
        "statuses": [(s, KNOWN_STATUSES[s]) for s in services.allowed_statuses(issue)],
        "badge": badge,
        "errors": errors or {},
        "note": request.form.get("note", "") if request.method == "POST" else "",
        "note_max": NOTE_MAX,
    }


@bp.route("/t/<int:thread_id>/known", methods=["GET", "POST"])
def known_status(thread_id: int) -> ResponseReturnValue:
    """The issue's timeline and (for moderators and employees) its status form."""
    thread = boards.get_thread(thread_id, viewer=current_user)
    issue = services.known_issue(thread)
    can_manage = permissions.can_manage_known_issue(current_user, thread)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        badge = active_badge(current_user) if request.form.get("with_badge") else None
        try:
            services.set_known_status(
                thread,
                request.form.get("status", ""),
                request.form.get("note", ""),
                actor=current_user,
                badge=badge,
            )
        except ServiceError as error:
            db.session.rollback()
            if wants_json():
                raise
            if error.status == 403:
                abort(403, description=error.message)
            errors[error.field or "status"] = error.message
            status = error.status
            issue = services.known_issue(thread)
        else:
            db.session.commit()
            issue = services.known_issue(thread)
            if wants_json():
                return jsonify(thread_id=thread.id, status=issue.status)
            flash(f"Known issue status: {issue.status_label}.", "success")
            return redirect(thread.url + "#known-issue")
    if issue is None and not can_manage:
        abort(404, description="This question is not a known issue.")
    return (
        render_template(
            "known/status.html",
            thread=thread,
            issue=issue,
            timeline=services.timeline(thread),
            can_manage=can_manage,
            form=status_form_state(thread, issue, errors),
        ),
        status,
    )


def thread_state(thread: Thread, viewer: Any) -> dict[str, Any] | None:
    """What the thread page shows for known problems (question boards only). What it needs
    comes with the thread (Thread.known_status, has_problem_values, viewer_is_affected), so
    a plain question costs no query; a known issue adds its timeline, details their values."""
    if not thread.board.is_question_board:
        return None
    member = getattr(viewer, "is_authenticated", False)
    status = thread.known_status
    timeline = services.timeline(thread) if status else []
    can_manage = permissions.can_manage_known_issue(viewer, thread)
    return {
        "affected": member and (viewer.id == thread.author_id or thread.viewer_is_affected),
        "can_say": permissions.can_say_affected(viewer, thread),
        "open": permissions.takes_affected(thread),
        "status": status,
        "status_label": KNOWN_STATUSES.get(status or "", ""),
        "timeline": timeline,
        "can_manage": can_manage,
        "values": fields.thread_values(thread.id) if thread.has_problem_values else [],
        "can_edit_details": thread.board_has_problem_fields
        and permissions.can_edit_problem_details(viewer, thread),
    }


# -- problem details ------------------------------------------------------------------------------


class AskingDetails:
    """The problem fields of the "start a thread" form: shown, checked before the thread
    exists (so errors come back with everything typed), saved after."""

    def __init__(self, board: Board) -> None:
        self.fields = fields.board_fields(board.id) if board.is_question_board else []
        self.values = {f.key: request.form.get(fields.FORM_PREFIX + f.key, "") for f in self.fields}
        self.errors: dict[str, str] = {}

    def check(self) -> bool:
        try:
            fields.parse_values(self.fields, request.form)
        except fields.ProblemErrors as error:
            self.errors = error.errors
            return False
        return True

    def save(self, thread: Thread, actor: Any) -> None:
        fields.fill_in_when_asking(thread, request.form, actor=actor)


@bp.route("/t/<int:thread_id>/details", methods=["GET", "POST"])
def problem_details(thread_id: int) -> ResponseReturnValue:
    if request.method == "POST" and not current_user.is_authenticated:
        return login_manager.unauthorized()  # saving asks for a login before anything else
    thread = boards.get_thread(thread_id, viewer=current_user)
    board_fields = fields.board_fields(thread.board_id)
    if not board_fields:
        abort(404, description="This board asks for no problem details.")
    can_edit = permissions.can_edit_problem_details(current_user, thread)
    errors: dict[str, str] = {}
    current = {row.field_id: row.value for row in fields.thread_values(thread.id)}
    values = {f.key: current.get(f.id, "") for f in board_fields}
    status = 200
    if request.method == "POST":
        values = {f.key: request.form.get(fields.FORM_PREFIX + f.key, "") for f in board_fields}
        try:
            changed = fields.edit_values(thread, request.form, actor=current_user)
        except fields.ProblemErrors as error:
            db.session.rollback()
            errors, status = error.errors, 422
        except ServiceError as error:
            db.session.rollback()
            abort(error.status, description=error.message)
        else:
            db.session.commit()
            flash("The problem details are saved." if changed else "Nothing changed.", "success")
            return redirect(thread.url)
    return (
        render_template(
            "known/details.html",
            thread=thread,
            fields=board_fields,
            values=values,
            errors=errors,
            can_edit=can_edit,
            history=fields.history(thread.id),
        ),
        status,
    )


def filtered_board(board: Board) -> ResponseReturnValue | None:
    """A board page narrowed by problem details (?model=hub-4), or None when no field is named."""
    board_fields = fields.board_fields(board.id)
    pairs = fields.filters_from_args(board_fields, request.args)
    if not pairs:
        return None
    from forum.web import page_number

    conditions = [Thread.board_id == board.id, thread_is_visible()]
    conditions += fields.thread_filter_clause(pairs)
    total = db.session.scalar(select(func.count(Thread.id)).where(*conditions)) or 0
    page_count = max(1, -(-total // THREADS_PER_PAGE))
    page = page_number(page_count)
    threads = db.session.scalars(
        select(Thread)
        .options(*boards.list_statement_options(current_user))
        .where(*conditions)
        .order_by(Thread.is_pinned.desc(), Thread.last_post_at.desc(), Thread.id.desc())
        .offset((page - 1) * THREADS_PER_PAGE)
        .limit(THREADS_PER_PAGE),
        boards._viewer_params(current_user),
    ).all()
    return render_template(
        "boards/board.html",
        board=board,
        threads=threads,
        page=page,
        page_count=page_count,
        problem_filters=pairs,
        problem_fields=board_fields,
        problem_values={field.key: request.args.get(field.key, "") for field in board_fields},
        problem_query=urlencode([(field.key, key) for field, key in pairs]),
        filtered_total=total,
    )


# -- administrators: the fields -------------------------------------------------------------------


def _definition() -> fields.FieldDefinition:
    raw_position = request.form.get("position", "0").strip() or "0"
    try:
        position = int(raw_position)
    except ValueError:
        position = 10**6  # refused by check_definition with a message on the field
    return fields.FieldDefinition(
        label=request.form.get("label", ""),
        key=request.form.get("key", ""),
        kind=request.form.get("kind", ""),
        choices=request.form.get("choices", ""),
        required=request.form.get("required") == "1",
        position=position,
    )


@bp.route("/admin/boards/<slug>/fields", methods=["GET", "POST"])
@login_required
def board_fields(slug: str) -> ResponseReturnValue:
    if not permissions.can_define_problem_fields(current_user):
        abort(403, description="Only administrators define problem fields.")
    board = boards.get_board(slug)
    errors: dict[str, str] = {}
    editing: int | None = None
    status = 200
    if request.method == "POST":
        field_id = request.form.get("field_id", "")
        try:
            if request.form.get("remove") and field_id.isdigit():
                field = fields.get_field(board, int(field_id))
                fields.remove_field(field, actor=current_user)
                message = f"The field “{field.label}” is removed."
            elif field_id.isdigit():
                editing = int(field_id)
                field = fields.update_field(
                    fields.get_field(board, editing), _definition(), actor=current_user
                )
                message = f"The field “{field.label}” is saved."
            else:
                field = fields.define_field(board, _definition(), actor=current_user)
                message = f"The field “{field.label}” is added."
        except ServiceError as error:
            db.session.rollback()
            errors[error.field or "label"] = error.message
            status = error.status
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("known.board_fields", slug=board.slug))
    return (
        render_template(
            "known/fields.html",
            board=board,
            fields=fields.board_fields(board.id),
            errors=errors,
            editing=editing,
            kinds=list(FIELD_KINDS.items()),
        ),
        status,
    )


# -- the register -----------------------------------------------------------------------------------


def _register_filters() -> tuple[register.RegisterFilters, list[Board], list[ProblemField]]:
    all_boards = list(
        db.session.scalars(select(Board).where(Board.kind == "questions").order_by(Board.position, Board.id))
    )
    all_fields = list(
        db.session.scalars(select(ProblemField).order_by(ProblemField.position, ProblemField.id))
    )
    return register.parse_filters(request.args, all_boards, all_fields), all_boards, all_fields


@bp.route("/known-issues")
def register_page() -> ResponseReturnValue:
    filters, all_boards, all_fields = _register_filters()
    show_all = request.args.get("all") == "1"
    rows = register.register_rows(
        filters, limit=register.REGISTER_LIMIT if show_all else register.REGISTER_FIRST + 1
    )
    more = not show_all and len(rows) > register.REGISTER_FIRST
    chart = register.draw_chart(register.chart_days(filters))
    shown_fields = [f for f in all_fields if filters.board is None or f.board_id == filters.board.id]
    return render_template(
        "known/register.html",
        rows=rows[: register.REGISTER_FIRST] if more else rows,
        more=more,
        chart=chart,
        filters=filters,
        boards=all_boards,
        fields=shown_fields,
        statuses=KNOWN_STATUSES,
        query=filters.query_args(),
    )


def _register_records() -> list[dict[str, Any]]:
    filters, _, _ = _register_filters()
    rows = register.register_rows(filters)
    values = fields.values_of_threads([row.thread.id for row in rows])
    from forum.notifications.mailer import absolute_url

    return [
        {
            "thread_id": row.thread.id,
            "title": row.thread.title,
            "url": absolute_url(row.thread.url),
            "board": row.thread.board.slug,
            "status": row.issue.status,
            "marked_at": _iso(row.issue.marked_at),
            "acknowledged_at": _iso(row.issue.acknowledged_at),
            "fixed_at": _iso(row.issue.fixed_at),
            "affected": row.thread.affected_total,
            "affected_last_7_days": row.last_7_days,
            "details": {v.field.key: v.value for v in values.get(row.thread.id, [])},
        }
        for row in rows
    ]


def _iso(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


REGISTER_COLUMNS = (
    "thread_id", "title", "url", "board", "status", "marked_at", "acknowledged_at", "fixed_at",
    "affected", "affected_last_7_days", "details",
)  # fmt: skip


@bp.route("/known-issues.json")
def register_json() -> ResponseReturnValue:
    return _json(
        {
            "schema": "roundabout-known-issues/1",
            "columns": list(REGISTER_COLUMNS),
            "issues": _register_records(),
        }
    )


@bp.route("/known-issues.csv")
def register_csv() -> ResponseReturnValue:
    records = _register_records()
    for record in records:
        record["details"] = "; ".join(f"{k}={v}" for k, v in record["details"].items())
    return _csv(REGISTER_COLUMNS, records, "known-issues.csv")


@bp.route("/known-issues.atom")
def register_feed() -> ResponseReturnValue:
    from forum.notifications.feeds import Entry, render_feed
    from forum.notifications.mailer import absolute_url

    entries = []
    for change, thread in register.recent_changes():
        who = (
            f"Employee · {change.badge.company}"
            if change.badge
            else (change.actor.name if change.actor else "")
        )
        note = f"<p>{escape(change.note)}</p>" if change.note else ""
        entries.append(
            Entry(
                id=absolute_url(f"/t/{thread.id}/known#change-{change.id}"),
                title=f"{change.new_label}: {thread.title}",
                url=absolute_url(f"/t/{thread.id}/known"),
                author=who or "the forum",
                published=change.created_at,
                updated=change.created_at,
                html=f"<p>{escape(change.new_label)}</p>{note}",
            )
        )
    body = render_feed("Known issues", "/known-issues", "/known-issues.atom", entries)
    return Response(body, mimetype="application/atom+xml")


# -- the company's response ---------------------------------------------------------------------


@bp.route("/response")
def response_page() -> ResponseReturnValue:
    every_month = request.args.get("months") == "all"
    rows, computed_at = response.figure_rows(since=None if every_month else response.recent_months_start())
    waiting = register.still_waiting()
    waiting_by_board: dict[str, list[Any]] = {}
    for issue, thread in waiting:
        waiting_by_board.setdefault(thread.board.name, []).append((issue, thread))
    return render_template(
        "known/response.html",
        rows=rows,
        computed_at=computed_at,
        waiting=waiting_by_board,
        min_threads=response.MIN_THREADS,
        every_month=every_month,
        recent_months=response.RECENT_MONTHS,
    )


def _response_records() -> tuple[list[dict[str, Any]], Any]:
    rows, computed_at = response.figure_rows()
    return [row.open_data() for row in rows], computed_at


@bp.route("/response.json")
def response_json() -> ResponseReturnValue:
    records, computed_at = _response_records()
    return _json(
        {
            "schema": response.SCHEMA,
            "computed_at": _iso(computed_at),
            "min_threads": response.MIN_THREADS,
            "columns": list(response.COLUMNS),
            "rows": records,
        }
    )


@bp.route("/response.csv")
def response_csv() -> ResponseReturnValue:
    records, _ = _response_records()
    return _csv(response.COLUMNS, records, "response.csv")


def _json(data: dict[str, Any]) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, indent=1) + "\n", mimetype="application/json")


def _csv(columns: tuple[str, ...], records: list[dict[str, Any]], name: str) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def register_templating(app: Any) -> None:
    app.jinja_env.globals.update(
        known_thread_state=thread_state,
        known_statuses=KNOWN_STATUSES,
        can_manage_known_issue=permissions.can_manage_known_issue,
        is_employee=is_employee,
    )
