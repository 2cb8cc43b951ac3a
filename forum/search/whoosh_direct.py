"""Direct scoring for the Whoosh backend: the common searches without Whoosh's matcher tree.

Whoosh scores a query by walking a tree of Python matcher objects one posting at a time
(about 2 µs a posting): a word in one post of six took 60-90 ms at 200,000 posts, and its
block-skipping could not help because a title match outranks any body alone. Here each
term's postings are read a block at a time (Whoosh decodes a block into a tuple of ids and
weights) and summed into a dict, which is many times faster, with the same scores as the
Whoosh path (SaturatedFrequencyWeighting: idf x saturated frequency, titles boosted).

It handles all of the query syntax: words (one must match, more rank higher; +required,
OR and synonyms as alternatives),
"phrases" (positions are decoded only for documents holding every word), excluded words, the
term filters (@user, #board, is:wiki, status:, is:employee), date ranges and order:latest.
A posting list in another codec returns None, and the caller uses Whoosh's own search. Segments are immutable, so their date columns are
read once per segment and kept.
"""

from __future__ import annotations

import heapq
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.searching import Results, Searcher
from whoosh.util.times import datetime_to_long

from forum.search import scoring
from forum.search.query import ParsedQuery

TITLE_FIELDS = ("title",)
TEXT_FIELDS = ("title", "body")


def _leaves(searcher: Searcher) -> list[tuple[object, int]]:
    return [(reader, offset) for reader, offset in searcher.reader().leaf_readers()]


def _block_postings(reader: object, fieldname: str, text: bytes, weights: bool = True,
                    values: bool = False) -> Iterator[tuple]:  # fmt: skip
    """(ids, weights) of each posting block of a term in one segment (deleted documents included)."""
    if (fieldname, text) not in reader:  # type: ignore[operator]
        return
    matcher = reader._terms.matcher(fieldname, text, reader.schema[fieldname].format)  # type: ignore[attr-defined]
    if not isinstance(matcher, W3LeafMatcher):  # another codec: let the caller fall back
        raise LookupError("not a whoosh3 posting list")
    while matcher.is_active():
        matcher._read_ids()
        if weights:
            matcher._read_weights()
        if values:
            matcher._read_values()
            yield matcher._ids, matcher._weights, matcher._values
        else:
            yield matcher._ids, matcher._weights
        matcher._next_block()


def _deleted(searcher: Searcher) -> set[int]:
    deleted: set[int] = set()
    for reader, offset in _leaves(searcher):
        if reader.has_deletions():  # type: ignore[attr-defined]
            deleted.update(offset + docnum for docnum in reader.deleted_docs_set)  # type: ignore[attr-defined]
    return deleted


def _term_scores(searcher: Searcher, fieldname: str, word: str, boost: float, k1: float) -> dict[int, float]:
    """Score of every document holding `word` in `fieldname` (same formula as the weighting)."""
    field = searcher.schema[fieldname]
    text = field.to_bytes(word)
    scale = searcher.idf(fieldname, text) * boost * (k1 + 1)
    scores: dict[int, float] = {}
    for reader, offset in _leaves(searcher):
        ids, saturation = _segment_postings(reader, fieldname, text, k1)
        scores.update(
            zip(map(offset.__add__, ids) if offset else ids, [scale * x for x in saturation], strict=True)
        )
    return scores


class _Cache:
    """What was read from immutable segments, least recently used out first, bounded by the
    number of items held (postings, document numbers) over every entry. One per kind, per process.

    Unpickling a common word's blocks (with their positions) was half of a search's time at
    200,000 posts, and a support forum's searches keep coming back to the same few words
    (router, refund, wifi); filters and the date column come back even more often.
    """

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self.held = 0
        self.entries: OrderedDict[tuple, tuple[int, object]] = OrderedDict()  # key -> (size, value)
        self.lock = threading.Lock()  # threaded servers

    def get(self, key: tuple) -> object | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return None
            self.entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple, value: object, size: int) -> None:
        with self.lock:
            if key in self.entries:
                return
            self.entries[key] = (size, value)
            self.held += size
            while self.held > self.max_items and len(self.entries) > 1:
                _key, (dropped, _value) = self.entries.popitem(last=False)
                self.held -= dropped


POSTINGS = _Cache(max_items=1_500_000)  # about 12 bytes a posting
FILTER_DOCS = _Cache(max_items=2_000_000)  # per segment, and per list of segments
DATE_COLUMNS = _Cache(max_items=1_000_000)  # per segment
CACHED_FROM = 2000  # shorter posting lists decode in well under a millisecond


def _segment_postings(reader: object, fieldname: str, text: bytes, k1: float) -> tuple[array, array]:
    """(document numbers, saturated frequency tf / (tf + k1)) of a term in one segment."""
    key = (reader.segment().segment_id(), fieldname, text, k1)  # type: ignore[attr-defined]
    cached = POSTINGS.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    ids, saturation = array("I"), array("d")
    for block_ids, weights in _block_postings(reader, fieldname, text):
        ids.extend(block_ids)
        saturation.extend([frequency / (frequency + k1) for frequency in weights])
    if len(ids) >= CACHED_FROM:
        POSTINGS.put(key, (ids, saturation), len(ids))
    return ids, saturation


def _term_docs(searcher: Searcher, fieldname: str, value: object) -> frozenset[int]:
    """Every document holding the term (filters: @user, #board, status, ...), kept for the
    current list of segments (the per-segment sets are kept longer: segments never change)."""
    text = searcher.schema[fieldname].to_bytes(value)
    leaves = _leaves(searcher)
    key = (tuple((reader.segment().segment_id(), offset) for reader, offset in leaves), fieldname, text)  # type: ignore[attr-defined]
    docs = FILTER_DOCS.get(key)
    if docs is None:
        parts: set[int] = set()
        for reader, offset in leaves:
            segment_docs = _segment_term_docs(reader, fieldname, text)
            parts.update(segment_docs if not offset else map(offset.__add__, segment_docs))
        docs = frozenset(parts)
        FILTER_DOCS.put(key, docs, len(docs))
    return docs


def _segment_term_docs(reader: object, fieldname: str, text: bytes) -> frozenset[int]:
    """A term's documents in one segment; kept for filter terms, as segments never change."""
    key = (reader.segment().segment_id(), fieldname, text)  # type: ignore[attr-defined]
    docs = FILTER_DOCS.get(key)
    if docs is None:
        docs = frozenset(docnum for ids, _weights in _block_postings(reader, fieldname, text, weights=False)
                         for docnum in ids)  # fmt: skip
        FILTER_DOCS.put(key, docs, len(docs))
    return docs


def _words(searcher: Searcher, text: str, fieldname: str) -> list[str]:
    return [token.text for token in searcher.schema[fieldname].analyzer(text, mode="query")]


def _phrase_scores(searcher: Searcher, fieldname: str, words: list[str], boost: float,
                   k1: float) -> dict[int, float]:  # fmt: skip
    """Documents holding the words next to each other, in order (Whoosh's Phrase, slop 1),
    scored as the sum of the words' scores, as Whoosh scores the phrase's intersection."""
    field = searcher.schema[fieldname]
    postings: list[dict[int, tuple[float, bytes]]] = []
    for word in words:
        text = field.to_bytes(word)
        scale = searcher.idf(fieldname, text) * boost * (k1 + 1)
        found: dict[int, tuple[float, bytes]] = {}
        for reader, offset in _leaves(searcher):
            for ids, weights, values in _block_postings(reader, fieldname, text, values=True):
                for docnum, frequency, value in zip(ids, weights, values, strict=True):
                    found[offset + docnum] = (scale * frequency / (frequency + k1), value)
        if not found:
            return {}
        postings.append(found)
    candidates = set.intersection(*(set(found) for found in sorted(postings, key=len)))
    decode = field.format.decode_positions
    scores: dict[int, float] = {}
    for docnum in candidates:
        positions = [set(decode(found[docnum][1])) for found in postings]
        if any(all(start + i in positions[i] for i in range(1, len(words))) for start in positions[0]):
            scores[docnum] = sum(found[docnum][0] for found in postings)
    return scores


def _term_total(searcher: Searcher, term: object, fields: tuple[str, ...], title_boost: float,
                k1: float) -> dict[int, float]:  # fmt: skip
    """What one term (a word or a phrase, times its weight) scores in each document, over the fields."""
    total: dict[int, float] = {}
    for fieldname in fields:
        words = _words(searcher, term.text, fieldname)  # type: ignore[attr-defined]
        boost = (title_boost if fieldname == "title" else 1.0) * term.weight  # type: ignore[attr-defined]
        if len(words) > 1:  # a phrase
            field_scores = _phrase_scores(searcher, fieldname, words, boost, k1)
        elif words:
            field_scores = _term_scores(searcher, fieldname, words[0], boost, k1)
        else:
            continue
        if not total:
            total = field_scores
            continue
        small, large = (field_scores, total) if len(field_scores) <= len(total) else (total, field_scores)
        for docnum, score in small.items():
            large[docnum] = large.get(docnum, 0.0) + score
        total = large
    return total


def _clause_scores(searcher: Searcher, clause: Iterable, fields: tuple[str, ...], title_boost: float,
                   k1: float) -> dict[int, float]:  # fmt: skip
    """Documents matching any term of the clause, with the best of what its terms score (a
    synonym, weighted lower, never adds to the word it stands for)."""
    best: dict[int, float] = {}
    for term in clause:
        term_scores = _term_total(searcher, term, fields, title_boost, k1)
        if not best:
            best = term_scores
            continue
        for docnum, score in term_scores.items():
            if score > best.get(docnum, 0.0):
                best[docnum] = score
    return best


def clause_weights(
    searcher: Searcher, parsed: ParsedQuery, fields: tuple[str, ...]
) -> tuple[list[float], list[bool]]:
    """Each clause's idf (its rarest typed word's, for coverage) and whether it may decide a match."""
    documents = searcher.doc_count_all()
    weights, deciding = [], []
    for clause in parsed.clauses:
        idf, frequency = 0.0, 0
        for term in clause:
            if term.weight < 1.0:
                continue
            for fieldname in fields:
                for word in _words(searcher, term.text, fieldname):
                    text = searcher.schema[fieldname].to_bytes(word)
                    idf = max(idf, searcher.idf(fieldname, text))
                    frequency = max(frequency, searcher.doc_frequency(fieldname, text))
        weights.append(idf)
        deciding.append(scoring.is_deciding(documents, frequency))
    if not any(deciding):
        deciding = [True] * len(deciding)
    return weights, deciding


coverage_factor = scoring.coverage_factor


def _created(searcher: Searcher) -> list[int]:
    """The "created" column of every document (µs since the epoch), cached per segment."""
    values: list[int] = []
    for reader, _offset in _leaves(searcher):
        key = (reader.segment().segment_id(),)  # type: ignore[attr-defined]
        column = DATE_COLUMNS.get(key)
        if column is None:
            column = list(reader.column_reader("created", translate=False))  # type: ignore[attr-defined]
            DATE_COLUMNS.put(key, column, len(column))
        values.extend(column)  # type: ignore[arg-type]
    return values


@dataclass
class Matches:
    """Every matching document with its score, worked out once per search: a page that needs
    more candidates (threads came up short) only takes a longer top list from it."""

    scores: dict[int, float]
    created: list[int] | None  # the date column, when sorting by date

    def __len__(self) -> int:
        return len(self.scores)

    def top(self, searcher: Searcher, query: object, limit: int) -> Results:
        scores, created = self.scores, self.created
        if created is not None:
            best = heapq.nlargest(limit, scores, key=created.__getitem__)
        else:  # ties in document order, as Whoosh has them
            best = sorted(
                heapq.nlargest(limit, scores, key=scores.__getitem__), key=lambda d: (-scores[d], d)
            )
        return Results(searcher, query, [(scores[docnum], docnum) for docnum in best])


def top_documents(searcher: Searcher, parsed: ParsedQuery, query: object, limit: int, title_boost: float,
                  k1: float) -> tuple[Results, int] | None:  # fmt: skip
    """The best `limit` documents as Whoosh Results, and how many documents match; None: not handled."""
    found = matches(searcher, parsed, title_boost, k1)
    return None if found is None else (found.top(searcher, query, limit), len(found))


def matches(searcher: Searcher, parsed: ParsedQuery, title_boost: float, k1: float) -> Matches | None:
    """The documents matching the query, scored; None when this path cannot handle it.

    A document matches one deciding clause at least and every required clause; its score is
    the sum of its clauses' scores times its coverage of the query (coverage_factor).
    """
    if not parsed.clauses or parsed.thread_ids is not None:  # a thread list: the generic path
        return None
    fields = TITLE_FIELDS if parsed.in_title else TEXT_FIELDS
    try:
        weights, deciding = clause_weights(searcher, parsed, fields)
        clause_count = len(parsed.clauses)
        summing_order = sorted(range(clause_count), key=lambda c: len(parsed.clauses[c]))
        per_clause = [
            _clause_scores(searcher, parsed.clauses[c], fields, title_boost, k1) for c in range(clause_count)
        ]
        required = [per_clause[c] for c in range(clause_count) if parsed.clauses[c].required]
        candidates: set[int] = set()
        for c in range(clause_count):
            if deciding[c]:
                candidates.update(per_clause[c])
        for docs in sorted(required, key=len):
            candidates.intersection_update(docs)
        total_weight = sum(weights)
        scores: dict[int, float] = {}
        for docnum in candidates:
            score, matched = 0.0, 0.0
            for c in summing_order:
                value = per_clause[c].get(docnum)
                if value:
                    score += value
            for c in range(clause_count):
                if docnum in per_clause[c]:
                    matched += weights[c]
            scores[docnum] = score * coverage_factor(matched, total_weight)
        for term in parsed.excluded:
            for fieldname in TEXT_FIELDS:
                words = _words(searcher, term.text, fieldname)
                if len(words) > 1:
                    dropped: Iterable[int] = _phrase_scores(searcher, fieldname, words, 1.0, k1)
                else:
                    dropped = _term_docs(searcher, fieldname, words[0]) if words else ()
                for docnum in dropped:
                    scores.pop(docnum, None)
        for fieldname, value in _term_filters(parsed):
            scores = _keep(searcher, scores, fieldname, value)
        for docnum in _deleted(searcher) if scores else ():
            scores.pop(docnum, None)
        created = None
        if scores and (parsed.after or parsed.before or parsed.order == "latest"):
            created = _created(searcher)
            if parsed.after or parsed.before:
                start, end = date_bounds(parsed)
                scores = {docnum: score for docnum, score in scores.items()
                          if (start is None or created[docnum] >= start) and (end is None or created[docnum] <= end)}  # fmt: skip
    except LookupError:
        return None
    return Matches(scores, created if parsed.order == "latest" else None)


def date_bounds(parsed: ParsedQuery) -> tuple[int | None, int | None]:
    """after:/before: as the first and last "created" values allowed (µs), None where open."""
    start = datetime_to_long(datetime.combine(parsed.after, dtime.min)) if parsed.after else None
    end = datetime_to_long(datetime.combine(parsed.before, dtime.min) - timedelta(microseconds=1)) \
        if parsed.before else None  # fmt: skip
    return start, end


# Every document has exactly one of these values: a filter may drop the other side instead.
_COMPLEMENTS: dict[tuple[str, object], tuple[str, object]] = {
    ("kind", "post"): ("kind", "wiki"),
    ("kind", "wiki"): ("kind", "post"),
    ("solved", True): ("solved", False),
    ("solved", False): ("solved", True),
    ("opening", True): ("opening", False),
}


def _keep(searcher: Searcher, scores: dict[int, float], fieldname: str, value: object) -> dict[int, float]:
    """Only the documents whose `fieldname` is `value`, reading the shorter posting list."""
    schema = searcher.schema
    other = _COMPLEMENTS.get((fieldname, value))
    if other is not None and searcher.doc_frequency(other[0], schema[other[0]].to_bytes(other[1])) < \
            searcher.doc_frequency(fieldname, schema[fieldname].to_bytes(value)):  # fmt: skip
        dropped = _term_docs(searcher, *other)
        return {docnum: score for docnum, score in scores.items() if docnum not in dropped}
    allowed = _term_docs(searcher, fieldname, value)
    return {docnum: score for docnum, score in scores.items() if docnum in allowed}


def _term_filters(parsed: ParsedQuery) -> list[tuple[str, object]]:
    filters: list[tuple[str, object]] = []
    if parsed.author:
        filters.append(("author", parsed.author))
    if parsed.board:
        filters.append(("board", parsed.board))
    if parsed.wiki:
        filters.append(("kind", "wiki"))
    if parsed.status:
        filters.append(("kind", "post"))
        filters.append(("solved", parsed.status == "solved"))
    if parsed.employee:
        filters.append(("employee", True))
    if parsed.thread_id is not None:
        filters.append(("thread_id", str(parsed.thread_id)))
    if parsed.threads_only:
        filters.append(("kind", "post"))
    return filters
