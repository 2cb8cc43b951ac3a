"""Lifeboat: bring a community's history from the forum it is leaving, and keep its old links.

Converters (`flask lifeboat stackexchange|mbox|phpbb|discourse`) write the forum data format
with three record types of their own (imported_member, origin, old_url: forum.lifeboat.records);
`flask exchange import` loads them; old addresses answer with a 301 (forum.lifeboat.views).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from forum.exchange.fields import parse_time


def init_app(app: Flask) -> None:
    """Record types, redirects of old addresses, the `flask lifeboat` commands and the attribution."""
    from forum import pages
    from forum.exchange.records import FINALIZERS, RECORD_TYPES, RecordType
    from forum.lifeboat import cli  # noqa: F401  (registers the commands on bp)
    from forum.lifeboat import records as r
    from forum.lifeboat.views import bp

    for record_type in (
        RecordType("imported_member", r.parse_imported_member, r.check_imported_member,
                   r.load_imported_member, r.export_imported_members),
        RecordType("origin", r.parse_origin, r.check_origin, r.load_origin, r.export_origins),
        RecordType("thread_duplicate", r.parse_thread_duplicate, r.check_thread_duplicate,
                   r.load_thread_duplicate, r.export_thread_duplicates),
        RecordType("old_url", r.parse_old_url, r.check_old_url, r.load_old_url, r.export_old_urls),
    ):  # fmt: skip
        RECORD_TYPES.setdefault(record_type.name, record_type)
    finish = FINALIZERS.setdefault("finish", [])
    if r.queue_imported_for_search not in finish:
        finish.append(r.queue_imported_for_search)
    app.register_blueprint(bp)
    app.jinja_env.globals["post_origin"] = post_origin
    pages.fill_slot(
        app, "post.author", "lifeboat/_post_origin.html", macro="imported_mark", order=5, when=_imported
    )
    pages.fill_slot(app, "post.after_body", "lifeboat/_post_origin.html", macro="origin_line", when=_imported)


def _loaded_origin(post: Any) -> str | None:
    """The origin summary if the page loaded it with the post (never a query per post)."""
    return post.__dict__.get("lifeboat_origin")


def _imported(post: Any, *_: Any) -> bool:
    # Asked for each post of every thread page: no parsing.
    return bool(_loaded_origin(post))


def post_origin(post: Any) -> dict[str, Any] | None:
    """An imported post's origin (source, author, at, url, license) if the page loaded it, else None."""
    summary = _loaded_origin(post)
    if not summary:
        return None
    origin: dict[str, Any] = json.loads(summary)
    origin["at"] = parse_time(origin["at"]) if origin.get("at") else None
    return origin
