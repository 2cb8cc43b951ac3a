"""Markdown to safe HTML: the only place user content becomes HTML (nh3 sanitizes it).

Rendering happens once, on write; pages show the stored HTML. Raw HTML in the source is
shown as text, never interpreted.

Rendering is bounded for every input (issue #21). Some shapes make Python-Markdown slow in
the square of their length, so check_markdown_source refuses them first, with a message:
more than MAX_BRACKETS `[` outside code (the link parser, Python-Markdown #798); more than
MAX_FENCE_LINES fence lines (the fence preprocessor rescans the text after each block); more
than MAX_MARKER_LINES heading or rule lines in one paragraph (`=`/`-` setext underlines,
`#` headings, `***` rules: each splits the block and every block processor rescans the
rest); more than MAX_EMPHASIS_MARKS `*` and `_` (thousands of inline elements in one
paragraph make the inline processor quadratic); containers nested deeper than MAX_NESTING
(lists and quotes recurse: `"1. " * 496` raised RecursionError). Only the first
MAX_HIGHLIGHTED_BLOCKS code blocks go through Pygments. Whatever passes is rendered by
forum.render_worker in another process with a CPU budget of RENDER_BUDGET_SECONDS, so no
body can hold a web worker.
"""

from __future__ import annotations

import logging
import re
from html import unescape
from xml.etree.ElementTree import Element

import markdown
import markdown.treeprocessors
import markdown.util
import nh3
from flask import current_app, has_app_context
from markdown.extensions.codehilite import CodeHiliteExtension, HiliteTreeprocessor
from markupsafe import Markup
from pygments.token import STANDARD_TYPES

from forum import render_worker
from forum.errors import Invalid

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]*>")
_BLOCK = re.compile(r"</?(?:p|div|li|ul|ol|h[1-6]|blockquote|pre|tr|table|br|hr)\b[^>]*>", re.IGNORECASE)
_SPACE = re.compile(r"[^\S\n]+")
_LINES = re.compile(r"\s*\n\s*")

MAX_BODY_LENGTH = 32_000
MAX_BRACKETS = 500
MAX_FENCE_LINES = 200
MAX_MARKER_LINES = 40
MAX_NESTING = 20
MAX_HIGHLIGHTED_BLOCKS = 50
MAX_EMPHASIS_MARKS = 3000
RENDER_BUDGET_SECONDS = 1.0  # CPU seconds; the worst body that passes the checks takes about 0.1

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p",
    "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "loading", "width", "height"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Classes are allowed per tag through allowed_classes (never as a free "class" attribute).
PYGMENTS_CLASSES = {name for name in STANDARD_TYPES.values() if name}
ALLOWED_CLASSES = {
    "a": {"mention", "upload-image", "attachment"},
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
_FENCE_LINE = re.compile(r"^[ \t>]*(?:```|~~~)", re.MULTILINE)
# The containers a line opens (quotes, list items, indentation), then what follows them.
_CONTAINERS = re.compile(r"(?:[ \t]*(?:>|[-*+](?=[ \t]|$)|\d{1,9}[.)](?=[ \t]|$)))*[ \t]*")
_CONTAINER = re.compile(r">|(?<![^ \t>])(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$)")
_MARKER_LINE = re.compile(r"#|[=\-*_ \t]+$")


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


# This forum's uploads (forum.uploads): the full file, and the thumbnail a post shows of an image.
UPLOAD_SIZES = "forum.upload_sizes"  # app.extensions key: callable(keys) -> {key: (width, height)}
_UPLOAD = re.compile(r"/uploads/([0-9a-f]{64})\.([a-z]{2,4})")
_UPLOADED_IMAGE_ENDINGS = {"png", "jpg", "gif", "webp"}


class _UploadLinker(markdown.treeprocessors.Treeprocessor):
    """An uploaded image shows as its thumbnail, linked to the full image; other uploads are
    download links (issue #19). Only this forum's upload addresses are touched."""

    def run(self, root: Element) -> None:
        for parent in list(root.iter()):
            for index, child in enumerate(list(parent)):
                if child.tag == "img" and (match := _UPLOAD.fullmatch(child.get("src", ""))):
                    if match.group(2) not in _UPLOADED_IMAGE_ENDINGS:
                        continue
                    child.set("src", f"/uploads/{match.group(1)}/thumbnail")
                    child.set("loading", "lazy")
                    if parent.tag != "a":
                        link = Element("a", {"href": match.group(0), "class": "upload-image"})
                        link.tail, child.tail = child.tail, None
                        parent.remove(child)
                        link.append(child)
                        parent.insert(index, link)
                elif child.tag == "a" and (match := _UPLOAD.fullmatch(child.get("href", ""))):
                    if match.group(2) not in _UPLOADED_IMAGE_ENDINGS and not len(child):
                        child.set("class", "attachment")


_THUMBNAIL_IMAGE = re.compile(r'<img (?=[^>]*src="/uploads/([0-9a-f]{64})/thumbnail")')


def _with_shown_sizes(html: str) -> str:
    """Thumbnails get their width and height, so the page keeps their place while they load.

    Done here, not in _UploadLinker: the renderer runs in a worker process without the app,
    and the sizes come from forum.uploads through one lookup (none without that feature).
    """
    look_up = current_app.extensions.get(UPLOAD_SIZES) if has_app_context() else None
    keys = _THUMBNAIL_IMAGE.findall(html)
    if not look_up or not keys:
        return html
    sizes = look_up(keys)

    def sized(match: re.Match[str]) -> str:
        size = sizes.get(match.group(1))
        return f'<img width="{size[0]}" height="{size[1]}" ' if size else match.group(0)

    return _THUMBNAIL_IMAGE.sub(sized, html)


class _Uploads(markdown.Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        md.treeprocessors.register(_UploadLinker(md), "uploads", 4)  # after inline (20)


class _BoundedHilite(HiliteTreeprocessor):
    """Highlight the first MAX_HIGHLIGHTED_BLOCKS code blocks; later ones stay plain `<pre><code>`.

    Pygments costs about 0.7 ms a block (a formatter and a lexer each), so 3,000 one-line
    indented blocks took 2 s of CPU.
    """

    def run(self, root: Element) -> None:
        plain = list(root.iter("pre"))[MAX_HIGHLIGHTED_BLOCKS:]
        for block in plain:
            block.tag = "plain-pre"  # hidden from the highlighter
        super().run(root)
        for block in plain:
            block.tag = "pre"


class _BoundedCodeHilite(CodeHiliteExtension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:  # noqa: N802 (Markdown's API)
        super().extendMarkdown(md)
        hiliter = _BoundedHilite(md)
        hiliter.config = self.getConfigs()
        md.treeprocessors.register(hiliter, "hilite", 30)  # replaces codehilite's own


def new_renderer() -> markdown.Markdown:
    """A Python-Markdown instance with our extensions (instances keep state: one per worker)."""
    return markdown.Markdown(
        extensions=[
            "markdown.extensions.fenced_code",
            "markdown.extensions.tables",
            "markdown.extensions.sane_lists",
            "markdown.extensions.nl2br",
            _BoundedCodeHilite(css_class="highlight", guess_lang=False),
            "pymdownx.magiclink",
            _NoRawHTML(),
            _Mentions(),
            _Uploads(),
        ],
        extension_configs={
            "pymdownx.magiclink": {"hide_protocol": False},
        },
        output_format="html",
    )


_UPLOAD_THUMBNAIL = re.compile(r"/uploads/[0-9a-f]{64}(?:/thumbnail|\.(?:png|jpg|gif|webp))")


def _image_src_allowed(tag: str, attribute: str, value: str) -> str | None:
    """Images over https or from this forum's uploads (documented policy: no mixed content, no data: URLs)."""
    if tag == "img" and attribute == "src":
        if value.startswith(("https://", "/static/")) or _UPLOAD_THUMBNAIL.fullmatch(value):
            return value
        return None
    if tag == "img" and attribute == "loading":
        return "lazy"
    if tag == "img" and attribute in ("width", "height"):
        return value if value.isdigit() and 0 < int(value) <= 10_000 else None
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
    fences = len(_FENCE_LINE.findall(source))
    if fences > MAX_FENCE_LINES:
        raise Invalid(
            f"The text has {fences} code fence lines (``` or ~~~); the limit is {MAX_FENCE_LINES}.", field
        )
    outside_code = _FENCE.sub("", source)
    if outside_code.count("[") > MAX_BRACKETS:
        raise Invalid(
            f"The text has more than {MAX_BRACKETS} “[” characters outside code blocks; "
            "put code or data in a fenced code block (```).",
            field,
        )
    emphasis = outside_code.count("*") + outside_code.count("_")
    if emphasis > MAX_EMPHASIS_MARKS:
        raise Invalid(
            f"The text has {emphasis:,} “*” and “_” characters outside code blocks; the limit is "
            f"{MAX_EMPHASIS_MARKS:,}. Put code or data in a fenced code block (```).",
            field,
        )
    _check_blocks(outside_code, field)


def _check_blocks(text: str, field: str) -> None:
    """Refuse deep nesting and paragraphs made of many heading or rule lines (see the module)."""
    markers = 0
    for line in text.split("\n"):
        if not line.strip():
            markers = 0  # a blank line ends the paragraph
            continue
        prefix = _CONTAINERS.match(line)
        indent = len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())
        if len(_CONTAINER.findall(prefix.group())) + indent // 4 > MAX_NESTING:
            raise Invalid(
                f"Lists or quotes are nested more than {MAX_NESTING} levels deep; flatten them.", field
            )
        rest = line[prefix.end() :]
        if (not rest or _MARKER_LINE.match(rest)) and (markers := markers + 1) > MAX_MARKER_LINES:
            raise Invalid(
                f"A paragraph has more than {MAX_MARKER_LINES} heading, rule or empty list lines; "
                "separate them with blank lines.",
                field,
            )


_REFUSALS = {
    render_worker.TOO_DEEP: "The text is nested too deeply to display; flatten its lists and quotes.",
    render_worker.OVER_BUDGET: "The text is too complex to display in time; simplify its formatting "
    "or put code and data in a fenced code block (```).",
    render_worker.FAILED: "The text could not be displayed; simplify its formatting.",
}


def render_markdown(source: str, field: str = "body", *, budget: float | None = None) -> Markup:
    """Render untrusted Markdown to sanitized HTML, or raise Invalid with a field message.

    `budget`: CPU seconds the render may take (RENDER_BUDGET_SECONDS unless given).
    """
    check_markdown_source(source, field)
    try:
        html = render_worker.render(source, RENDER_BUDGET_SECONDS if budget is None else budget)
    except render_worker.RenderRefused as refused:
        if refused.reason == render_worker.FAILED:
            log.error("Markdown renderer failed on a %d-character body: %s", len(source), refused)
        raise Invalid(_REFUSALS[refused.reason], field) from None
    return Markup(sanitize_html(_with_shown_sizes(html)))


_PRE_TAG = re.compile(r"<pre(?=[ >])")


def plain_text(body_html: str) -> str:
    """Readable text of sanitized HTML, a line per paragraph or list item (snippets keep them
    apart); inline tags leave no space, so no space appears before punctuation. Escaped
    again when shown."""
    text = unescape(_TAG.sub("", _BLOCK.sub("\n", body_html)))
    return _LINES.sub("\n", _SPACE.sub(" ", text)).strip()


def stored_html(html: str | None) -> Markup:
    """HTML produced by render_markdown and stored in the database, marked safe for Jinja.

    Code blocks become keyboard-focusable here, at display time, so that posts stored before
    (and the wiki) get it too: a long line scrolls inside its block, and a keyboard must be able
    to scroll it. In sanitized HTML every `<pre` is a tag (text is escaped as `&lt;`).
    """
    if not html:
        return Markup("")
    if "<pre" in html:
        html = _PRE_TAG.sub('<pre tabindex="0"', html)
    return Markup(html)
