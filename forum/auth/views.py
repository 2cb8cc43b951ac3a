"""Register, log in and out, settings, and public profiles."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum.auth import services
from forum.auth.forms import ChangePasswordForm, LoginForm, ProfileForm, RegisterForm
from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.boards.visibility import post_is_visible, thread_is_visible
from forum.errors import ServiceError, wants_json
from forum.extensions import db, login_manager
from forum.limits import rate_limited
from forum.notifications.accounts import queue_confirmation_mail, queue_registration_attempt_mail
from forum.web import safe_next

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(token: str) -> User | None:
    return services.load_session_user(token)


def _log_in(user: User, remember: bool) -> None:
    """Start a fresh session: nothing from before the login is carried over."""
    session.clear()
    services.start_login_session(user, remember=remember)
    db.session.commit()
    login_user(user, remember=remember)


@bp.route("/register", methods=["GET", "POST"])
@rate_limited("register")
def register() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect("/")
    form = RegisterForm()
    shape_ok = form.validate_on_submit()
    if request.method == "POST" and "csrf_token" not in form.errors:
        # The rules too, for every field the form let through, so all problems show at once.
        for problem in services.registration_problems(
            form.username.data, form.email.data, form.password.data
        ):
            field = getattr(form, problem.field or "", None)
            if field is None or not field.errors:
                form.add_service_error(problem)
    if shape_ok and not form.has_errors:
        try:
            user, owner = services.sign_up(form.username.data, form.email.data, form.password.data)
            if owner is None:
                queue_confirmation_mail(user)  # issue #7: confirm the address before mailing notifications
            else:
                queue_registration_attempt_mail(owner, user)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            _log_in(user, remember=False)
            flash(f"Welcome to the forum, {user.username}!", "success")
            return redirect(safe_next(request.args.get("next")))
    status = 422 if form.has_errors else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@rate_limited("login")
def login() -> ResponseReturnValue:
    form = LoginForm()
    next_url = safe_next(request.values.get("next"))
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is None:
            form.form_errors.append("Wrong username or password.")
        else:
            try:
                _log_in(user, remember=form.remember.data)
            except ServiceError as error:
                db.session.rollback()
                form.add_service_error(error)
            else:
                return redirect(next_url)
    status = 422 if form.has_errors else 200
    return render_template("auth/login.html", form=form, next_url=next_url), status


@bp.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    if current_user.is_authenticated:
        services.end_login_session(current_user.login_token)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect("/")


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    profile_form = ProfileForm(prefix="profile", obj=current_user)
    password_form = ChangePasswordForm(prefix="password")
    if request.method == "POST":
        if "profile-submit" in request.form or "profile-display_name" in request.form:
            if profile_form.validate_on_submit():
                try:
                    services.update_profile(
                        current_user, display_name=profile_form.display_name.data or "",
                        bio=profile_form.bio.data or "",
                    )  # fmt: skip
                except ServiceError as error:
                    db.session.rollback()
                    profile_form.add_service_error(error)
                else:
                    db.session.commit()
                    flash("Your profile is saved.", "success")
                    return redirect(url_for("auth.settings"))
        elif password_form.validate_on_submit():
            try:
                services.change_password(
                    current_user, password_form.current_password.data, password_form.new_password.data
                )
            except ServiceError as error:
                db.session.rollback()
                password_form.add_service_error(error)
            else:
                db.session.commit()
                flash("Your password is changed; other devices have been logged out.", "success")
                return redirect(url_for("auth.settings"))
    status = 422 if profile_form.has_errors or password_form.has_errors else 200
    if request.method == "POST" and status == 200:
        status = 400
    return (
        render_template("auth/settings.html", profile_form=profile_form, password_form=password_form),
        status,
    )


@bp.route("/u/<username>")
def profile(username: str) -> ResponseReturnValue:
    user = services.get_user_by_username(username)
    threads = db.session.scalars(
        select(Thread)
        .options(joinedload(Thread.board))
        .where(Thread.author_id == user.id, thread_is_visible())
        .order_by(Thread.created_at.desc())
        .limit(10)
    ).all()
    posts = db.session.scalars(
        select(Post)
        .options(joinedload(Post.thread))
        .join(Thread, Post.thread_id == Thread.id)
        .where(
            Post.author_id == user.id,
            Post.position > 1,
            post_is_visible(),
            thread_is_visible(),
        )
        .order_by(Post.created_at.desc())
        .limit(10)
    ).all()
    return render_template("auth/profile.html", user=user, threads=threads, posts=posts)


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    """Anonymous visitors: JSON callers get 401, people the login page (and back after)."""
    if wants_json():
        return jsonify({"error": "Please log in first.", "status": 401}), 401
    flash("Please log in to continue.", "info")
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))
