"""Which backend serves this app: SEARCH_BACKEND = "whoosh" (default) or "postgres"."""

from __future__ import annotations

from types import ModuleType

from flask import current_app

from forum.extensions import db


class SearchConfigError(RuntimeError):
    """SEARCH_BACKEND names something we cannot use with this database."""


def backend() -> ModuleType:
    name = current_app.config["SEARCH_BACKEND"]
    if name == "whoosh":
        from forum.search import whoosh_backend

        return whoosh_backend
    if name == "postgres":
        if db.engine.dialect.name != "postgresql":
            raise SearchConfigError('SEARCH_BACKEND "postgres" needs a PostgreSQL database.')
        from forum.search import postgres_backend

        return postgres_backend
    raise SearchConfigError(f"SEARCH_BACKEND must be whoosh or postgres, not {name!r}.")
