"""HTTP security headers on every response, no-store for anything personal, and guards that
turn malformed requests into 400/404 before they reach a view or the database."""

from __future__ import annotations

from flask import Flask, Response, abort, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.exc import DataError

from forum.errors import error_response
from forum.extensions import db

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def register_security_headers(app: Flask) -> None:
    https = str(app.config["BASE_URL"]).startswith("https://")

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        # Pages for a logged-in member carry their name, notifications and forms: never cache.
        # Responses that declare themselves public (avatars, robots.txt) are the same for everyone;
        # immutable ones (uploaded files, by content hash) never change what an address serves.
        cache = response.cache_control
        if current_user and current_user.is_authenticated and not (cache.public or cache.immutable):
            headers["Cache-Control"] = "private, no-store"
        return response


def accept_files(app: Flask, endpoint: str, *fields: str) -> None:
    """Let `endpoint` take files in `fields` (forum.uploads); every other form refuses files."""
    app.extensions.setdefault("forum.file_fields", {}).setdefault(endpoint, set()).update(fields)


def register_input_guards(app: Flask) -> None:
    """Bad requests answer 400/404, never 500 (issue #21).

    PostgreSQL refuses NUL in text, so a NUL in the path (`/u/a%00b`) or a query parameter
    (the /mod/log filters) used to reach it and fail; no form takes files, so a text field
    sent as a multipart file part reached WTForms as a file object (TypeError). A database
    that refuses a value (DataError) is bad input too: the request is answered with a 400.
    """

    @app.before_request
    def refuse_malformed_requests() -> ResponseReturnValue | None:
        if "\x00" in request.path:
            abort(404)
        if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
            abort(400, description="The address contains a NUL character.")
        if request.method not in ("GET", "HEAD", "OPTIONS") and request.files:
            allowed = app.extensions.get("forum.file_fields", {}).get(request.endpoint, set())
            if set(request.files) - allowed:
                abort(400, description="This form takes no files; send its fields as text.")
        return None

    @app.errorhandler(DataError)
    def refuse_values_the_database_cannot_store(error: DataError) -> ResponseReturnValue:
        db.session.rollback()
        app.logger.info("Refused a value the database cannot store: %s", error.orig)
        return error_response(
            400, "The request contains a value that cannot be stored (such as a NUL character)."
        )
