"""Known problems (issue #17): "I'm affected too", problem details, the known-issue register
at /known-issues and the company's response in numbers at /response."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Blueprints, CLI, Jinja globals, signal receivers, the hourly figures job and page slots."""
    from forum import events, pages
    from forum.known import services
    from forum.known.cli import bp as cli_bp
    from forum.known.views import bp, register_templating

    app.register_blueprint(bp)
    app.register_blueprint(cli_bp)
    register_templating(app)
    events.threads_combined.connect(services.on_threads_combined)
    events.solution_marked.connect(services.on_solution_marked)
    from forum.known import jobs  # noqa: F401  (registers the hourly figures job)

    pages.fill_slot(app, "thread.header", "known/_thread_header.html", order=95)
    pages.fill_slot(app, "board.filters", "known/_board_filters.html", order=70)
    pages.fill_slot(app, "thread_row.after_title", "known/_row_affected.html", macro="row_affected")
