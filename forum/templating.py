"""Jinja filters and globals: times, numbers, permission predicates, stored HTML."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import KeysView, MutableMapping
from datetime import datetime
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for
from flask.templating import Environment
from markupsafe import Markup

from forum.boards import permissions
from forum.db import utcnow
from forum.markup import stored_html
from forum.web import page_csrf_token, url_for_id


class TemplateGlobals(ChainMap):  # type: ignore[type-arg]
    """A template's globals over the environment's, as Jinja makes them, with the membership
    test and keys of a dict.

    Jinja copies these keys into every context it creates (a page, each include) and compares
    them on every `{% import %}`. ChainMap does both in Python, key by key: with some seventy
    globals that was a tenth of a thread page's CPU, more than the includes themselves.
    """

    def __contains__(self, key: object) -> bool:
        maps = self.maps
        if len(maps) == 2:
            return key in maps[0] or key in maps[1]
        return super().__contains__(key)

    def __iter__(self) -> Any:
        maps = self.maps
        if len(maps) == 2 and not maps[0]:
            return iter(maps[1])
        return super().__iter__()

    def keys(self) -> KeysView[Any]:
        maps = self.maps
        if len(maps) == 2 and not maps[0]:
            return maps[1].keys()
        return super().keys()


class TemplateEnvironment(Environment):
    """Flask's Jinja environment, its templates' globals a TemplateGlobals (create_app uses it)."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return TemplateGlobals(d if d is not None else {}, self.globals)


def relative_time(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return "never"
    seconds = int(((now or utcnow()) - moment).total_seconds())
    if seconds < 45:
        return "just now"
    for limit, size, unit in (
        (3600, 60, "minute"),
        (86400, 3600, "hour"),
        (86400 * 30, 86400, "day"),
        (86400 * 365, 86400 * 30, "month"),
    ):
        if seconds < limit:
            count = max(1, round(seconds / size))
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    years = max(1, round(seconds / (86400 * 365)))
    return f"{years} year{'s' if years != 1 else ''} ago"


def time_tag(moment: datetime | None) -> Markup:
    """<time> with a relative text and the exact UTC time on hover."""
    if moment is None:
        return Markup("<span>never</span>")
    # Every part is made here from a datetime (digits, dashes, words): nothing to escape, so
    # an f-string replaces Markup.format, which was a third of a board page's CPU (issue 8).
    # The digits come from isoformat, a third of the cost of two strftime calls (a thread page
    # makes some thirty time tags): "2026-12-06T03:01:44[.123456]+00:00".
    iso = moment.isoformat()
    return Markup(
        f'<time datetime="{iso[:19]}Z" title="{iso[:10]} {iso[11:16]} UTC">{relative_time(moment)}</time>'
    )


def page_url_for(endpoint: str, **values: Any) -> str:
    """url_for for templates: the links that every page has (style sheets, scripts, the feed,
    register, settings) are built once per script root and remembered.

    base.html asks for a dozen of them on every page, at some 20 us each. Links with values
    other than a static file's name, relative endpoints ('.index'), and links asked outside a
    request are built each time.
    """
    fixed = not values or (endpoint == "static" and len(values) == 1 and "filename" in values)
    if not fixed or endpoint.startswith(".") or not has_request_context():
        return url_for(endpoint, **values)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.url_default_functions:  # defaults could change a link from one request to the next
        return url_for(endpoint, **values)
    cache = app.extensions.get("forum.page_urls")
    if cache is None:
        cache = app.extensions["forum.page_urls"] = {}
    key = (request.script_root, endpoint, values.get("filename"))
    url = cache.get(key)
    if url is None:
        url = cache[key] = url_for(endpoint, **values)
    return url


def number(value: int) -> str:
    return f"{value:,}"


def register_templating(app: Flask) -> None:
    app.jinja_env.filters.update(reltime=relative_time, time_tag=time_tag, number=number, cooked=stored_html)
    app.jinja_env.globals.update(
        csrf_token=page_csrf_token,
        url_for=page_url_for,
        url_for_id=url_for_id,
        can_start_thread=permissions.can_start_thread,
        can_reply=permissions.can_reply,
        can_edit_post=permissions.can_edit_post,
        can_delete_post=permissions.can_delete_post,
        can_see_post_body=permissions.can_see_post_body,
        can_manage_boards=permissions.can_manage_boards,
        is_moderator_of=permissions.is_moderator_of,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def site_settings() -> dict[str, object]:
        # csrf_token here too: Flask-WTF's own context processor would otherwise win over the global.
        return {
            "site_name": app.config["SITE_NAME"],
            "site_tagline": app.config["SITE_TAGLINE"],
            "csrf_token": page_csrf_token,
        }
