"""Site administration: boards and their order."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from forum.admin.views import bp

    app.register_blueprint(bp)
