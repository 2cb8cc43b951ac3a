"""Old addresses of Discourse, phpBB and Stack Exchange forums: what identifies each, and where
it leads now.

An address is reduced to a key that ignores what the old forum itself ignored (slugs, the host,
the folder phpBB was installed in, the order of query arguments), so every spelling of an
old link finds its row:

    Discourse       /t/<slug>/<id>, /t/<slug>/<id>/<n>   -> /t/<id>, /t/<id>/<n> (n > 1)
                    /c/<slug>/<id>, /c/<parent>/<slug>/<id> -> /c/<id>
    phpBB           viewtopic.php?t=..(&p=..)            -> /viewtopic.php?p=.. or ?t=..
                    viewforum.php?f=..                   -> /viewforum.php?f=..
    Stack Exchange  /questions/<id>/<slug>, /q/<id>      -> /questions/<id>
                    /a/<id>, /questions/<q>/<slug>/<id>  -> /a/<id>

Any other address keys as its path and sorted query.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit

from sqlalchemy import select

from forum.extensions import db
from forum.lifeboat.models import OldUrl

KEY_MAX = 500
_DISCOURSE_TOPIC = re.compile(r"^/t/(?:[^/]+/)?(\d+)(?:/(\d+))?/?$")
_DISCOURSE_CATEGORY = re.compile(r"^/c/(?:[^/]+/)+(\d+)/?$")
_SE_QUESTION = re.compile(r"^/(?:questions|q)/(\d+)(?:/[^/]*)?(?:/(\d+))?/?$")
_SE_ANSWER = re.compile(r"^/a/(\d+)(?:/\d+)?/?$")


def path_key(url: str) -> str | None:
    """The key of an old address (a full URL or a path), or None if it has no usable path."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    path = parts.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    query = dict(parse_qsl(parts.query, keep_blank_values=False))
    name = path.rsplit("/", 1)[-1].lower()
    key: str | None = None
    if name == "viewtopic.php":
        for argument in ("p", "t"):
            if query.get(argument, "").isdigit():
                key = f"/viewtopic.php?{argument}={int(query[argument])}"
                break
    elif name == "viewforum.php" and query.get("f", "").isdigit():
        key = f"/viewforum.php?f={int(query['f'])}"
    elif match := _DISCOURSE_TOPIC.match(path):
        topic, number = match.groups()
        key = f"/t/{topic}/{number}" if number and int(number) > 1 else f"/t/{topic}"
    elif match := _DISCOURSE_CATEGORY.match(path):
        key = f"/c/{match.group(1)}"
    elif match := _SE_QUESTION.match(path):
        question, answer = match.groups()
        key = f"/a/{answer}" if answer else f"/questions/{question}"
    elif match := _SE_ANSWER.match(path):
        key = f"/a/{match.group(1)}"
    else:
        key = path + ("?" + urlencode(sorted(query.items())) if query else "")
    return key if key is not None and len(key) <= KEY_MAX else None


def target_url(target_type: str, target_id: int) -> str | None:
    """Where an old address leads now (None if its thread, post or board is gone)."""
    from forum.boards.models import Board, Post, Thread

    if target_type == "post":
        return f"/p/{target_id}" if db.session.get(Post, target_id) is not None else None
    if target_type == "thread":
        thread = db.session.get(Thread, target_id)
        return thread.url if thread is not None else None
    board = db.session.get(Board, target_id)
    return board.url if board is not None else None


def resolve(url: str) -> str | None:
    """The new address of an old one, or None if the forum does not know it."""
    key = path_key(url)
    if key is None:
        return None
    row = db.session.execute(
        select(OldUrl.target_type, OldUrl.target_id).where(OldUrl.path_key == key)
    ).first()
    return target_url(row.target_type, row.target_id) if row is not None else None


def redirect_pairs() -> Iterator[tuple[str, str]]:
    """(old path with query, new path) for every remembered address, in id order, batch by batch."""
    last = 0
    while True:
        rows = db.session.scalars(select(OldUrl).where(OldUrl.id > last).order_by(OldUrl.id).limit(500)).all()
        if not rows:
            return
        for row in rows:
            target = target_url(row.target_type, row.target_id)
            parts = urlsplit(row.url)
            old = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            if target is not None:
                yield old, target
        last = rows[-1].id
        db.session.expunge_all()


def _nginx_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def nginx_map(pairs: Iterator[tuple[str, str]], base_url: str) -> Iterator[str]:
    """An nginx `map` from $request_uri to the new address, and the `if` that uses it."""
    yield "# Written by `flask lifeboat redirects`: old forum addresses and their new places.\n"
    yield "# In the http block; in the old host's server block:\n"
    yield "#     if ($lifeboat_target) { return 301 $lifeboat_target; }\n"
    yield 'map $request_uri $lifeboat_target {\n    default "";\n'
    for old, new in pairs:
        yield f"    {_nginx_quote(old)} {_nginx_quote(base_url + new)};\n"
    yield "}\n"


_REGEX_SPECIALS = re.compile(r"([.^$*+?()\[\]{}|\\ ])")


def _regex(value: str) -> str:
    """A literal for a PCRE pattern: only the characters PCRE gives a meaning are escaped."""
    return _REGEX_SPECIALS.sub(r"\\\1", value)


def apache_rules(pairs: Iterator[tuple[str, str]], base_url: str) -> Iterator[str]:
    """mod_rewrite rules (server config or .htaccess): one 301 per old address, query included."""
    yield "# Written by `flask lifeboat redirects`: old forum addresses and their new places.\n"
    yield "RewriteEngine On\n"
    for old, new in pairs:
        path, _, query = old.partition("?")
        if query:
            yield f"RewriteCond %{{QUERY_STRING}} ^{_regex(query)}$\n"
        target = (base_url + new).replace(" ", "%20")
        yield f"RewriteRule ^/?{_regex(path.lstrip('/'))}$ {target}? [R=301,L,NE]\n"
