"""Notifications, watching, email confirmation, password reset, unsubscribe and Atom feeds."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from forum.auth.models import User
from forum.auth.services import get_user_by_username
from forum.boards import services as boards
from forum.errors import Invalid, ServiceError
from forum.extensions import csrf, db, limiter
from forum.notifications import accounts, delivery, feeds, inbox, mailer, watches
from forum.notifications.forms import (
    LEVEL_CHOICES,
    PreferencesForm,
    ResetPasswordForm,
    ResetRequestForm,
    WatchForm,
)
from forum.notifications.receivers import connect_receivers

bp = Blueprint("notifications", __name__)

CONFIG_DEFAULTS = {
    "NOTIFICATION_EMAIL_DELAY": 180,  # seconds a notification waits, so a busy thread sends one mail
    "NOTIFICATION_DIGEST_INTERVAL": 23 * 3600,  # a daily cron a little early still sends
    "NOTIFICATION_DRAIN_AFTER_REQUEST": True,  # also drain after POST requests (cron does the rest)
    "NOTIFICATION_DRAIN_INTERVAL": 60,
    "CONFIRM_EMAIL_MAX_AGE": 3 * 86400,
    "NOTIFICATION_RETENTION_DAYS": 90,  # `flask notifications prune` deletes read ones older than this
}
RESET_SENT = "If an account exists for that address, we have sent it a link to reset the password."


def init_app(app: Flask) -> None:
    """Config defaults, the blueprints, the signal receivers and the after-request drain."""
    from forum.notifications.cli import bp as cli_bp

    for key, value in CONFIG_DEFAULTS.items():
        app.config.setdefault(key, value)
    app.register_blueprint(bp)
    app.register_blueprint(cli_bp)
    connect_receivers()
    app.jinja_env.globals.update(watch_level=watches.watch_level, watch_level_choices=LEVEL_CHOICES)
    _register_drain(app)


def _register_drain(app: Flask) -> None:
    """After a POST, at most once a minute per process, mail the batches that are due."""
    state = {"last": 0.0}

    @app.after_request
    def drain_notifications(response: Response) -> Response:
        if request.method != "POST" or not app.config["NOTIFICATION_DRAIN_AFTER_REQUEST"]:
            return response
        if app.config.get("JOBS_MODE", "inline") != "inline":  # the periodic job mails batches
            return response
        if time.monotonic() - state["last"] < float(app.config["NOTIFICATION_DRAIN_INTERVAL"]):
            return response

        def drain() -> None:
            from forum.mail.services import send_pending

            state["last"] = time.monotonic()
            with app.app_context():
                if delivery.send_immediate_batches():
                    send_pending()

        response.call_on_close(drain)
        return response


def _page() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        abort(400, description="The page number must be a whole number, like ?page=2.")
    return int(raw)


# -- notifications ----------------------------------------------------------------------------


@bp.route("/notifications")
@login_required
def index() -> ResponseReturnValue:
    page = _page()
    items, total = inbox.list_notifications(current_user, page)
    page_count = max(1, -(-total // inbox.PER_PAGE))
    if page > page_count:
        abort(404, description=f"There is no page {page}.")
    return render_template("notifications/index.html", items=items, page=page, page_count=page_count)


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int) -> ResponseReturnValue:
    """Mark it read and go where it leads (for notifications a visit does not read)."""
    url = inbox.open_notification(notification_id, actor=current_user)
    db.session.commit()
    return redirect(url)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int) -> ResponseReturnValue:
    inbox.mark_read(notification_id, actor=current_user)
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def mark_all_read() -> ResponseReturnValue:
    count = inbox.mark_all_read(actor=current_user)
    db.session.commit()
    flash(f"Marked {count} notification{'s' if count != 1 else ''} read.", "success")
    return redirect(url_for("notifications.index"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    form = PreferencesForm(obj=current_user)
    if form.validate_on_submit():
        try:
            delivery.update_preferences(
                current_user, notify_email=form.notify_email.data, watch_on_post=bool(form.watch_on_post.data)
            )
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash("Your notification settings are saved.", "success")
            return redirect(url_for("notifications.settings"))
    status = 422 if form.has_errors else 200
    return render_template("notifications/settings.html", form=form), status


@bp.route("/watch/<target_type>/<int:target_id>", methods=["POST"])
@login_required
def watch(target_type: str, target_id: int) -> ResponseReturnValue:
    form = WatchForm()
    if not form.validate_on_submit():
        abort(400, description="Choose watching, normal or muted.")
    target = watches.set_watch(target_type, target_id, form.level.data, actor=current_user)
    db.session.commit()
    flash(
        f"Notifications for this {target_type if target_type != 'wiki' else 'page'}: {form.level.data}.",
        "success",
    )
    return redirect(target.url)


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail clients POST without a form; the signed token is the proof
def unsubscribe(token: str) -> ResponseReturnValue:
    user = mailer.user_for_unsubscribe_token(token)
    if user is None:
        abort(
            400,
            description="This unsubscribe link is not valid. Change your email settings after logging in.",
        )
    if request.method == "POST":
        delivery.unsubscribe(user)
        db.session.commit()
        return render_template("notifications/unsubscribe.html", user=user, done=True)
    return render_template("notifications/unsubscribe.html", user=user, done=False, token=token)


# -- account mail -----------------------------------------------------------------------------


@bp.route("/confirm-email/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> ResponseReturnValue:
    """GET shows a button (mail scanners fetch links); the POST confirms."""
    try:
        if request.method == "GET":
            user = accounts.user_for_confirmation(token)
            return render_template("notifications/confirm_email.html", error=None, token=token, user=user)
        accounts.confirm_email(token)
    except Invalid as error:
        return render_template("notifications/confirm_email.html", error=error.message, token=None), 400
    db.session.commit()
    flash("Thank you: your email address is confirmed.", "success")
    return redirect("/")


@bp.route("/confirm-email/resend", methods=["POST"])
@login_required
@limiter.limit("5 per hour")
def resend_confirmation() -> ResponseReturnValue:
    if current_user.email_confirmed_at is not None:
        flash("Your email address is confirmed already.", "info")
    else:
        accounts.queue_confirmation_mail(current_user)
        db.session.commit()
        flash(f"We sent a new confirmation link to {current_user.address_to_confirm}.", "success")
    return redirect(_back())


def _back() -> str:
    """The local page the button was pressed on (from Referer), else the front page."""
    from urllib.parse import urlsplit

    from forum.web import safe_next

    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host:
        return "/"
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


@bp.route("/reset-password", methods=["GET", "POST"])
@limiter.limit("5 per minute; 20 per hour", methods=["POST"])
def request_reset() -> ResponseReturnValue:
    form = ResetRequestForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        db.session.commit()
        flash(RESET_SENT, "info")
        return redirect(url_for("auth.login"))
    status = 422 if form.has_errors else 200
    return render_template("notifications/reset_request.html", form=form), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    try:
        accounts.reset_token_row(token)
    except Invalid as error:
        return render_template("notifications/reset_password.html", form=None, error=error.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash(
                "Your password is changed and every device was logged out. Log in with the new one.",
                "success",
            )
            return redirect(url_for("auth.login"))
    status = 422 if form.has_errors else 200
    return render_template("notifications/reset_password.html", form=form, error=None), status


@bp.after_request
def no_store(response: Response) -> Response:
    """Reset and unsubscribe pages hold a secret in their address: never cache them."""
    if request.endpoint and request.endpoint.startswith("notifications.") and "feed" not in request.endpoint:
        response.headers["Cache-Control"] = "private, no-store"
    return response


# -- feeds ------------------------------------------------------------------------------------


def _atom(body: str) -> Response:
    return Response(body, mimetype="application/atom+xml")


@bp.route("/feeds/latest.atom")
def feed_latest() -> ResponseReturnValue:
    return _atom(feeds.render_feed("Latest threads", "/", "/feeds/latest.atom", feeds.latest_threads()))


@bp.route("/feeds/b/<slug>.atom")
def feed_board(slug: str) -> ResponseReturnValue:
    board = boards.get_board(slug)
    return _atom(
        feeds.render_feed(board.name, board.url, f"/feeds/b/{board.slug}.atom", feeds.board_threads(board))
    )


@bp.route("/feeds/t/<int:thread_id>.atom")
def feed_thread(thread_id: int) -> ResponseReturnValue:
    thread = boards.get_thread(thread_id, viewer=None)  # what anyone may see
    return _atom(
        feeds.render_feed(thread.title, thread.url, f"/feeds/t/{thread.id}.atom", feeds.thread_posts(thread))
    )


@bp.route("/feeds/u/<username>.atom")
def feed_user(username: str) -> ResponseReturnValue:
    user: User = get_user_by_username(username)
    return _atom(
        feeds.render_feed(
            f"Posts by {user.name}", user.url, f"/feeds/u/{user.username}.atom", feeds.user_posts(user)
        )
    )


@bp.route("/feeds/wiki.atom")
def feed_wiki() -> ResponseReturnValue:
    return _atom(feeds.render_feed("Wiki changes", "/wiki", "/feeds/wiki.atom", feeds.wiki_changes()))
