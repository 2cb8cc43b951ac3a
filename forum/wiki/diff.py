"""Word-level diffs between two revision texts, computed with difflib on request.

Bounded: difflib's exact matching (autojunk off) costs up to len(a) * len(b) comparisons,
and "popular items are junk" (autojunk on) is no better when a text repeats a few hundred
distinct words. So both texts are first trimmed of their common start and end, lines are
matched, and each changed block is refined word by word, all from one budget of
EXACT_BUDGET token pairs; a block that no longer fits is shown removed and added whole
(and the diff says it is coarse). A 32,000-character page diffs in well under a second
whatever the edit (tests/test_wiki_diff.py times the worst cases we know).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher

EXACT_BUDGET = 1_000_000
CONTEXT_LINES = 3
TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass
class Segment:
    kind: str  # "same", "added", "removed", "skipped"
    text: str


@dataclass
class Diff:
    segments: list[Segment] = field(default_factory=list)
    words_added: int = 0
    words_removed: int = 0
    budget: int = EXACT_BUDGET  # token pairs left for difflib
    coarse: bool = False  # some block was too large to compare word by word

    @property
    def unchanged(self) -> bool:
        return not any(s.kind in ("added", "removed") for s in self.segments)

    def add(self, kind: str, text: str) -> None:
        if not text:
            return
        if kind == "added":
            self.words_added += len(text.split())
        elif kind == "removed":
            self.words_removed += len(text.split())
        if self.segments and self.segments[-1].kind == kind:
            self.segments[-1].text += text
        else:
            self.segments.append(Segment(kind, text))

    def spend(self, a: Sequence[str], b: Sequence[str]) -> bool:
        """Take len(a) * len(b) from the budget if it is there."""
        cost = len(a) * len(b)
        if cost > self.budget:
            self.coarse = True
            return False
        self.budget -= cost
        return True


def _common_ends(a: Sequence[str], b: Sequence[str]) -> tuple[int, int]:
    """How many items a and b share at their start, and then at their end."""
    limit = min(len(a), len(b))
    start = 0
    while start < limit and a[start] == b[start]:
        start += 1
    end = 0
    while end < limit - start and a[len(a) - 1 - end] == b[len(b) - 1 - end]:
        end += 1
    return start, end


def word_diff(old: str, new: str, context: int | None = CONTEXT_LINES) -> Diff:
    """The changes from `old` to `new`; unchanged runs longer than 2*context+1 lines are folded."""
    old_lines = old.replace("\r\n", "\n").splitlines(keepends=True)
    new_lines = new.replace("\r\n", "\n").splitlines(keepends=True)
    diff = Diff()
    start, end = _common_ends(old_lines, new_lines)
    old_middle = old_lines[start : len(old_lines) - end]
    new_middle = new_lines[start : len(new_lines) - end]
    blocks: list[tuple[str, list[str], list[str]]] = []
    if start:
        blocks.append(("equal", old_lines[:start], []))
    if diff.spend(old_middle, new_middle):
        matcher = SequenceMatcher(None, old_middle, new_middle, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            blocks.append((tag, old_middle[i1:i2], new_middle[j1:j2]))
    elif old_middle or new_middle:
        blocks.append(("replace", old_middle, new_middle))
    if end:
        blocks.append(("equal", old_lines[len(old_lines) - end :], []))
    for index, (tag, old_block, new_block) in enumerate(blocks):
        if tag == "equal":
            _add_same(diff, old_block, context, first=index == 0, last=index == len(blocks) - 1)
        elif tag == "delete":
            diff.add("removed", "".join(old_block))
        elif tag == "insert":
            diff.add("added", "".join(new_block))
        else:
            _refine(diff, "".join(old_block), "".join(new_block))
    return diff


def _add_same(diff: Diff, lines: list[str], context: int | None, *, first: bool, last: bool) -> None:
    if context is None or len(lines) <= 2 * context + 1 or (first and last):
        diff.add("same", "".join(lines))
        return
    head = [] if first else lines[:context]
    tail = [] if last else lines[len(lines) - context :]
    diff.add("same", "".join(head))
    skipped = len(lines) - len(head) - len(tail)
    diff.segments.append(Segment("skipped", f"{skipped} unchanged line{'s' if skipped != 1 else ''}"))
    diff.add("same", "".join(tail))


def _refine(diff: Diff, old: str, new: str) -> None:
    """Word-level changes inside one changed block of lines."""
    old_tokens, new_tokens = TOKEN.findall(old), TOKEN.findall(new)
    start, end = _common_ends(old_tokens, new_tokens)
    diff.add("same", "".join(old_tokens[:start]))
    old_middle = old_tokens[start : len(old_tokens) - end]
    new_middle = new_tokens[start : len(new_tokens) - end]
    if diff.spend(old_middle, new_middle):
        matcher = SequenceMatcher(None, old_middle, new_middle, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                diff.add("same", "".join(old_middle[i1:i2]))
                continue
            if tag in ("delete", "replace"):
                diff.add("removed", "".join(old_middle[i1:i2]))
            if tag in ("insert", "replace"):
                diff.add("added", "".join(new_middle[j1:j2]))
    else:
        diff.add("removed", "".join(old_middle))
        diff.add("added", "".join(new_middle))
    diff.add("same", "".join(old_tokens[len(old_tokens) - end :]))
