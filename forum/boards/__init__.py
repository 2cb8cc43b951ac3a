"""Boards, threads and posts: the forum's core pages, which other features extend (forum.pages)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """The pages, the `boards` and `posts` commands, the plain board kinds and boards' own slots."""
    from forum import pages
    from forum.boards import footer
    from forum.boards.cli import boards_cli, posts_cli
    from forum.boards.kinds import BoardKind, register_board_kind
    from forum.boards.views import bp

    for blueprint in (bp, boards_cli, posts_cli):
        app.register_blueprint(blueprint)
    register_board_kind(app, BoardKind("discussion", "Discussion", order=20))
    register_board_kind(
        app, BoardKind("announcements", "Announcements (only moderators start threads)", order=40)
    )
    pages.fill_slot(
        app,
        "thread.header",
        "boards/_locked_notice.html",
        order=50,
        when=lambda page: page["thread"].is_locked,
    )
    pages.fill_slot(
        app,
        "post.actions",
        render=footer.post_actions,
        when=pages.for_members,
        order=50,
    )
