"""Readable snippets and highlighted titles, made the same way for both backends.

A post's text keeps its paragraphs and list items on lines of their own (documents.plain_text),
so a snippet is made of whole sentences or list items: the ones holding the most query words,
in the order they appear, cut only at word boundaries. Matching compares stems with
forum.search.language, so a highlighted word is one the search matched. The text is escaped
here; only our own <mark> tags are HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markupsafe import Markup, escape

from forum.search.language import joined, normalise, normalise_word, stem

SNIPPET_CHARS = 240
SCANNED_CHARS = 3000  # a long post is read this far: making a snippet must not cost more than searching
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“(\[A-Z0-9])")
_WORD = re.compile(r"\w+(?:[-'’.]\w+)*")


def query_stems(words: Iterable[str]) -> frozenset[str]:
    found = set()
    for word in words:
        for part in _WORD.findall(normalise(word).lower()):
            stemmed = stem(part)
            if stemmed:
                found.add(stemmed)
    return frozenset(found)


def _matches(text: str, stems: frozenset[str]) -> list[tuple[int, int, str]]:
    """(start, end, stem) of every word of `text` whose stem is a query stem."""
    if not stems:
        return []
    prefixes = {s[:2] for s in stems}
    words = list(_WORD.finditer(text))
    found = []
    skip_next = False
    for index, match in enumerate(words):
        if skip_next:
            skip_next = False
            continue
        word = match.group(0).lower()
        if index + 1 < len(words) and text[match.end() : words[index + 1].start()] in (" ", "-"):
            together = joined(word, words[index + 1].group(0).lower())  # "wi fi" is "wifi"
            if together and stem(together) in stems:
                found.append((match.start(), words[index + 1].end(), stem(together)))
                skip_next = True
                continue
        if word.replace("-", "")[:2] not in prefixes and word[:2] not in prefixes:
            continue
        for part in _WORD.findall(normalise_word(word)) or [word]:
            stemmed = stem(part)
            if stemmed in stems:
                found.append((match.start(), match.end(), stemmed))
                break
    return found


def _marked(text: str, matches: list[tuple[int, int, str]], offset: int = 0) -> Markup:
    pieces, at = [], 0
    for start, end, _stem in matches:
        start, end = start - offset, end - offset
        if start < at or start < 0 or end > len(text):
            continue
        pieces.append(escape(text[at:start]))
        pieces.append(Markup("<mark>") + escape(text[start:end]) + Markup("</mark>"))
        at = end
    pieces.append(escape(text[at:]))
    return Markup("").join(pieces)


def highlight(text: str, stems: frozenset[str]) -> Markup:
    """The whole text, escaped, with query words marked (titles)."""
    return _marked(text, _matches(text, stems))


def _sentences(text: str) -> list[tuple[int, str]]:
    """(line number, sentence) of each sentence or list item of the first SCANNED_CHARS."""
    found = []
    for number, line in enumerate(text[:SCANNED_CHARS].split("\n")):
        found.extend((number, sentence.strip()) for sentence in _SENTENCE_END.split(line) if sentence.strip())
    return found


def _shortened(sentence: str, matches: list[tuple[int, int, str]], room: int) -> tuple[str, int, bool, bool]:
    """A sentence cut to `room` characters around its first match, at word boundaries:
    (text, where it starts in the sentence, cut at the start, cut at the end)."""
    if len(sentence) <= room:
        return sentence, 0, False, False
    first = matches[0][0] if matches else 0
    start = max(0, first - room // 3)
    if start:
        space = sentence.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = start + room
    if end < len(sentence):
        space = sentence.rfind(" ", start, end)
        end = space if space > start else end
    return sentence[start:end].rstrip(" ,;:"), start, start > 0, end < len(sentence)


def snippet(text: str, stems: frozenset[str]) -> Markup:
    """The sentences of `text` that hold the most query words (at most SNIPPET_CHARS), marked."""
    sentences = _sentences(text)
    if not sentences:
        return Markup("")
    scored = []
    for index, (_offset, sentence) in enumerate(sentences):
        matches = _matches(sentence, stems)
        scored.append((len({m[2] for m in matches}), -index, sentence, matches))
    best = sorted((entry for entry in scored if entry[0]), reverse=True)
    if not best:  # nothing matched in the body (a title match): the opening sentences
        chosen = [(0, sentences[0][1], [])]
        for _offset, sentence in sentences[1:]:
            if sum(len(c[1]) for c in chosen) + len(sentence) > SNIPPET_CHARS:
                break
            chosen.append((len(chosen), sentence, []))
    else:
        chosen, seen, used = [], set(), 0
        for _count, negative_index, sentence, matches in best:
            new = {m[2] for m in matches} - seen
            if chosen and (not new or used + len(sentence) > SNIPPET_CHARS):
                continue
            chosen.append((-negative_index, sentence, matches))
            seen |= {m[2] for m in matches}
            used += len(sentence)
            if used >= SNIPPET_CHARS or len(chosen) == 2:
                break
        chosen.sort()
    parts: list[Markup] = []
    previous = None
    room = SNIPPET_CHARS // len(chosen)
    for index, sentence, matches in chosen:
        short, start, cut_start, cut_end = _shortened(sentence, matches, max(room, 80))
        piece = _marked(short, matches, offset=start)
        if cut_start:
            piece = Markup("…") + piece
        if cut_end:
            piece = piece + Markup("…")
        if previous is not None and index != previous + 1:
            parts.append(Markup(" … "))
        elif previous is not None:  # a new paragraph or list item is set apart
            same_line = sentences[index][0] == sentences[previous][0]
            parts.append(Markup(" ") if same_line or str(parts[-1])[-1:] in ".!?:,;…" else Markup(" · "))
        parts.append(piece)
        previous = index
    if chosen[-1][0] < len(sentences) - 1 and not str(parts[-1]).endswith("…"):
        parts.append(Markup(" …"))
    return Markup("").join(parts)
