"""[[Page title]] and [[Page title|label]] links, processed around forum.markup.render_markdown.

The source goes through render_markdown (and so through nh3) with each link replaced by an
inert placeholder; only afterwards are the placeholders swapped for anchors we build
ourselves with escaped text. User text therefore never bypasses the sanitizer, and the
sanitizer drops every `class` on user-written <a>, so `<a class="wikilink" ...>` in stored
HTML can only come from here. Whether a target exists is decided when the page is shown
(`mark_missing_links`), so a red link turns blue as soon as its page is created.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup, escape

from forum.errors import Invalid
from forum.markup import MAX_BODY_LENGTH, render_markdown

MAX_LINKS = 300
LINK_PATTERN = re.compile(r"\[\[([^\[\]|\n]{1,200})(?:\|([^\[\]\n]{1,200}))?\]\]")
# Fenced blocks and inline code spans keep [[...]] as literal text.
CODE_PATTERN = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$|(`+)[^`\n].*?\2", re.MULTILINE | re.DOTALL)
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: survive Markdown and nh3 as text
PLACEHOLDER = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
SLUG_PATTERN = re.compile(r"^[\w-]{1,200}$")
ANCHOR = re.compile(r'<a class="wikilink" href="/wiki/([^"/?#]+)" title="([^"]*)">')


def slugify(title: str) -> str:
    """Lowercase letters and digits of any script joined by dashes: "Reset your router" -> "reset-your-router"."""
    text = unicodedata.normalize("NFKC", title).casefold()
    return re.sub(r"[\W_]+", "-", text).strip("-")[:200].rstrip("-")


@dataclass(frozen=True)
class Link:
    title: str
    label: str
    slug: str


def find_links(source: str) -> list[Link]:
    """Every [[link]] outside code, in order (duplicates kept)."""
    links = []
    for chunk in _outside_code(source):
        for match in LINK_PATTERN.finditer(chunk):
            link = _link(match)
            if link is not None:
                links.append(link)
    return links


def _link(match: re.Match[str]) -> Link | None:
    title = " ".join(match.group(1).split())
    label = " ".join((match.group(2) or "").split()) or title
    slug = slugify(title)
    return Link(title, label, slug) if slug else None


def _outside_code(source: str) -> list[str]:
    return _split_code(source)[0]


def _split_code(source: str) -> tuple[list[str], list[str]]:
    """(text chunks, code chunks), interleaved: text, code, text, code, ..., text."""
    texts, codes, last = [], [], 0
    for match in CODE_PATTERN.finditer(source):
        texts.append(source[last : match.start()])
        codes.append(match.group(0))
        last = match.end()
    texts.append(source[last:])
    return texts, codes


def render_wikitext(source: str, field: str = "body") -> tuple[Markup, list[Link]]:
    """Markdown with wiki links -> (sanitized HTML, the distinct links), or raise Invalid.

    The length limit applies to the text as written; render_markdown then applies its own
    checks (NUL, the "[" limit) to the text it actually parses, where each link is a
    placeholder, so a hub page may hold up to MAX_LINKS links.
    """
    if len(source) > MAX_BODY_LENGTH:
        raise Invalid(f"This is {len(source):,} characters long; the limit is {MAX_BODY_LENGTH:,}.", field)
    source = source.replace(_OPEN, "").replace(_CLOSE, "")
    links: list[Link] = []

    def to_placeholder(match: re.Match[str]) -> str:
        link = _link(match)
        if link is None:
            return match.group(0)
        links.append(link)
        return f"{_OPEN}{len(links) - 1}{_CLOSE}"

    texts, codes = _split_code(source)
    parts = []
    for index, text in enumerate(texts):
        parts.append(LINK_PATTERN.sub(to_placeholder, text))
        if index < len(codes):
            parts.append(codes[index])
    if len({link.slug for link in links}) > MAX_LINKS:
        raise Invalid(f"A page can link to at most {MAX_LINKS} other pages.", field)
    html = str(render_markdown("".join(parts), field))

    def to_anchor(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index >= len(links):
            return ""
        link = links[index]
        # nh3 escapes every "<" in text, so a "<" after the last ">" means we are inside a
        # tag (an image's alt, a link's title): put plain escaped text there, never markup.
        before = html[: match.start()]
        if before.rfind("<") > before.rfind(">"):
            return str(escape(link.label))
        return str(
            Markup('<a class="wikilink" href="/wiki/{}" title="{}">{}</a>').format(
                quote(link.slug, safe=""), link.title, link.label
            )
        )

    html = PLACEHOLDER.sub(to_anchor, html).replace(_OPEN, "").replace(_CLOSE, "")
    distinct = list({link.slug: link for link in links}.values())
    return Markup(html), distinct


def linked_slugs(html: str) -> set[str]:
    from urllib.parse import unquote

    return {unquote(match.group(1)) for match in ANCHOR.finditer(html)}


def mark_missing_links(html: str, existing: set[str]) -> Markup:
    """Turn links to pages that do not exist into "create this page" links, marked in text too."""
    from html import unescape
    from urllib.parse import unquote

    def replace(match: re.Match[str]) -> str:
        slug = unquote(match.group(1))
        if slug in existing:
            return match.group(0)
        title = unescape(match.group(2))
        return str(
            Markup(
                '<a class="wikilink wikilink-missing" href="/wiki/new?title={}" '
                'title="{} (page does not exist yet: create it)">'
            ).format(quote(title, safe=""), title)
        )

    return Markup(ANCHOR.sub(replace, str(html)))
