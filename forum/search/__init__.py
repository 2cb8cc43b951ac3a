"""Full-text search: an outbox-fed index (Whoosh or PostgreSQL) behind a small interface."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the blueprint, CLI and the session hook that feeds the outbox."""
    from forum import pages
    from forum.config import ConfigurationError

    backend = app.config["SEARCH_BACKEND"]
    if backend not in ("whoosh", "postgres"):
        raise ConfigurationError(f"SEARCH_BACKEND must be whoosh or postgres, not {backend!r}.")
    if backend == "postgres" and not str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        raise ConfigurationError('SEARCH_BACKEND "postgres" needs a PostgreSQL database (DATABASE_URL).')
    from forum.search import cli  # noqa: F401  (registers the commands on bp)
    from forum.search.outbox import install_hooks
    from forum.search.services import similar_threads
    from forum.search.views import bp

    app.register_blueprint(bp)
    install_hooks(app)
    pages.fill_slot(app, "thread.before_posts", "search/_thread_search.html")  # long threads only
    app.jinja_env.globals["similar_threads"] = similar_threads  # the new-thread preview lists them
