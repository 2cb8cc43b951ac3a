"""Export, import, backup and a static archive of the forum (the community owns its data)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The `flask exchange ...` commands."""
    from forum.exchange.cli import bp

    app.register_blueprint(bp)
