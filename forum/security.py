"""HTTP security headers on every response, and no-store for anything personal."""

from __future__ import annotations

from flask import Flask, Response
from flask_login import current_user

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
        if current_user and current_user.is_authenticated:
            headers["Cache-Control"] = "private, no-store"
        return response
