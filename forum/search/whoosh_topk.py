"""The best few matches of a common word without scoring all of them (Fagin's threshold algorithm).

The direct scorer (forum.search.whoosh_direct) sums every posting of every query term, so a
search for a word in one post of five costs in proportion to the forum: "router" took 4 ms at
20,000 posts and 14 ms at 200,000. With scores of BM25 without length normalisation (b = 0),
a word's contribution to a document depends only on its frequencies there (title, body), so
each word's documents can be kept grouped by those frequencies (once per immutable segment)
and read best group first, a few entries at a time. Each new document gets its whole score
by looking it up in the other words' lists, and reading stops as soon as no unread document
can beat the current top results (its score is at most the sum of the lists' current
contributions). The top results are the same, in the same order, as scoring everything.

Used for relevance order on words (no phrases) once the query's posting lists are long; the
number of matches is then estimated, as the results page only says "about" past one page.
"""

from __future__ import annotations

import heapq
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from whoosh.searching import Results, Searcher

from forum.search import whoosh_direct
from forum.search.query import ParsedQuery

# Below this many postings in all, scoring every match is cheap and gives an exact count.
TOP_K_FROM = 1000
# A document looked at here costs about as much as 20-30 postings summed by the direct scorer.
READ_SHARE = 25
WORD_POSTINGS = whoosh_direct._Cache(max_items=1_000_000)  # about 24 bytes a posting
UNION_SIZES = whoosh_direct._Cache(max_items=100_000)  # one item a (segment, clause of several words)


@dataclass(repr=False)
class _WordColumns:
    """A word's postings in one segment over the searched fields (title and body), kept
    while the segment lives: the documents, each field's saturated frequency, and the
    documents grouped by their frequencies (a group's documents all score the same)."""

    ids: array  # every document holding the word in one of the fields, ascending
    saturations: list[array]  # per field, aligned with ids; 0.0 where the field lacks it
    groups: dict[tuple[float, ...], array]  # saturations -> positions in ids, ascending


def _word_columns(reader: object, parts: tuple[tuple[str, bytes], ...], k1: float) -> _WordColumns:
    key = (reader.segment().segment_id(), parts, k1)  # type: ignore[attr-defined]
    cached = WORD_POSTINGS.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    per_field = [whoosh_direct._segment_postings(reader, fieldname, text, k1) for fieldname, text in parts]
    union = sorted(set().union(*(ids for ids, _saturation in per_field)))
    where = {docnum: position for position, docnum in enumerate(union)}
    saturations = []
    for ids, saturation in per_field:
        column = array("d", bytes(8 * len(union)))
        for docnum, value in zip(ids, saturation, strict=True):
            column[where[docnum]] = value
        saturations.append(column)
    groups: dict[tuple[float, ...], array] = {}
    for position, values in enumerate(zip(*saturations, strict=True)):
        group = groups.get(values)
        if group is None:
            group = groups[values] = array("I")
        group.append(position)
    columns = _WordColumns(array("I", union), saturations, groups)
    WORD_POSTINGS.put(key, columns, len(union))
    return columns


class _WordList:
    """One query word in one segment, read best contribution first (a group at a time,
    groups of equal score merged in document order)."""

    def __init__(self, columns: _WordColumns, scales: list[float], clause: int) -> None:
        self.ids, self.saturations = columns.ids, columns.saturations
        self.scales, self.clause = scales, clause
        scored = sorted(((self.add(0.0, values), values) for values in columns.groups), reverse=True)
        self._stream = self._positions(scored, columns.groups)
        self.position: int | None = None
        self.values: tuple[float, ...] = ()
        self.advance()

    def add(self, score: float, values: Iterable[float]) -> float:
        """`score` plus this word's contribution for these saturations, field by field, in
        the order the direct scorer adds them (the same floats, so ties stay ties)."""
        for scale, value in zip(self.scales, values, strict=True):
            if value:
                score += scale * value
        return score

    @staticmethod
    def _positions(scored: list[tuple[float, tuple[float, ...]]],
                   groups: dict[tuple[float, ...], array]) -> Iterator[tuple[int, tuple[float, ...]]]:  # fmt: skip
        index = 0
        while index < len(scored):
            end = index + 1
            while end < len(scored) and scored[end][0] == scored[index][0]:
                end += 1
            run = [((position, values) for position in groups[values]) for _s, values in scored[index:end]]
            yield from run[0] if len(run) == 1 else heapq.merge(*run)
            index = end

    def advance(self) -> None:
        self.position, self.values = next(self._stream, (None, ()))

    @property
    def live(self) -> bool:
        return self.position is not None

    def add_document(self, score: float, docnum: int) -> tuple[float, bool]:
        """`score` plus what the document gets from this word, and whether it holds the word."""
        position = bisect_left(self.ids, docnum)
        if position == len(self.ids) or self.ids[position] != docnum:
            return score, False
        return self.add(score, [column[position] for column in self.saturations]), True


@dataclass(repr=False)
class _Clauses:
    """What every segment shares about the query's clauses, in the direct scorer's order."""

    summing_order: list[int]  # clause numbers in the order scores are added up
    weights: list[float]  # idf of each clause (coverage), by clause number
    required: list[bool]
    deciding: list[bool]

    @property
    def total_weight(self) -> float:
        return sum(self.weights)


@dataclass(repr=False)
class _Segment:
    offset: int
    by_clause: list[list[_WordList]]  # by clause number
    clauses: _Clauses

    def score(self, docnum: int) -> float | None:
        """The document's whole score as the direct scorer has it, or None if it does not match."""
        values: list[float | None] = []
        for clause in self.by_clause:
            best: float | None = None
            for word in clause:
                value, holds = word.add_document(0.0, docnum)
                if holds and (best is None or value > best):
                    best = value
            values.append(best)
        info = self.clauses
        if not any(
            value is not None and deciding for value, deciding in zip(values, info.deciding, strict=True)
        ):
            return None
        if any(value is None and required for value, required in zip(values, info.required, strict=True)):
            return None
        score, matched = 0.0, 0.0
        for number in info.summing_order:
            value = values[number]
            if value:
                score += value
        for number, value in enumerate(values):
            if value is not None:
                matched += info.weights[number]
        return score * whoosh_direct.coverage_factor(matched, info.total_weight)

    def bound(self) -> float:
        """The best score an unread document could still get: every clause with unread
        documents at its current best contribution, computed as score() computes it."""
        best: list[float | None] = []
        for clause in self.by_clause:
            live = [word.add(0.0, word.values) for word in clause if word.live]
            best.append(max(live) if live else None)
        score, matched = 0.0, 0.0
        for number in self.clauses.summing_order:
            value = best[number]
            if value:
                score += value
        for number, value in enumerate(best):
            if value is not None:
                matched += self.clauses.weights[number]
        return score * whoosh_direct.coverage_factor(matched, self.clauses.total_weight)

    def exhausted(self) -> bool:
        """No unread document can match: a required clause or every deciding one is read out."""
        live = [any(word.live for word in clause) for clause in self.by_clause]
        info = self.clauses
        if any(required and not alive for required, alive in zip(info.required, live, strict=True)):
            return True
        return not any(deciding and alive for deciding, alive in zip(info.deciding, live, strict=True))


@dataclass(repr=False)
class BoundedMatches:
    """The matches of a query, read only as far as a top list needs: the same interface as
    whoosh_direct.Matches (`top(searcher, query, limit)` and `len()`, here an estimate).

    Words that all must match but rarely meet (slow speed evening) can make the lists be read
    deep: past `budget` postings the query is scored whole by the direct scorer instead, so
    a search never costs much more than it did before.
    """

    segments: list[Callable[[], _Segment]]  # each call starts the segment's lists afresh
    accept: Callable[[int], bool]  # filters, exclusions, deletions, dates: by global document number
    candidates: int  # about how many documents hold the required words, or one deciding word
    required_counts: list[int]  # documents holding a word of each required clause
    budget: int
    score_all: Callable[[], whoosh_direct.Matches | None]
    read: int = 0  # postings read by the last top(), for the benchmarks and tests
    checked: int = 0  # distinct documents looked at, and how many of them matched:
    matched: int = 0  # their ratio estimates how many of all match
    exact: whoosh_direct.Matches | None = None

    def __len__(self) -> int:
        if self.exact is not None:
            return len(self.exact)
        if not self.checked:
            return 0
        # Each clause's documents are counted; the share of candidates that also meets the
        # rest is taken from the documents read (the best-scored, so a rough share: "about").
        return max(self.matched, round(self.candidates * self.matched / self.checked))

    def _expected_share(self, total: int) -> float:
        """About what share of the documents read will match: as if the required clauses
        were independent, times 4 (words asked for together go together)."""
        share = 1.0
        for count in sorted(self.required_counts)[1:]:
            share *= min(1.0, 4 * count / total)
        return share

    def top(self, searcher: Searcher, query: object, limit: int) -> Results:
        if limit <= 0:
            return Results(searcher, query, [])
        if self.exact is None and limit > self.budget * self._expected_share(searcher.doc_count_all()):
            self.exact = self.score_all()  # rarely met words: reading by score would go deep
        if self.exact is not None:
            return self.exact.top(searcher, query, limit)
        heap: list[tuple[float, int]] = []  # (score, -docnum): heap[0] is the worst kept
        self.read = self.checked = self.matched = 0
        try:
            for start in self.segments:
                self._read_segment(start(), heap, limit)
        except _OverBudget:
            self.exact = self.score_all()
            if self.exact is None:  # the direct scorer declined: read on, however deep
                self.budget = sys.maxsize
                return self.top(searcher, query, limit)
            return self.exact.top(searcher, query, limit)
        best = sorted(heap, reverse=True)
        return Results(searcher, query, [(score, -negative) for score, negative in best])

    def _read_segment(self, segment: _Segment, heap: list[tuple[float, int]], limit: int) -> None:
        words = [word for clause in segment.by_clause for word in clause]
        offset, seen = segment.offset, set()
        while not _done(segment, heap, limit):
            for word in words:  # one document from each list in turn
                if not word.live:
                    continue
                docnum = word.ids[word.position]  # type: ignore[index]
                word.advance()
                self.read += 1
                if docnum in seen:
                    continue
                seen.add(docnum)
                self.checked += 1
                if self.checked > self.budget and self.exact is None:
                    raise _OverBudget
                score = segment.score(docnum)
                if score is None or not self.accept(offset + docnum):
                    continue
                self.matched += 1
                entry = (score, -(offset + docnum))
                if len(heap) < limit:
                    heapq.heappush(heap, entry)
                elif entry > heap[0]:
                    heapq.heapreplace(heap, entry)


def _done(segment: _Segment, heap: list[tuple[float, int]], limit: int) -> bool:
    """No unread document of the segment can enter the top list."""
    if segment.exhausted():
        return True
    if len(heap) < limit:
        return False
    bound = segment.bound()
    worst_score, worst_negative = heap[0]
    if worst_score != bound:
        return worst_score > bound
    # A document scoring exactly `bound` is in the current run of equal scores of every
    # live list, at or after its next document (runs are in document order): it loses the
    # tie to the worst one kept if that one comes before the furthest of those.
    live = [word for clause in segment.by_clause for word in clause if word.live]
    furthest = max(segment.offset + word.ids[word.position] for word in live)  # type: ignore[index]
    return -worst_negative < furthest


def bounded_matches(
    searcher: Searcher, parsed: ParsedQuery, title_boost: float, k1: float
) -> BoundedMatches | None:
    """The query's matches for a top list read in contribution order; None when the query
    needs another path (phrases, date order) or its posting lists are short."""
    if not parsed.clauses or parsed.order == "latest" or parsed.thread_ids is not None:
        return None
    if any(term.phrase for clause in parsed.clauses for term in clause):
        return None
    if any(term.phrase for term in parsed.excluded):
        return None
    fields = whoosh_direct.TITLE_FIELDS if parsed.in_title else whoosh_direct.TEXT_FIELDS
    words: list[tuple[int, tuple[tuple[str, bytes], ...], list[float]]] = []  # (clause, parts, scales)
    for number, clause in enumerate(parsed.clauses):
        for term in clause:
            parts, scales = [], []
            for fieldname in fields:
                analysed = whoosh_direct._words(searcher, term.text, fieldname)
                if len(analysed) > 1:  # a word that analyses into several is a phrase
                    return None
                for word in analysed:
                    text = searcher.schema[fieldname].to_bytes(word)
                    boost = (title_boost if fieldname == "title" else 1.0) * term.weight
                    parts.append((fieldname, text))
                    scales.append(searcher.idf(fieldname, text) * boost * (k1 + 1))
            if parts:
                words.append((number, tuple(parts), scales))
    clause_count = len(parsed.clauses)
    if {clause for clause, _parts, _scales in words} != set(range(clause_count)):
        return None  # a clause that analyses to nothing: the exact path explains it
    postings = sum(searcher.doc_frequency(*part) for _clause, parts, _scales in words for part in parts)
    if postings < TOP_K_FROM:
        return None
    weights, deciding = whoosh_direct.clause_weights(searcher, parsed, fields)
    clauses = _Clauses(
        summing_order=sorted(range(clause_count), key=lambda clause: len(parsed.clauses[clause])),
        weights=weights,
        required=[clause.required for clause in parsed.clauses],
        deciding=deciding,
    )
    segments = []
    counts = [0] * clause_count
    try:
        for reader, offset in whoosh_direct._leaves(searcher):
            found = [
                (clause, parts, _word_columns(reader, parts, k1), scales) for clause, parts, scales in words
            ]
            found = [word for word in found if word[2].ids]
            present = {word[0] for word in found}
            if any(required and number not in present for number, required in enumerate(clauses.required)):
                continue  # a required clause matches nothing in this segment
            if not any(deciding[number] for number in present):
                continue
            segments.append(partial(_start_segment, offset, found, clauses))
            for clause in present:
                counts[clause] += _union_size(reader, [word[1:3] for word in found if word[0] == clause])
    except LookupError:
        return None
    required_counts = [count for count, required in zip(counts, clauses.required, strict=True) if required]
    candidates = (
        min(required_counts)
        if required_counts
        else min(searcher.doc_count_all(), sum(c for c, d in zip(counts, deciding, strict=True) if d))
    )
    return BoundedMatches(
        segments,
        _acceptance(searcher, parsed),
        candidates,
        required_counts,
        budget=max(TOP_K_FROM, postings) // READ_SHARE,
        score_all=partial(whoosh_direct.matches, searcher, parsed, title_boost, k1),
    )


class _OverBudget(Exception):
    pass


def _start_segment(offset: int, found: list[tuple[int, tuple, _WordColumns, list[float]]],
                   clauses: _Clauses) -> _Segment:  # fmt: skip
    lists = [_WordList(columns, scales, clause) for clause, _parts, columns, scales in found]
    return _Segment(
        offset,
        [[word for word in lists if word.clause == number] for number in range(len(clauses.weights))],
        clauses,
    )


def _union_size(reader: object, words: list[tuple[tuple, _WordColumns]]) -> int:
    """How many documents of the segment hold one of a clause's words (counted once, kept)."""
    if len(words) == 1:
        return len(words[0][1].ids)
    key = (reader.segment().segment_id(), tuple(parts for parts, _columns in words))  # type: ignore[attr-defined]
    size = UNION_SIZES.get(key)
    if size is None:
        size = len(set().union(*(columns.ids for _parts, columns in words)))
        UNION_SIZES.put(key, size, 1)
    return size  # type: ignore[return-value]


def _acceptance(searcher: Searcher, parsed: ParsedQuery) -> Callable[[int], bool]:
    """A test for everything but the words: filters, exclusions, deletions, dates."""
    required: list[frozenset[int]] = []
    refused: list[frozenset[int]] = []
    for fieldname, value in whoosh_direct._term_filters(parsed):
        other = whoosh_direct._COMPLEMENTS.get((fieldname, value))
        if other is not None:  # a two-valued field: refuse the other value (is:wiki, status:)
            refused.append(whoosh_direct._term_docs(searcher, *other))
        else:
            required.append(whoosh_direct._term_docs(searcher, fieldname, value))
    for term in parsed.excluded:
        for fieldname in whoosh_direct.TEXT_FIELDS:
            for word in whoosh_direct._words(searcher, term.text, fieldname):
                refused.append(whoosh_direct._term_docs(searcher, fieldname, word))
    deleted = whoosh_direct._deleted(searcher)
    if deleted:
        refused.append(frozenset(deleted))
    created = None
    start, end = whoosh_direct.date_bounds(parsed)
    if start is not None or end is not None:
        created = whoosh_direct._created(searcher)

    def accept(docnum: int) -> bool:
        for docs in required:
            if docnum not in docs:
                return False
        for docs in refused:
            if docnum in docs:
                return False
        if created is not None:
            when = created[docnum]
            if (start is not None and when < start) or (end is not None and when > end):
                return False
        return True

    return accept
