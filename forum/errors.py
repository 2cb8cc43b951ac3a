"""Service errors and the one handler that turns them (and HTTP errors) into pages or JSON."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException


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


def error_response(status: int, message: str, field: str | None = None) -> ResponseReturnValue:
    if wants_json():
        body: dict[str, object] = {"error": message, "status": status}
        if field:
            body["field"] = field
        return jsonify(body), status
    title = TITLES.get(status, "Error")
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError) -> ResponseReturnValue:
        return error_response(error.status, error.message, error.field)

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        message = error.description or TITLES.get(status, "Error")
        if status == 404 and error.description == type(error).description:
            message = "There is nothing at this address."
        response = error_response(status, message)
        if status == 429:
            # Flask-Limiter puts the retry delay on the original response's headers.
            original = error.get_response()
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
        return error_response(500, "Something went wrong on our side. Please try again.")
