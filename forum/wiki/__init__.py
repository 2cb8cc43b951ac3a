"""The wiki: pages written together, promoted from solved threads, with history and diffs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, the `wiki` commands and the wiki block on the thread page."""
    from forum import pages
    from forum.wiki.cli import bp as cli_bp
    from forum.wiki.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(cli_bp)
    pages.fill_slot(app, "thread.before_posts", "wiki/_thread_notice.html")
    pages.fill_slot(app, "thread.after_posts", "wiki/_thread_promote.html", when=pages.for_members_page)
