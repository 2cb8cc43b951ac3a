"""Roundabout: a self-hosted, independent customer-support forum."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from forum import extensions  # not `import db`: forum.db must stay the module
from forum.config import load_config
from forum.db import MAX_ID


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
    # Every <int:...> in a URL fits a database integer: /t/99999999999999999999 is a 404, not a 500.
    app.url_map.converters["int"] = DatabaseIdConverter
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
    from forum.badges import cli as _badges_cli  # noqa: F401  (adds `flask badges ...` to badges_bp)
    from forum.badges.views import bp as badges_bp
    from forum.badges.views import register_badges
    from forum.boards.cli import boards_cli, posts_cli
    from forum.boards.views import bp as boards_bp
    from forum.demo import bp as demo_cli
    from forum.errors import register_error_handlers
    from forum.mail.cli import bp as mail_cli
    from forum.security import register_input_guards, register_security_headers
    from forum.templating import register_templating
    from forum.wiki.cli import bp as wiki_cli
    from forum.wiki.views import bp as wiki_bp

    for blueprint in (auth_bp, boards_bp, admin_bp, users_cli, boards_cli, posts_cli, mail_cli, demo_cli):
        app.register_blueprint(blueprint)
    app.register_blueprint(badges_bp)
    register_badges(app)
    app.register_blueprint(wiki_bp)
    app.register_blueprint(wiki_cli)
    from forum.exchange.cli import bp as exchange_cli

    app.register_blueprint(exchange_cli)
    register_error_handlers(app)
    register_security_headers(app)
    register_input_guards(app)
    register_templating(app)
    _register_qa(app)
    from forum import jobs, proxy

    proxy.init_app(app)  # client address and scheme from trusted proxies only
    jobs.init_app(app)  # mail delivery and periodic work (issue #22)
    from forum.notifications.views import init_app as init_notifications

    init_notifications(app)  # blueprint, CLI, signal receivers, drain (issue #7)
    from forum.follow.views import init_app as init_follow

    init_follow(app)  # unread tracking, /latest, drafts, bookmarks (issue #15)
    from forum import moderation

    moderation.init_app(app)
    from forum import search

    search.init_app(app)
    from forum import counters

    counters.init_app(app)  # `flask forum recount` (issue #13)
    from forum import look

    look.init_app(app)  # icons, avatars, page descriptions, robots.txt, sitemap, compression (issue 16)
    from forum import lifeboat

    lifeboat.init_app(app)  # imports from other forums, old addresses (issue #18)
    from forum import known

    known.init_app(app)  # affected too, problem details, /known-issues, /response (issue #17)
    return app


class DatabaseIdConverter(IntegerConverter):
    """Integers from 0 to 2**31 - 1, the range of an INTEGER column on every backend."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def _register_qa(app: Flask) -> None:
    """Q&A and ideas: blueprints, CLI, Jinja globals and signal receivers."""
    from forum.ideas import receivers as ideas_receivers
    from forum.ideas.views import bp as ideas_bp
    from forum.ideas.views import register_templating as ideas_templating
    from forum.qa import receivers as qa_receivers
    from forum.qa.cli import bp as qa_cli
    from forum.qa.views import bp as qa_bp
    from forum.qa.views import register_templating as qa_templating

    for blueprint in (qa_bp, ideas_bp, qa_cli):
        app.register_blueprint(blueprint)
    qa_templating(app)
    ideas_templating(app)
    qa_receivers.connect()
    ideas_receivers.connect()
