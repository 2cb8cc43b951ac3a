"""SECURITY 20: a form refused for its CSRF token comes back with the member's text intact.

CSRFProtect refuses the request before the view runs, which would lose a long reply. For
the forms that carry written text, the refusal runs the view again: its form validates the
token itself, fails, changes nothing and re-renders the typed text with a fresh token and
a message; the status stays 400. Every other form gets the plain 400 page.
"""

from __future__ import annotations

from flask import Flask, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from forum.errors import error_response, wants_json

# Views whose form re-renders the submitted text and changes nothing when the form is invalid.
TEXT_FORMS = frozenset(
    {"boards.reply", "boards.new_thread", "boards.edit_post", "moderation.flag_post", "moderation.hide_post"}
)
MESSAGE = "This form had expired or was sent from elsewhere. Go back, reload the page and send it again."


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError) -> ResponseReturnValue:
        if request.endpoint in TEXT_FORMS and not wants_json():
            view = app.view_functions[request.endpoint]
            try:
                response = app.make_response(view(**(request.view_args or {})))
            except HTTPException as refused:  # the posting limit (429) or a missing thread (404)
                return app.handle_http_exception(refused)
            if response.status_code < 300 or response.status_code == 422:
                response.status_code = 400
            return response
        return error_response(400, MESSAGE)
