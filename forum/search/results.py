"""What a backend answers: one page of grouped hits with escaped, highlighted snippets."""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup, escape

SNIPPET_CHARS = 240


@dataclass
class Hit:
    kind: str  # "post" or "wiki"
    object_id: int  # the best-matching post's id, or the wiki page's id
    thread_id: int | None
    score: float
    title_html: Markup  # escaped, matched words in <mark>
    snippet_html: Markup


@dataclass
class Hits:
    total: int
    hits: list[Hit] = field(default_factory=list)
    exact: bool = True  # False: `total` is estimated from a sample of the matches


def plain_snippet(text: str) -> Markup:
    """The start of a text, escaped, for a hit whose body did not match (a title hit)."""
    if len(text) <= SNIPPET_CHARS:
        return escape(text)
    return escape(text[:SNIPPET_CHARS].rsplit(" ", 1)[0]) + Markup("…")


def marked(text: str, start: str, stop: str) -> Markup:
    """Escape `text`, then turn the backend's start/stop markers into <mark> tags.

    The markers are control characters that cannot occur in indexed text, so a title like
    `<img src=x onerror=alert(1)>` stays text and only our own tags are HTML.
    """
    escaped = str(escape(text.replace("<mark>", "").replace("</mark>", "")))
    return Markup(escaped.replace(start, "<mark>").replace(stop, "</mark>"))
