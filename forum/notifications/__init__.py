"""Watching, notifications, feeds and the account mails (confirmation, password reset)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Blueprints, CLI, receivers and drain (forum.notifications.views); feeds and watch controls."""
    from forum import pages
    from forum.notifications.views import init_app as init_views

    init_views(app)
    pages.fill_slot(app, "thread.head", "notifications/_thread_feed.html")
    pages.fill_slot(app, "thread.meta", "notifications/_thread_watch.html", when=pages.for_members_page)
    pages.fill_slot(app, "board.head", "notifications/_board_feed.html")
    pages.fill_slot(app, "board.header", "notifications/_board_watch.html", when=pages.for_members_page)
