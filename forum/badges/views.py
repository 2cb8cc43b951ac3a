"""Verify a work address from settings, and the moderators' grant/revoke page."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from forum.auth import services as accounts
from forum.badges import expiry, granting, permissions, receivers, verification
from forum.badges.forms import ConfirmForm, ReasonForm, RemoveForm, WorkAddressForm
from forum.errors import ServiceError
from forum.extensions import db

bp = Blueprint("badges", __name__, cli_group="badges")
log = logging.getLogger(__name__)


def _settings_page(form: WorkAddressForm, remove_form: RemoveForm, status: int = 200) -> ResponseReturnValue:
    badge = permissions.active_badge(current_user)
    return (
        render_template(
            "badges/settings.html",
            form=form,
            remove_form=remove_form,
            badge=badge,
            last=badge or expiry.last_badge(current_user),
            expires_soon=expiry.expires_soon(badge),
            domains=verification.employee_domains(),
            company=granting.company_name(),
        ),
        status,
    )


@bp.route("/settings/employee", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    form = WorkAddressForm()
    if form.validate_on_submit():
        try:
            _, link = verification.request_verification(current_user, form.work_email.data)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            return _settings_page(form, RemoveForm(), error.status)
        db.session.commit()
        if not current_app.config["MAIL_SERVER"]:
            # Development without a mail server: the link is in instance/mail and here.
            log.warning("Employee verification link for %s: %s", current_user.username, link)
        flash("We sent a link to that address. Open it within 24 hours while logged in here.", "success")
        return redirect(url_for("badges.settings"))
    return _settings_page(form, RemoveForm(), 422 if form.has_errors else 200)


@bp.route("/settings/employee/remove", methods=["POST"])
@login_required
def remove() -> ResponseReturnValue:
    form = RemoveForm()
    if form.validate_on_submit():
        try:
            granting.revoke_badge(current_user, actor=current_user, reason=form.reason.data or "")
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            return _settings_page(WorkAddressForm(formdata=None), form, error.status)
        db.session.commit()
        flash("Your employee badge is removed. Your earlier posts keep theirs.", "info")
        return redirect(url_for("badges.settings"))
    return _settings_page(WorkAddressForm(formdata=None), form, 422 if form.has_errors else 400)


@bp.route("/settings/employee/verify/<token>", methods=["GET", "POST"])
@login_required
def verify(token: str) -> ResponseReturnValue:
    """GET shows what the link will do; POST (one click) grants the badge.

    Opening the link never changes anything by itself: mail scanners that follow links
    must not use up the one-time token (GET never changes state, SECURITY.md 19).
    """
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            badge = verification.confirm_verification(token, actor=current_user)
        except ServiceError:
            db.session.rollback()
            raise
        db.session.commit()
        flash(
            f"Done: your posts can now show “{badge.label}”. It lasts until {badge.expires_at:%d %B %Y}.",
            "success",
        )
        return redirect(url_for("badges.settings"))
    pending = verification.check_link(token, actor=current_user)
    status = 400 if form.has_errors else 200
    return (
        render_template(
            "badges/confirm.html", form=form, token=token, domain=pending.domain,
            company=granting.company_name(),
        ),
        status,
    )  # fmt: skip


@bp.route("/u/<username>/badge", methods=["GET"])
@login_required
def manage(username: str) -> ResponseReturnValue:
    user = accounts.get_user_by_username(username)
    if not permissions.can_manage_badges(current_user):
        abort(403, description="Only moderators can manage employee badges.")
    return _manage_page(user, ReasonForm(prefix="grant"), ReasonForm(prefix="revoke"))


def _manage_page(
    user: object, grant_form: ReasonForm, revoke_form: ReasonForm, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "badges/manage.html", user=user, badge=permissions.active_badge(user),
            history=granting.badge_history(user),  # type: ignore[arg-type]
            grant_form=grant_form, revoke_form=revoke_form, company=granting.company_name(),
        ),
        status,
    )  # fmt: skip


@bp.route("/u/<username>/badge/grant", methods=["POST"])
@login_required
def grant(username: str) -> ResponseReturnValue:
    return _change(username, "grant")


@bp.route("/u/<username>/badge/revoke", methods=["POST"])
@login_required
def revoke(username: str) -> ResponseReturnValue:
    return _change(username, "revoke")


def _change(username: str, action: str) -> ResponseReturnValue:
    user = accounts.get_user_by_username(username)
    if not permissions.can_manage_badges(current_user):
        abort(403, description="Only moderators can manage employee badges.")
    form = ReasonForm(prefix=action)
    status = 422 if form.is_submitted() else 400
    if form.validate_on_submit():
        try:
            if action == "grant":
                granting.grant_badge(user, actor=current_user, reason=form.reason.data or "")
            else:
                granting.revoke_badge(user, actor=current_user, reason=form.reason.data or "")
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            status = error.status
        else:
            db.session.commit()
            done = "granted to" if action == "grant" else "revoked from"
            flash(
                f"The employee badge is {done} {user.username}; the moderation log has your reason.",
                "success",
            )
            return redirect(url_for("badges.manage", username=user.username))
    elif form.csrf_token.errors:
        status = 400
    other = ReasonForm(prefix="revoke" if action == "grant" else "grant", formdata=None)
    forms = (form, other) if action == "grant" else (other, form)
    return _manage_page(user, *forms, status=status)


def register_badges(app: Flask) -> None:
    """Jinja helpers and signal receivers (called by create_app)."""
    app.jinja_env.globals.update(
        active_badge=permissions.active_badge,
        is_employee=permissions.is_employee,
        can_manage_badges=permissions.can_manage_badges,
        badge_expires_soon=expiry.expires_soon,
    )
    receivers.connect()
