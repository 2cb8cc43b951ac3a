"""Rate limits (Flask-Limiter): logins per IP and per account, registrations per IP, posting per user.

Per-IP and per-user limits are Flask-Limiter decorations on the existing views. The
per-account login limit counts only failures, across every IP, so one attacker with many
addresses cannot guess one member's password; while an account is throttled even the
right password is refused (otherwise the throttle would tell a guesser when they hit it).
Unknown accounts are throttled the same way, so the limit reveals nothing about who exists.
Storage comes from RATELIMIT_STORAGE_URI (memory:// for one process, Redis for several).
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response, current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse

from forum.errors import error_response
from forum.extensions import limiter


def _config(name: str) -> str:
    return str(current_app.config[name])


def _user_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


_SLOW_DOWN = "Too many attempts from your network. Please wait a little and try again."


def _wrap(view):  # noqa: ANN001, ANN202
    from forum.auth import views as auth_views
    from forum.boards import views as board_views

    limits = {
        auth_views.login: limiter.limit(
            lambda: _config("RATELIMIT_LOGIN"), methods=["POST"], error_message=_SLOW_DOWN
        ),
        auth_views.register: limiter.limit(
            lambda: _config("RATELIMIT_REGISTER"), methods=["POST"], error_message=_SLOW_DOWN
        ),
        board_views.reply: limiter.limit(
            lambda: _config("RATELIMIT_POSTING"),
            key_func=_user_key,
            methods=["POST"],
            error_message="You are posting very fast; please wait a minute and try again.",
        ),  # fmt: skip
        board_views.new_thread: limiter.limit(
            lambda: _config("RATELIMIT_POSTING"),
            key_func=_user_key,
            methods=["POST"],
            error_message="You are posting very fast; please wait a minute and try again.",
        ),  # fmt: skip
    }
    return limits[view](view)


_WRAPPED: dict[str, object] = {}


def _limited_views() -> dict[str, object]:
    """Decorate once per process: Flask-Limiter keeps decorated limits on its (global) instance."""
    if not _WRAPPED:
        from forum.auth import views as auth_views
        from forum.boards import views as board_views

        for endpoint, view in (
            ("auth.login", auth_views.login),
            ("auth.register", auth_views.register),
            ("boards.reply", board_views.reply),
            ("boards.new_thread", board_views.new_thread),
        ):
            _WRAPPED[endpoint] = _wrap(view)
    return _WRAPPED


def _account_key() -> str | None:
    login = (request.form.get("login") or "").strip().lower()
    return f"login-failures/{login[:254]}" if login else None


def _account_limit():  # noqa: ANN202
    return parse(_config("RATELIMIT_LOGIN_ACCOUNT"))


def _identifiers(key: str) -> list[str]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return [prefix, key] if prefix else [key]


def too_many_response(message: str, retry_after: int) -> Response:
    response = current_app.make_response(error_response(429, message))
    response.headers["Retry-After"] = str(max(1, retry_after))
    return response


def init_app(app: Flask) -> None:
    app.view_functions.update(_limited_views())

    @app.before_request
    def throttle_account_logins() -> Response | None:
        if request.endpoint != "auth.login" or request.method != "POST" or not limiter.enabled:
            return None
        key = _account_key()
        if key is None:
            return None
        item = _account_limit()
        if limiter.limiter.test(item, *_identifiers(key)):
            return None
        reset_at, _remaining = limiter.limiter.get_window_stats(item, *_identifiers(key))
        minutes = max(1, math.ceil((reset_at - time.time()) / 60))
        return too_many_response(
            f"Too many failed logins for this account. Wait {minutes} minute{'s' if minutes != 1 else ''} "
            "and try again, or reset your password.",
            math.ceil(reset_at - time.time()),
        )

    @app.after_request
    def count_login_failure(response: Response) -> Response:
        if (
            request.endpoint == "auth.login"
            and request.method == "POST"
            and limiter.enabled
            and response.status_code == 422
            and request.form.get("password")
        ):
            key = _account_key()
            if key is not None:
                limiter.limiter.hit(_account_limit(), *_identifiers(key))
        return response
