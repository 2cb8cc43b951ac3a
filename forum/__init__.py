"""Roundabout: a self-hosted, independent customer-support forum."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, Response

from forum import extensions  # not `import db`: forum.db must stay the module
from forum.config import load_config


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, CLI and hooks."""
    app = Flask(
        __name__,
        instance_path=(test_config or {}).get("INSTANCE_PATH") or os.environ.get("FORUM_INSTANCE_PATH"),
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    load_config(app, test_config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from forum import models  # noqa: F401  (registers every table)

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(_migrations_dir()))
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    login_manager = extensions.login_manager
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are server-side rows (forum.auth)

    from forum.admin.views import bp as admin_bp
    from forum.auth.cli import bp as users_cli
    from forum.auth.views import bp as auth_bp
    from forum.boards.cli import boards_cli, posts_cli
    from forum.boards.views import bp as boards_bp
    from forum.demo import bp as demo_cli
    from forum.errors import register_error_handlers
    from forum.mail.cli import bp as mail_cli
    from forum.security import register_security_headers
    from forum.templating import register_templating

    for blueprint in (auth_bp, boards_bp, admin_bp, users_cli, boards_cli, posts_cli, mail_cli, demo_cli):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    register_security_headers(app)
    register_templating(app)
    _register_mail_drain(app)
    from forum import search

    search.init_app(app)
    return app


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_mail_drain(app: Flask) -> None:
    """After a response that queued mail, send it once the response has gone out."""

    @app.after_request
    def drain_mail_after_response(response: Response) -> Response:
        if extensions.db.session.info.pop("mail_queued", False) and app.config["MAIL_SEND_AFTER_REQUEST"]:

            def send() -> None:
                from forum.mail.services import send_pending

                with app.app_context():
                    send_pending()

            response.call_on_close(send)
        return response
