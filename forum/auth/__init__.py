"""Accounts: registration, login sessions, profiles, passwords and the `flask users` commands."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The account pages, the `users` commands and the login manager's settings."""
    from forum.auth.cli import bp as cli_bp
    from forum.auth.views import bp
    from forum.extensions import login_manager

    app.register_blueprint(bp)
    app.register_blueprint(cli_bp)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are server-side rows (forum.auth)
