"""Other forums' markup to the forum's Markdown: HTML (Stack Exchange bodies, Discourse's cooked
posts, HTML mail) through markdownify, BBCode (phpBB) through bbcode's parser and then the same.

The result is still untrusted: it is stored as a post's source and goes through the forum's
Markdown renderer and sanitizer on import like anything a member types.
"""

from __future__ import annotations

import re
from html import escape as html_escape
from html import unescape as html_unescape
from typing import Any

from bs4 import BeautifulSoup
from markdownify import MarkdownConverter

DROP_TAGS = [
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "input",
    "button",
    "noscript",
    "svg",
    "head",
]
_BLANK_LINES = re.compile(r"\n{3,}")


class _Converter(MarkdownConverter):  # type: ignore[misc]
    """markdownify with the forum's habits: ATX headings, "-" bullets, fenced code."""

    def convert_pre(self, el, text, parent_tags):  # type: ignore[no-untyped-def]
        for line_break in el.find_all("br"):
            line_break.replace_with("\n")
        code = el.get_text()
        if not code.strip():
            return ""
        language = ""
        classes = (el.find("code") or el).get("class") or []
        for name in classes:
            if name.startswith(("lang-", "language-")):
                language = name.split("-", 1)[1]
        fence = "```"
        while fence in code:
            fence += "`"
        return f"\n\n{fence}{language}\n{code.rstrip()}\n{fence}\n\n"


_OPTIONS = {"heading_style": "ATX", "bullets": "-", "strip": DROP_TAGS, "escape_misc": False}


def html_to_markdown(html: str) -> str:
    """Markdown for an HTML fragment; text only if the markup is too deeply nested to convert."""
    if not html or not html.strip():
        return ""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(DROP_TAGS):
        tag.decompose()
    try:
        text = _Converter(**_OPTIONS).convert_soup(soup)
    except RecursionError:
        text = soup.get_text("\n")
    return _BLANK_LINES.sub("\n\n", text).strip()


# -- BBCode ------------------------------------------------------------------------------------

# Tags the converter knows (phpBB's defaults and the common additions); others are reported.
BBCODE_TAGS = {
    "b", "i", "u", "s", "strike", "quote", "code", "list", "*", "url", "email", "img", "size", "color", "font",
    "center", "left", "right", "sub", "sup", "hr", "attachment", "youtube", "media", "flash", "spoiler", "c",
}  # fmt: skip
_TAG = re.compile(r"\[(/?)([a-z*][a-z0-9_-]{0,30})(?:=[^\]\n]{0,500}| [^\]\n]{0,500})?\]", re.I)


class UnknownTag(ValueError):
    """A BBCode tag the converter does not know (its name is the message)."""


def unknown_bbcode_tags(source: str) -> set[str]:
    """Names used as a tag pair ([x]...[/x]) that the converter does not know."""
    opened, closed = set(), set()
    for match in _TAG.finditer(source):
        (closed if match.group(1) else opened).add(match.group(2).lower())
    return (opened & closed) - BBCODE_TAGS


def _parser() -> Any:
    import bbcode

    parser = bbcode.Parser(replace_links=False, replace_cosmetic=False, drop_unrecognized=False)

    def quote(tag: str, value: str, options: dict[str, str], parent: Any, context: Any) -> str:
        author = (options.get("quote") or options.get("name") or "").strip().strip("\"'")
        said = f"<p><strong>{html_escape(author)} wrote:</strong></p>" if author else ""
        return f"<blockquote>{said}<p>{value}</p></blockquote>"

    def code(tag: str, value: str, options: dict[str, str], parent: Any, context: Any) -> str:
        language = re.sub(r"[^a-z0-9+#-]", "", (options.get("code") or "").lower())
        css = f' class="language-{language}"' if language else ""
        return f"<pre><code{css}>{value}</code></pre>"

    def url(tag: str, value: str, options: dict[str, str], parent: Any, context: Any) -> str:
        href = (options.get("url") or html_unescape(value)).strip().strip("\"'")
        if not re.match(r"^(https?|ftp)://", href, re.I):
            href = "http://" + href if re.match(r"^[\w.-]+\.[a-z]{2,}(/|$)", href, re.I) else ""
        return f'<a href="{html_escape(href)}">{value}</a>' if href else value

    def image(tag: str, value: str, options: dict[str, str], parent: Any, context: Any) -> str:
        src = html_unescape(value).strip()
        return f'<img src="{html_escape(src)}" alt="image">' if re.match(r"^https?://", src, re.I) else value

    def attachment(tag: str, value: str, options: dict[str, str], parent: Any, context: Any) -> str:
        return f"<em>[attachment: {value}]</em>"

    def plain(tag: str, value: str, options: dict[str, str], parent: Any, context: Any) -> str:
        return value

    def lines(tag: str, value: str, options: dict[str, str], parent: Any, context: Any) -> str:
        return f"<p>{value}</p>"

    parser.add_formatter("quote", quote, strip=True, swallow_trailing_newline=True)
    parser.add_formatter("code", code, render_embedded=False, replace_links=False, replace_cosmetic=False,
                         strip=False, swallow_trailing_newline=True)  # fmt: skip
    parser.add_formatter("url", url, replace_links=False)
    parser.add_formatter("img", image, render_embedded=False, replace_links=False)
    parser.add_formatter("attachment", attachment)
    parser.add_simple_formatter("strike", "<s>%(value)s</s>")
    parser.add_simple_formatter("c", "<code>%(value)s</code>", render_embedded=False)
    parser.add_formatter("email", lambda *a: "[address hidden]", render_embedded=False)
    for name in ("size", "color", "font", "left", "right", "youtube", "media", "flash"):
        parser.add_formatter(name, plain)
    for name in ("center", "spoiler"):
        parser.add_formatter(name, lines)
    return parser


_BBCODE = None


def bbcode_to_markdown(source: str, *, unknown: str = "fail") -> str:
    """Markdown for a BBCode text; an unknown tag pair raises UnknownTag unless unknown="keep"."""
    global _BBCODE
    if unknown == "fail" and (names := unknown_bbcode_tags(source)):
        raise UnknownTag(", ".join(f"[{name}]" for name in sorted(names)))
    if _BBCODE is None:
        _BBCODE = _parser()
    return html_to_markdown(_BBCODE.format(source))
