"""The login throttle per account (Flask-Limiter's storage), beside the route limits.

Logins per IP, registrations per IP, posting and editing (previews included, wiki pages
too) per user are named limits that the routes carry (forum.limits). The
per-account login limit counts only failures, across every IP, so one attacker with many
addresses cannot guess one member's password; while an account is throttled even the
right password is refused (otherwise the throttle would tell a guesser when they hit it).
Unknown accounts are throttled the same way, so the limit reveals nothing about who exists.
Storage comes from RATELIMIT_STORAGE_URI (memory:// for one process, Redis for several).
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, Response, current_app, request
from limits import parse

from forum.errors import error_response
from forum.extensions import limiter


def _config(name: str) -> str:
    return str(current_app.config[name])


log = logging.getLogger(__name__)


def _account_key() -> str | None:
    """The account a login attempt is for, whatever name was typed: username and email address
    share one count (issue #21: counting them apart doubled the guesses). Unknown names count
    under the name typed, so the throttle reveals nothing about who exists."""
    from forum.auth.services import find_user_by_login

    login = (request.form.get("login") or "").strip().lower()
    if not login or "\x00" in login:
        return None
    user = find_user_by_login(login[:254])
    return f"login-failures/user:{user.id}" if user is not None else f"login-failures/name:{login[:254]}"


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
    """The per-account login throttle (the per-IP and per-user limits: forum.limits, at the routes)."""

    @app.before_request
    def throttle_account_logins() -> Response | None:
        if request.endpoint != "auth.login" or request.method != "POST" or not limiter.enabled:
            return None
        key = _account_key()
        if key is None:
            return None
        item = _account_limit()
        try:
            if limiter.limiter.test(item, *_identifiers(key)):
                return None
            reset_at, _remaining = limiter.limiter.get_window_stats(item, *_identifiers(key))
        except Exception as error:  # the storage (Redis) is down: fail open, like the other limits
            log.warning("rate-limit storage unreachable, login throttling skipped: %s", error)
            return None
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
                try:
                    limiter.limiter.hit(_account_limit(), *_identifiers(key))
                except Exception as error:  # never turn an answered request into a 500
                    log.warning("rate-limit storage unreachable, a failed login was not counted: %s", error)
        return response
