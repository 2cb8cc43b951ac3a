"""The look of every page: icons, generated avatars, page descriptions for search engines and
link previews, robots.txt, the sitemap, and compressed responses (issue 16)."""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote

from flask import Flask, Response, current_app, request
from markupsafe import Markup

from forum.icons import icon
from forum.look.avatars import initials

DESCRIPTION_LENGTH = 155
STATIC_COMPRESS_MAX = (
    512 * 1024
)  # bytes: our CSS and JS are far smaller  # what search engines show of a meta description

_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#x27;": "'", "&#39;": "'"}
_ENTITY = re.compile("|".join(_ENTITIES))


def avatar_url(user: object) -> str:
    """The uploaded picture (forum.uploads), else the generated avatar; either address changes
    with what it shows (the picture's hash, the initials), so browsers may cache it for long."""
    picture = getattr(user, "avatar_sha256", None)
    if picture:
        return f"/avatars/{picture}.webp"
    return _generated_avatar_url(user.username, user.name)  # type: ignore[attr-defined]


@lru_cache(maxsize=4096)
def _generated_avatar_url(username: str, name: str) -> str:
    """Cached: a thread page asks for each post's author, the same few people (a regex and a
    quote each time)."""
    return f"/u/{username}/avatar.svg?i={quote(initials(name))}"


def excerpt(html_or_text: str | Markup | None, length: int = DESCRIPTION_LENGTH) -> str:
    """Plain text of stored HTML (a post, a wiki page), cut at a word near `length` characters."""
    text = _SPACES.sub(" ", _TAGS.sub(" ", str(html_or_text or ""))).strip()
    text = _ENTITY.sub(lambda match: _ENTITIES[match.group(0)], text)
    if len(text) <= length:
        return text
    cut = text[: length - 1].rsplit(" ", 1)[0].rstrip(",.;:")
    return cut + "…"


def sentence(text: str | None) -> str:
    """`text` ending in exactly one full stop (or its own ! or ?): reasons and names end sentences."""
    text = (text or "").rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """'1 post', '2 posts', '1,234 replies': the count with the right form of the word."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {word}"


def canonical_url() -> str:
    """This page's one address: the public base URL, the path, and `page` when it is past the first."""
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    page = request.args.get("page", "")
    query = f"?page={int(page)}" if page.isascii() and page.isdigit() and 1 < int(page) < 10**6 else ""
    if request.path == "/search" and request.args.get("q"):
        query = f"?q={quote(request.args['q'])}"
    return f"{base}{request.path}{query}"


def init_app(app: Flask) -> None:
    """Blueprint (avatars, robots.txt, sitemap), Jinja helpers, compression."""
    from forum.look.views import bp

    app.register_blueprint(bp)
    app.jinja_env.globals.update(icon=icon, avatar_url=avatar_url, canonical_url=canonical_url)
    app.jinja_env.filters.update(excerpt=excerpt, sentence=sentence, plural=plural)
    _init_compression(app)


def _init_compression(app: Flask) -> None:
    """Flask-Compress: Brotli or gzip when the client accepts it (HTML, CSS, JS, SVG, XML, JSON).

    A reverse proxy can do this instead (FORUM_COMPRESS=false then); the app does it by default
    so that `make run` and a bare gunicorn serve small pages too.
    """
    app.config.setdefault("COMPRESS", True)
    if not app.config["COMPRESS"]:
        return
    from flask_compress import Compress

    app.config.setdefault(
        "COMPRESS_MIMETYPES",
        [
            "text/html",
            "text/css",
            "text/plain",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/xml",
            "application/atom+xml",
            "image/svg+xml",
        ],
    )
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    # Streamed responses (exports) pass through as they are: compressing a stream drops the
    # file it reads from without closing it.
    app.config.setdefault("COMPRESS_STREAMS", False)
    Compress(app)

    @app.after_request  # registered after Compress, so it runs before it
    def read_static_files(response: Response) -> Response:
        """Static files are streamed from disk; read the small ones (CSS, JS, SVG) into the
        response, which closes the file, so that Flask-Compress can compress them."""
        if (
            request.endpoint == "static"
            and response.status_code == 200
            and response.is_streamed
            and (response.content_length or 0) <= STATIC_COMPRESS_MAX
            and response.mimetype in app.config["COMPRESS_MIMETYPES"]
        ):
            response.direct_passthrough = False
            response.get_data()
        return response
