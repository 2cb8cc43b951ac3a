"""Roundabout: a self-hosted, independent customer-support forum."""

from __future__ import annotations

import logging
import os
from importlib import import_module
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

from forum import extensions  # not `import db`: forum.db must stay the module
from forum.config import load_config
from forum.db import MAX_ID


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, then each feature of FEATURES through its `init_app`."""
    app = Flask(
        __name__,
        instance_path=(test_config or {}).get("INSTANCE_PATH") or os.environ.get("FORUM_INSTANCE_PATH"),
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    from forum.templating import TemplateEnvironment

    app.jinja_environment = TemplateEnvironment  # before anything creates app.jinja_env
    load_config(app, test_config)
    # Every <int:...> in a URL fits a database integer: /t/99999999999999999999 is a 404, not a 500.
    app.url_map.converters["int"] = DatabaseIdConverter
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from forum import models  # noqa: F401  (registers every table)

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(_migrations_dir()))
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    extensions.login_manager.init_app(app)

    from forum import pages
    from forum.errors import register_error_handlers
    from forum.security import register_input_guards, register_security_headers
    from forum.templating import register_templating

    register_error_handlers(app)
    register_security_headers(app)
    register_input_guards(app)
    register_templating(app)
    from forum import proxy

    proxy.init_app(app)  # client address and scheme from trusted proxies only
    pages.init_app(app)
    for name in app.config["FEATURES"]:
        import_module(f"forum.{name}").init_app(app)
    return app


class DatabaseIdConverter(IntegerConverter):
    """Integers from 0 to 2**31 - 1, the range of an INTEGER column on every backend."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
