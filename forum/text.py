"""Plain one-line text from members (titles, names): no control or bidirectional formatting characters.

A control character such as U+0001 in a title made every Atom feed listing it invalid XML,
and U+202E (RIGHT-TO-LEFT OVERRIDE) and its friends let a title or a name display reversed
text around it, so "Sam (moderator)" could be spelled backwards in the source (issue #21).
Such characters carry no meaning in a title or a name, so they are removed on input.
"""

from __future__ import annotations

import re
import unicodedata

# Bidirectional embeddings, overrides and isolates, and the marks (U+200E/F, U+061C).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def has_bidi_controls(text: str) -> bool:
    return _BIDI.search(text) is not None


def clean_line(text: str) -> str:
    """`text` without control (Cc) or bidirectional formatting characters, with its runs of
    whitespace made single spaces and the ends trimmed. NUL goes too."""
    kept = "".join(
        " " if char.isspace() else char
        for char in _BIDI.sub("", text)
        if char.isspace() or unicodedata.category(char) != "Cc"
    )
    return " ".join(kept.split())
