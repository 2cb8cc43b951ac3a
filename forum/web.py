"""Request helpers every feature's views share (a lower layer: it imports no feature)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, request


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
