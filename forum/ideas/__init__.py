"""Ideas boards: members vote for ideas with a budget of active votes; moderators set statuses."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages, the ideas board kind, the idea panel on the thread page and the receivers."""
    from forum import pages
    from forum.boards.kinds import BoardKind, register_board_kind
    from forum.ideas import receivers
    from forum.ideas.views import bp, idea_board, register_templating, thread_state

    app.register_blueprint(bp)
    register_templating(app)
    receivers.connect()
    register_board_kind(app, BoardKind("ideas", "Ideas (members vote)", order=30, page=idea_board))
    pages.add_loader(app, "thread", "ideas", lambda thread, posts, viewer: thread_state(thread, viewer))
    pages.fill_slot(app, "thread.after_opening_post", "ideas/_idea_panel.html", order=20)
