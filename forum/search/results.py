"""What a backend answers: one page of grouped hits with escaped, highlighted snippets."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Hit:
    kind: str  # "post" or "wiki"
    object_id: int  # the best-matching post's id, or the wiki page's id
    thread_id: int | None
    score: float
    title: str  # plain text: forum.search.snippets highlights it and makes the snippet
    body: str


@dataclass
class Hits:
    total: int
    hits: list[Hit] = field(default_factory=list)
    exact: bool = True  # False: `total` is estimated from a sample of the matches
