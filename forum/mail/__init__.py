"""Outgoing mail through an outbox: queued in the request's transaction, sent after commit."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The `mail` commands (forum.jobs sends what a request queued)."""
    from forum.mail.cli import bp

    app.register_blueprint(bp)
