"""Named rate limits, applied as decorators at the routes: `@rate_limited("posting")`.

Each name reads its limit from the configuration at request time (Flask-Limiter accepts a
callable), so FORUM_RATELIMIT_POSTING and the like change it without code. Per-user limits
key on the member (the address for visitors); the others on the address. Only POSTs count:
showing a form is free. Put the decorator under `@bp.route` and above `@login_required`.
The login throttle per account, which counts failures only, lives in
forum.moderation.ratelimits (it needs the response).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user

from forum.extensions import limiter

_SLOW_DOWN = "Too many attempts from your network. Please wait a little and try again."


@dataclass(frozen=True)
class Limit:
    setting: str  # the configuration key holding "6 per minute;60 per hour"
    per_user: bool
    message: str
    counts: Callable[[Response], bool] | None = None  # which responses count (None: every POST)


LIMITS = {
    "login": Limit("RATELIMIT_LOGIN", per_user=False, message=_SLOW_DOWN),
    # Only registrations that were not turned back count: a form sent back with its errors
    # (422) is a person correcting a typo, not a new account.
    "register": Limit(
        "RATELIMIT_REGISTER",
        per_user=False,
        message=_SLOW_DOWN,
        counts=lambda response: response.status_code != 422,
    ),
    "posting": Limit(
        "RATELIMIT_POSTING",
        per_user=True,
        message="You are posting very fast; please wait a minute and try again.",
    ),
    "uploads": Limit(
        "RATELIMIT_UPLOADS",
        per_user=True,
        message="You are uploading very fast; please wait a minute and try again.",
    ),
    "editing": Limit(
        "RATELIMIT_EDITING",
        per_user=True,
        message="You are editing or previewing very fast; please wait a minute and try again.",
    ),
}


def _user_key() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def rate_limited(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The route decorator for the limit called `name` (one of LIMITS)."""
    limit = LIMITS[name]
    return limiter.limit(
        lambda: str(current_app.config[limit.setting]),
        key_func=_user_key if limit.per_user else get_remote_address,
        methods=["POST"],
        error_message=limit.message,
        deduct_when=limit.counts,
    )
