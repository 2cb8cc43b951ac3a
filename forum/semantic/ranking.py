"""The similar-threads box with the semantic layer: the lexical candidates, judged by meaning.

At request time only the typed title goes through the model (one forward pass); the
candidates' vectors are read from thread_embeddings (one query), so a web process holds the
model and nothing that grows with the forum. A candidate's score is the mean cosine of the
title with its vector plus a share of its lexical score (relative to the best candidate's);
the box shows the two best above an absolute floor and close to the best one, and more only
when they are near copies of the title: none rather than noise.

Measured on the Stack Exchange duplicate and linked titles (issue #14, bench/relevance.py):
lexical rules alone could not show at most one unrelated thread on average without losing
recall (R@5 0.30 at best); these values keep the baseline's recall (0.33) with at most one
unrelated thread on average, and raise the generated set's recall (README, "Semantic similar
threads", for the figures and the sweep that chose them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from forum.semantic import services

LEXICAL_WEIGHT = 0.15  # the best lexical candidate gets this much added to its cosine, the others less
FLOOR = 0.5  # the score a thread needs to be shown at all
GAP = 0.1  # ... and no further than this below the best one
FIRST = 2  # the box shows up to this many on those terms,
CLOSE = 0.8  # and more (to LIMIT) only when they score this high: near copies of the title
LIMIT = 5


@dataclass
class Judged:
    """Thread ids to show, best first, and every candidate the layer judged (those with a
    vector); candidates without one yet are left to the lexical rules."""

    shown: list[int] = field(default_factory=list)
    judged: set[int] = field(default_factory=set)


def judge_similar(title: str, candidates: list[tuple[int, float]], limit: int = LIMIT) -> Judged | None:
    """Judge lexical candidates ((thread id, lexical score), best first) for a typed title;
    None when the layer is off or no candidate has a vector yet (the box is then lexical)."""
    if not services.is_on() or not candidates:
        return None
    vectors = services.vectors_of([thread_id for thread_id, _ in candidates])
    if not vectors:
        return None
    typed = services.encoder().encode([title])[0]
    top = max(score for _, score in candidates) or 1.0
    scores = {
        thread_id: float(vectors[thread_id] @ typed) + LEXICAL_WEIGHT * score / top
        for thread_id, score in candidates
        if thread_id in vectors
    }
    ranked = sorted(scores, key=lambda thread_id: -scores[thread_id])
    best = scores[ranked[0]]
    shown = [thread_id for thread_id in ranked if scores[thread_id] >= max(FLOOR, best - GAP)][:FIRST]
    if len(shown) == FIRST:
        shown += [thread_id for thread_id in ranked[FIRST:] if scores[thread_id] >= CLOSE]
    return Judged(shown[:limit], set(scores))
