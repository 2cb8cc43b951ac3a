"""Markdown to safe HTML: the only place user content becomes HTML (nh3 sanitizes it).

Rendering happens once, on write; pages show the stored HTML. Raw HTML in the source is
shown as text, never interpreted. Python-Markdown's link parser is quadratic in the number
of `[` characters (Python-Markdown #798), so a body is refused before rendering when it
holds more than MAX_BRACKETS of them outside code fences: that bounds the worst case to a
fraction of a second.
"""

from __future__ import annotations

import re
import threading
from xml.etree.ElementTree import Element

import markdown
import markdown.treeprocessors
import markdown.util
import nh3
from markupsafe import Markup
from pygments.token import STANDARD_TYPES

from forum.errors import Invalid

MAX_BODY_LENGTH = 32_000
MAX_BRACKETS = 500

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p",
    "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Classes are allowed per tag through allowed_classes (never as a free "class" attribute).
PYGMENTS_CLASSES = {name for name in STANDARD_TYPES.values() if name}
ALLOWED_CLASSES = {
    "a": {"mention"},
    "span": PYGMENTS_CLASSES | {"mention"},
    "div": {"highlight", "quote-attribution"},
    "code": {"highlight"},
    "pre": {"highlight"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

# @username (the account name rules of forum.auth.services), not inside a word or an address.
MENTION_PATTERN = r"(?<![\w@/.+-])@([A-Za-z0-9_]{3,30})(?![\w@])"
_MENTION_LINK = re.compile(r'<a (?=[^>]*class="mention")[^>]*href="/u/([a-z0-9_]{3,30})"')
_FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)


class _NoRawHTML(markdown.Extension):
    """Treat raw HTML as text: drop the parsers that would pass it through."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")


_MENTION = re.compile(MENTION_PATTERN)
_NO_MENTIONS_INSIDE = {"a", "code", "pre"}


class _MentionLinker(markdown.treeprocessors.Treeprocessor):
    """Turn @name in text into a link to the profile, outside links and code."""

    def run(self, root: Element) -> None:
        self._walk(root)

    def _walk(self, element: Element) -> None:
        if element.tag in _NO_MENTIONS_INSIDE:
            return
        if element.text and "@" in element.text and not isinstance(element.text, markdown.util.AtomicString):
            element.text, links = self._split(element.text)
            for index, link in enumerate(links):
                element.insert(index, link)
        for child in list(element):
            self._walk(child)
            if child.tail and "@" in child.tail and not isinstance(child.tail, markdown.util.AtomicString):
                child.tail, links = self._split(child.tail)
                position = list(element).index(child) + 1
                for offset, link in enumerate(links):
                    element.insert(position + offset, link)

    @staticmethod
    def _split(text: str) -> tuple[str, list[Element]]:
        """The text before the first mention, and link elements carrying the rest as tails."""
        parts = _MENTION.split(text)  # [before, name, between, name, after...]
        if len(parts) == 1:
            return text, []
        links = []
        for index in range(1, len(parts), 2):
            link = Element("a", {"href": f"/u/{parts[index].lower()}", "class": "mention"})
            link.text = markdown.util.AtomicString(f"@{parts[index]}")
            link.tail = parts[index + 1]
            links.append(link)
        return parts[0], links


class _Mentions(markdown.Extension):
    """@name links to the profile (notifications issue #7); never inside code or links."""

    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        md.treeprocessors.register(_MentionLinker(md), "mentions", 5)  # after inline (20)


def mentioned_usernames(html: str) -> list[str]:
    """The usernames a rendered body links as @mentions, in order, without repeats."""
    return list(dict.fromkeys(_MENTION_LINK.findall(html)))


def _new_renderer() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=[
            "markdown.extensions.fenced_code",
            "markdown.extensions.tables",
            "markdown.extensions.sane_lists",
            "markdown.extensions.nl2br",
            "markdown.extensions.codehilite",
            "pymdownx.magiclink",
            _NoRawHTML(),
            _Mentions(),
        ],
        extension_configs={
            "markdown.extensions.codehilite": {"css_class": "highlight", "guess_lang": False},
            "pymdownx.magiclink": {"hide_protocol": False},
        },
        output_format="html",
    )


_local = threading.local()


def _renderer() -> markdown.Markdown:
    """One Markdown instance per thread: instances keep state between calls."""
    renderer = getattr(_local, "renderer", None)
    if renderer is None:
        renderer = _local.renderer = _new_renderer()
    return renderer


def _image_src_allowed(tag: str, attribute: str, value: str) -> str | None:
    """External images only over https (documented policy: no mixed content, no data: URLs)."""
    if tag == "img" and attribute == "src":
        return value if value.startswith("https://") or value.startswith("/static/") else None
    return value


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_image_src_allowed,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        allowed_classes=ALLOWED_CLASSES,
        clean_content_tags={"script", "style"},
        strip_comments=True,
    )


def check_markdown_source(source: str, field: str = "body") -> None:
    """Refuse sources that are too long or would make the renderer slow."""
    if len(source) > MAX_BODY_LENGTH:
        raise Invalid(f"This is {len(source):,} characters long; the limit is {MAX_BODY_LENGTH:,}.", field)
    if "\x00" in source:
        raise Invalid("The text contains a NUL character, which cannot be saved.", field)
    outside_code = _FENCE.sub("", source)
    if outside_code.count("[") > MAX_BRACKETS:
        raise Invalid(
            f"The text has more than {MAX_BRACKETS} “[” characters outside code blocks; "
            "put code or data in a fenced code block (```).",
            field,
        )


def render_markdown(source: str, field: str = "body") -> Markup:
    """Render untrusted Markdown to sanitized HTML, or raise Invalid with a field message."""
    check_markdown_source(source, field)
    renderer = _renderer()
    renderer.reset()
    html = renderer.convert(source)
    return Markup(sanitize_html(html))


def stored_html(html: str | None) -> Markup:
    """HTML produced by render_markdown and stored in the database, marked safe for Jinja."""
    return Markup(html or "")
