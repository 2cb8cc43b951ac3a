"""Employee badges: prove a work address, grant, revoke, expire; shown on the posts written with one.

Modelled on Lobsters hats (STYLE.md item 8): a badge row is granted by someone (the
verification or a moderator), chosen per post, revoked by timestamp and logged. The rules
live by concept: `verification`, `granting`, `expiry`, `receivers`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Pages and `badges` commands, Jinja helpers, receivers; the badge on posts and composers."""
    from forum import pages
    from forum.badges import cli  # noqa: F401  (adds `flask badges ...` to the blueprint)
    from forum.badges.views import bp, register_badges

    app.register_blueprint(bp)
    register_badges(app)
    pages.fill_slot(
        app,
        "post.author",
        "badges/_post_badge.html",
        macro="post_badge",
        when=lambda post, *_: bool(post.badge),
    )
    pages.fill_slot(app, "composer.fields", "badges/_choose_badge.html")
    pages.fill_slot(app, "thread_row.marks", "badges/_row_marks.html", macro="row_marks", order=20)
