"""Service errors and the one handler that turns them (and HTTP errors) into pages or JSON."""

from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30
# Messages of errors that mean "the database cannot be reached", not "this statement is wrong"
# (SQLite's "no such table", also an OperationalError, is a bug and stays a 500).
_UNREACHABLE = (
    "connection", "could not connect", "server closed", "terminating connection", "timeout",
    "timed out", "unable to open database", "database is locked", "disk i/o error", "no route to host",
    "the database system is", "too many clients",
)  # fmt: skip


class ServiceError(Exception):
    """A rule a service refused to break; `status` is the HTTP answer, `field` the form field."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    status = 422


class TooManyRequests(ServiceError):
    status = 429


def wants_json() -> bool:
    """JSON for API calls and for clients that ask for it; HTML for people."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Cannot be saved",
    429: "Slow down",
    500: "Something went wrong",
}


def wait_in_words(seconds: int) -> str:
    """A wait as a person says it: "a few seconds", "about 12 minutes", "about 2 hours"."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = -(-seconds // 60)
    if minutes < 60:
        return "about a minute" if minutes == 1 else f"about {minutes} minutes"
    hours = round(minutes / 60)
    return "about an hour" if hours == 1 else f"about {hours} hours"


def _seconds_until_allowed(retry_after: str) -> int | None:
    """How long until the limit that was hit lets the client through again."""
    if retry_after.isdigit():
        return int(retry_after)
    import time

    from forum.extensions import limiter

    current = limiter.current_limit
    return max(1, int(current.reset_at - time.time())) if current is not None else None


def error_response(status: int, message: str, field: str | None = None) -> ResponseReturnValue:
    if wants_json():
        body: dict[str, object] = {"error": message, "status": status}
        if field:
            body["field"] = field
        return jsonify(body), status
    title = TITLES.get(status, "Error")
    return render_template("errors/error.html", status=status, title=title, message=message), status


def is_database_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database is down or busy (rather than a bug in a statement)."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    message = str(error.orig).lower()
    return isinstance(error, OperationalError) and any(part in message for part in _UNREACHABLE)


def unavailable_response() -> ResponseReturnValue:
    """503 with Retry-After, rendered from the config alone: no member, no database (issue #13)."""
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if wants_json():
        body = {"error": "The forum cannot reach its database; try again shortly.", "status": 503}
        return jsonify(body), 503, headers
    page = render_template(
        "errors/unavailable.html", site_name=current_app.config["SITE_NAME"], retry_after=RETRY_AFTER_SECONDS
    )
    return page, 503, headers


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    def handle_database_error(error: DBAPIError) -> ResponseReturnValue:
        if not is_database_unreachable(error):
            raise error  # a bug: the 500 handler answers
        log.warning("database unreachable, answering 503: %s", str(error.orig).strip()[:300])
        _forget_session()
        return unavailable_response()

    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError) -> ResponseReturnValue:
        return error_response(error.status, error.message, error.field)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        message = error.description or TITLES.get(status, "Error")
        if status == 404 and error.description == type(error).description:
            message = "There is nothing at this address."
        if status == 429:
            # Flask-Limiter puts the retry delay on the original response's headers.
            original = error.get_response()
            wait = _seconds_until_allowed(original.headers.get("Retry-After", ""))
            if wait is not None:
                message = f"{message.rstrip('.')}. You can try again in {wait_in_words(wait)}."
        response = error_response(status, message)
        if status == 429:
            resp = app.make_response(response)
            for header in ("Retry-After", "X-RateLimit-Reset"):
                if header in original.headers:
                    resp.headers[header] = original.headers[header]
            return resp
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            resp = app.make_response(response)
            resp.headers["Allow"] = ", ".join(error.valid_methods)
            return resp
        return response

    @app.errorhandler(500)
    def handle_internal_error(error: Exception) -> ResponseReturnValue:
        original = getattr(error, "original_exception", None)
        if original is not None and is_database_unreachable(original):
            return handle_database_error(original)
        try:
            return error_response(500, "Something went wrong on our side. Please try again.")
        except DBAPIError as failure:  # the page's layout needs the database too
            if not is_database_unreachable(failure):
                raise
            _forget_session()
            return unavailable_response()


def _forget_session() -> None:
    """Drop the broken connection and the half-loaded member, so nothing later retries them."""
    from flask import g

    from forum.extensions import db, login_manager

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001, S110 (the connection is gone; the pool replaces it)
        pass
    g._login_user = login_manager.anonymous_user()
