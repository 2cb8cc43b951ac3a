"""Moderation and safety: moderator tools, flags, sanctions, the audit log, anti-spam, rate limits."""

from __future__ import annotations

from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "PUBLIC_MOD_LOG": False,  # FORUM_PUBLIC_MOD_LOG=1: /mod/log/public, without private details
    "FLAGS_TO_HIDE": 3,  # distinct members in good standing whose flags hide a post pending review
    "NEW_ACCOUNT_HOURS": 24,
    "NEW_ACCOUNT_POSTS": 3,
    "NEW_ACCOUNT_MAX_LINKS": 2,
    "NEW_ACCOUNT_MAX_IMAGES": 1,
    "NEW_ACCOUNT_MAX_MENTIONS": 2,
    "NEW_ACCOUNT_THREAD_INTERVAL": 120,  # seconds
    "NEW_ACCOUNT_REPLY_INTERVAL": 30,
    "RATELIMIT_LOGIN_ACCOUNT": "5 per 15 minutes",  # failures per account, across IPs
}


def init_app(app: Flask) -> None:
    """Config defaults (FORUM_* still wins), signal receivers, rate limits, CLI and pages."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)

    from forum import events
    from forum.errors import NotFound
    from forum.moderation import (  # noqa: F401  (cli: `users set-role`)
        antispam,
        cli,
        csrf_recovery,
        members_views,  # noqa: F401  (its routes are on the same blueprint)
        ratelimits,
        services,
        users,
    )
    from forum.moderation.views import bp, is_any_moderator, redirect_merged_thread

    events.post_edited.connect(services.record_revision)
    events.post_created.connect(antispam.check_new_post)
    events.post_edited.connect(antispam.check_edited_post)
    events.wiki_page_edited.connect(antispam.check_wiki_revision)
    ratelimits.init_app(app)
    csrf_recovery.init_app(app)
    app.register_blueprint(bp)
    app.register_error_handler(NotFound, redirect_merged_thread)
    app.jinja_env.globals.update(
        is_any_moderator=is_any_moderator,
        can_view_history=services.can_view_history,
        sanction_notice=users.sanction_notice,
    )
    from forum.moderation.flags import can_flag, open_queue_count

    app.jinja_env.globals.update(can_flag=can_flag, review_pending_count=open_queue_count)
    from forum import pages
    from forum.moderation import footer

    pages.fill_slot(  # a duplicate's notice; the rest (tools, sanctions) is for members
        app,
        "thread.header",
        "moderation/_thread_tools.html",
        order=90,
        when=lambda page: bool(page["thread"].duplicate_of_id) or pages.for_members_page(page),
    )
    pages.fill_slot(
        app,
        "post.actions",
        render=footer.post_tools,
        when=pages.for_members,
        order=90,
    )
