"""Request helpers every feature's views share (a lower layer: it imports no feature)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, g, request, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape

from forum.db import MAX_ID


def page_number(page_count: int) -> int:
    """The ?page= argument, checked against the number of pages (400 or 404 otherwise)."""
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        abort(400, description="The page number must be a whole number, like ?page=2.")
    page = int(raw)
    if page < 1 or page > page_count:
        pages = "page" if page_count == 1 else "pages"
        abort(404, description=f"There is no page {page}: there are {page_count} {pages}.")
    return page


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after login; anything pointing off-site becomes `default`."""
    if not target:
        return default
    target = target.strip()
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


def page_csrf_token() -> str:
    """Flask-WTF's token, looked up once per request: a thread page asks in every post's forms."""
    token = g.get("page_csrf_token")
    if token is None:
        token = g.page_csrf_token = generate_csrf()
    return token


def url_for_id(endpoint: str, **values: int) -> str:
    """url_for(endpoint, post_id=...) for a route that takes one database id, like each post's links.

    A thread page builds the same few links for each of its posts, and url_for costs some 24 µs a
    call (54 calls, a sixth of a member's thread page): so the route is built once per request,
    with MAX_ID for the id, and the real id is put in its place.
    """
    ((name, value),) = values.items()
    patterns = g.setdefault("id_url_patterns", {})
    pattern = patterns.get((endpoint, name))
    if pattern is None:
        before, _, after = url_for(endpoint, **{name: MAX_ID}).rpartition(str(MAX_ID))
        pattern = patterns[endpoint, name] = (before, after)
    return f"{pattern[0]}{int(value)}{pattern[1]}"


def action_form(
    url: str,
    label: str,
    *,
    class_: str = "link-button",
    confirm: str | None = None,
    fields: dict[str, str] | None = None,
) -> Markup:
    """A button that POSTs to `url` with the page's CSRF token: the HTML of the forms.action_button
    macro, for the Python functions that write each post's footer (forum.pages)."""
    confirmation = f' data-confirm="{escape(confirm)}"' if confirm else ""
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in (fields or {}).items()
    )
    return Markup(
        f'<form action="{escape(url)}" method="post" class="inline-form"{confirmation}>'
        f'<input type="hidden" name="csrf_token" value="{escape(page_csrf_token())}">{hidden}'
        f'<button type="submit" class="{escape(class_)}">{escape(label)}</button></form>'
    )
