"""Configuration: defaults, then instance/config.py, then FORUM_* environment variables.

Defaults just work for one person on one machine: SQLite and the search index in the
instance folder, mail written to files there, and a secret key generated once (mode 600).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The app refuses to start with this configuration."""


FEATURES = (
    "auth", "boards", "admin", "demo", "badges", "wiki", "exchange",
    "qa", "ideas", "mail", "jobs", "notifications", "follow", "moderation", "search",
    "counters", "look", "lifeboat", "known", "uploads", "semantic",
)  # fmt: skip
# look: the icons and helpers every template uses. follow and known: boards' views still call
# their reply box, drafts, unread position and problem details directly (debt, .importlinter).
CORE_FEATURES = ("auth", "boards", "follow", "known", "look")

DEFAULTS: dict[str, Any] = {
    "ENV": "development",  # "production" turns on the start-up checks below
    "SITE_NAME": "Roundabout",
    "SITE_TAGLINE": "Customers helping customers",
    "BASE_URL": "http://127.0.0.1:5000",
    "DATABASE_URL": None,  # default: sqlite:///<instance>/forum.db
    "SECRET_KEY": None,  # default: generated once into <instance>/secret_key
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "ARGON2_TIME_COST": 3,
    "ARGON2_MEMORY_COST": 65536,
    "ARGON2_PARALLELISM": 4,
    "SESSION_IDLE_TIMEOUT": timedelta(days=2),
    "REMEMBER_COOKIE_DURATION": timedelta(days=30),
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,  # tokens live as long as the session
    "MAIL_SERVER": "",  # empty: mail is written to <instance>/mail and logged
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_USERNAME": "",
    "MAIL_PASSWORD": "",
    "MAIL_SENDER": "Roundabout <forum@localhost>",
    "MAIL_TIMEOUT": 10,
    "MAIL_SEND_AFTER_REQUEST": True,
    "MAIL_CLAIM_LEASE": 600,  # seconds a drainer owns a message it is sending (> MAIL_TIMEOUT)
    "MAIL_RETRY_BASE": 60,  # seconds before the first retry; doubles per attempt
    "RATELIMIT_STORAGE_URI": "memory://",
    # Moving windows: a fixed window lets twice the limit through around each minute boundary.
    "RATELIMIT_STRATEGY": "moving-window",
    "RATELIMIT_HEADERS_ENABLED": True,
    # Redis down: limits fail open, with the error logged, rather than every login and post
    # answering 500 (issue #13). Flask-Limiter's in-memory fallback was not chosen: it replaces
    # every route's limits with one global list, which would throttle reading pages too.
    "RATELIMIT_SWALLOW_ERRORS": True,
    # A Redis that does not answer costs a request half a second, not a hang.
    "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    # The named limits of forum.limits, which the routes carry.
    "RATELIMIT_LOGIN": "10 per minute;30 per hour",  # per IP
    "RATELIMIT_REGISTER": "5 per hour",  # per IP
    "RATELIMIT_POSTING": "6 per minute;60 per hour",  # per member
    # Edits and wiki pages, previews included: each renders Markdown (issue #21).
    "RATELIMIT_EDITING": "20 per minute;200 per hour",  # per member
    "WORKERS": 1,  # how many processes serve the app (the memory:// limiter needs exactly 1)
    "COMPANY_NAME": "the company",
    "SEARCH_BACKEND": "whoosh",
    "SEARCH_INDEX_DIR": None,  # default: <instance>/search-index
    "SEARCH_INDEX_PROCS": min(2, os.cpu_count() or 1),  # processes for `flask search reindex` (Whoosh)
    "SEARCH_CANDIDATES": 1000,  # PostgreSQL: the newest matching posts ranked per search (README)
    # The feature packages create_app plugs in, in this order, each through its init_app
    # (docs/ARCHITECTURE.md). CORE_FEATURES are needed; the others can be left out.
    "FEATURES": FEATURES,
}


def load_config(app: Flask, test_config: dict[str, Any] | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config["BASE_URL"] = default_base_url()
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("FORUM")
    if test_config:
        app.config.from_mapping(test_config)
    for key in ("SESSION_IDLE_TIMEOUT", "REMEMBER_COOKIE_DURATION"):
        value = app.config[key]
        if isinstance(value, int | float):
            app.config[key] = timedelta(seconds=value)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            app.config["DATABASE_URL"] or f"sqlite:///{instance / 'forum.db'}"
        )
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret_key(instance / "secret_key")
    if not app.config["SEARCH_INDEX_DIR"]:
        app.config["SEARCH_INDEX_DIR"] = str(instance / "search-index")
    _cookie_settings(app)
    _check_features(app)
    check_config(app)


def _check_features(app: Flask) -> None:
    features = app.config["FEATURES"]
    if isinstance(features, str):  # FORUM_FEATURES="auth boards qa"
        features = app.config["FEATURES"] = tuple(features.replace(",", " ").split())
    unknown = [name for name in features if name not in FEATURES]
    if unknown:
        raise ConfigurationError(
            f"FEATURES: no feature {', '.join(unknown)}; the features are {', '.join(FEATURES)}."
        )
    missing = [name for name in CORE_FEATURES if name not in features]
    if missing:
        raise ConfigurationError(f"FEATURES must include the core: {', '.join(missing)}.")


def default_base_url() -> str:
    """Where `flask run` (and so `make run PORT=...`) serves, unless FORUM_BASE_URL says otherwise.

    Flask's `run` command takes its host and port from FLASK_RUN_HOST and FLASK_RUN_PORT, which
    the Makefile sets: links in mail and feeds then point at the port that actually answers.
    """
    host = os.environ.get("FLASK_RUN_HOST") or "127.0.0.1"
    port = os.environ.get("FLASK_RUN_PORT") or "5000"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def _instance_secret_key(path: Path) -> str:
    """Read the instance's secret key, creating it (readable by the owner only) the first time."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def _cookie_settings(app: Flask) -> None:
    """HttpOnly and SameSite=Lax always; Secure and the __Host- prefix under https."""
    https = str(app.config["BASE_URL"]).startswith("https://")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=https,
        PREFERRED_URL_SCHEME="https" if https else "http",
    )
    if https:
        app.config["SESSION_COOKIE_NAME"] = "__Host-session"
        app.config["REMEMBER_COOKIE_NAME"] = "__Host-remember_token"
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["REMEMBER_COOKIE_PATH"] = "/"


def check_config(app: Flask) -> None:
    """Refuse to run production with settings that would be unsafe."""
    config = app.config
    if config["ENV"] != "production":
        return
    problems = []
    if config.get("DEBUG") or app.debug:
        problems.append("DEBUG is on (set FORUM_DEBUG=0)")
    if len(str(config["SECRET_KEY"])) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters")
    if int(config["WORKERS"]) > 1 and str(config["RATELIMIT_STORAGE_URI"]).startswith("memory://"):
        problems.append(
            "rate limits use memory:// storage with several workers; "
            "set FORUM_RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379"
        )
    if problems:
        raise ConfigurationError("Refusing to start in production: " + "; ".join(problems) + ".")
