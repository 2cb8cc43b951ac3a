"""Moderator pages about members: sanctions, account deletion, roles, the log and notices."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select, update

from forum.auth.models import User
from forum.boards import services as boards
from forum.db import utcnow
from forum.errors import Invalid, NotFound, ServiceError
from forum.extensions import db
from forum.forms import ForumForm
from forum.moderation import log, users
from forum.moderation.confirm import ConfirmationNeeded, ask_first
from forum.moderation.forms import (
    DeleteAccountForm,
    LiftForm,
    RequiredReasonForm,
    RoleForm,
    SanctionForm,
    choices,
)
from forum.moderation.models import UserNotice
from forum.moderation.views import _refuse_unless, bp, is_any_moderator

# -- members -----------------------------------------------------------------------------------


def _member(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username.lower()))
    if user is None:
        abort(404, description=f"There is no member called {username!r}.")
    return user


def _active_sanction(user: User) -> str:
    """What "Lift" should offer first: the sanction the member is under (suspension first)."""
    now = utcnow()
    if user.suspended_until is not None and user.suspended_until > now:
        return "suspension"
    return "silence"


def _user_forms(user: User, **given: ForumForm) -> dict[str, ForumForm]:
    return {
        "warn": given.get("warn") or RequiredReasonForm(prefix="warn"),
        "silence": given.get("silence") or SanctionForm(prefix="silence"),
        "suspend": given.get("suspend") or SanctionForm(prefix="suspend"),
        "lift": given.get("lift") or LiftForm(prefix="lift", data={"kind": _active_sanction(user)}),
        "delete": given.get("delete") or DeleteAccountForm(prefix="delete"),
    }


@bp.route("/mod/users/<username>")
@login_required
def member(username: str) -> ResponseReturnValue:
    _refuse_unless(bool(current_user.is_moderator), "Only moderators can open this page.")
    user = _member(username)
    return render_template(
        "moderation/member.html", user=user, tools=_user_forms(user), entries=log.about_user(user)
    )


def _user_action(
    username: str, name: str, form: ForumForm, act: Callable[[User], str]
) -> ResponseReturnValue:
    _refuse_unless(bool(current_user.is_moderator), "Only moderators can act on members.")
    user = _member(username)
    _refuse_unless(users.can_sanction(current_user, user), "You cannot take action against this account.")
    if form.validate_on_submit():
        try:
            message = act(user)
        except ConfirmationNeeded as asking:
            return asking.page
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            status = error.status if error.status in (403, 409) else 422
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("moderation.member", username=user.username))
    else:
        status = 422
    forms = _user_forms(user, **{name: form})
    page = render_template("moderation/member.html", user=user, tools=forms, entries=log.about_user(user))
    return page, status


@bp.route("/mod/users/<username>/warn", methods=["POST"])
@login_required
def warn(username: str) -> ResponseReturnValue:
    form = RequiredReasonForm(prefix="warn")

    def act(user: User) -> str:
        users.warn_user(user, form.reason.data, actor=current_user)
        return f"{user.username} is warned."

    return _user_action(username, "warn", form, act)


@bp.route("/mod/users/<username>/silence", methods=["POST"])
@login_required
def silence(username: str) -> ResponseReturnValue:
    form = SanctionForm(prefix="silence")

    def act(user: User) -> str:
        until = users.until_from_duration(form.duration.data)
        users.silence_user(user, until, form.reason.data, actor=current_user)
        return f"{user.username} is silenced {users.describe_until(until)}."

    return _user_action(username, "silence", form, act)


@bp.route("/mod/users/<username>/suspend", methods=["POST"])
@login_required
def suspend(username: str) -> ResponseReturnValue:
    form = SanctionForm(prefix="suspend")

    def act(user: User) -> str:
        until = users.until_from_duration(form.duration.data)
        ask_first(
            title=f"Suspend {user.name}?",
            question=f"Suspend {user.name} ({user.username}) {users.describe_until(until)}?",
            consequence="They are logged out everywhere at once and cannot log in until the suspension ends "
            "or a moderator lifts it; they are told the reason.",
            button="Yes, suspend",
            cancel_url=url_for("moderation.member", username=user.username),
        )
        users.suspend_user(user, until, form.reason.data, actor=current_user)
        return f"{user.username} is suspended {users.describe_until(until)} and logged out everywhere."

    return _user_action(username, "suspend", form, act)


@bp.route("/mod/users/<username>/lift", methods=["POST"])
@login_required
def lift(username: str) -> ResponseReturnValue:
    form = LiftForm(prefix="lift")

    def act(user: User) -> str:
        users.lift_sanction(user, form.kind.data, form.reason.data or "", actor=current_user)
        return f"The {form.kind.data} of {user.username} is lifted."

    return _user_action(username, "lift", form, act)


@bp.route("/mod/users/<username>/delete", methods=["POST"])
@login_required
def delete_account(username: str) -> ResponseReturnValue:
    form = DeleteAccountForm(prefix="delete")

    def act(user: User) -> str:
        if (form.confirm.data or "").strip().lower() != user.username:
            raise Invalid("Type the username exactly, to confirm.", "confirm")
        users.delete_account(user, form.reason.data, actor=current_user, remove_posts=form.remove_posts.data)
        return "The account is deleted and its personal data removed."

    return _user_action(username, "delete", form, act)


# -- roles -------------------------------------------------------------------------------------


@bp.route("/admin/roles", methods=["GET", "POST"])
@login_required
def roles() -> ResponseReturnValue:
    _refuse_unless(bool(current_user.is_admin), "Only administrators can change roles.")
    form = RoleForm()
    form.board.choices = choices(
        [("", "All boards (site-wide)")] + [(b.slug, b.name) for b in boards.list_boards()]
    )
    if form.validate_on_submit():
        try:
            user = db.session.scalar(select(User).where(User.username == form.username.data.strip().lower()))
            if user is None:
                raise NotFound("There is no member with this username.", "username")
            board = boards.get_board(form.board.data) if form.board.data else None
            change = users.set_role(user, form.role.data, board=board, actor=current_user)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash(f"Done: {change}.", "success")
            return redirect(url_for("moderation.roles"))
    status = 422 if form.has_errors else 200
    return render_template("moderation/roles.html", form=form, staff=users.staff()), status


# -- the log and notices -----------------------------------------------------------------------


@bp.route("/mod/log")
@login_required
def mod_log() -> ResponseReturnValue:
    _refuse_unless(is_any_moderator(current_user), "Only moderators can read the full moderation log.")
    page = log.query_page(request.args, viewer=current_user, public=False)
    return render_template("moderation/log.html", page=page, public=False)


@bp.route("/mod/log/public")
def public_log() -> ResponseReturnValue:
    if not current_app.config["PUBLIC_MOD_LOG"]:
        abort(404)
    page = log.query_page(request.args, viewer=None, public=True)
    return render_template("moderation/log.html", page=page, public=True)


@bp.route("/me/notices")
@login_required
def notices() -> ResponseReturnValue:
    rows = db.session.scalars(
        select(UserNotice)
        .where(UserNotice.user_id == current_user.id)
        .order_by(UserNotice.id.desc())
        .limit(100)
    ).all()
    return render_template("moderation/notices.html", notices=rows, form=ForumForm())


@bp.route("/me/notices/read", methods=["POST"])
@login_required
def mark_notices_read() -> ResponseReturnValue:
    if not ForumForm().validate_on_submit():
        abort(400, description="The form had expired; please try again.")
    db.session.execute(
        update(UserNotice)
        .where(UserNotice.user_id == current_user.id, UserNotice.read_at.is_(None))
        .values(read_at=utcnow())
    )
    db.session.commit()
    return redirect(url_for("moderation.notices"))
