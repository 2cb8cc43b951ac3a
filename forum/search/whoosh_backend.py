"""The Whoosh backend: an embedded index in a directory (the default).

Layout: SEARCH_INDEX_DIR/current is a symlink to the live generation directory; a rebuild
writes a new generation and swaps the link with one rename, so searches keep working.
Only one process writes at a time: callers hold the drain lock (forum.search.outbox).
Queries are built from our own parsed structure, never with Whoosh's query parser, so
wildcards, ranges and field syntax cannot be typed in (wildcards can take seconds).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from flask import current_app
from whoosh import index
from whoosh import query as wq
from whoosh import scoring as wscoring
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.searching import Searcher

from forum.search import language, scoring, whoosh_direct, whoosh_topk
from forum.search.documents import Document
from forum.search.query import Clause, ParsedQuery, Term
from forum.search.results import Hit, Hits

NEEDS_LOCK = True  # one writer at a time: drains take forum.search.outbox.index_lock
TITLE_BOOST = scoring.TITLE_BOOST
_cache = threading.local()
_WORD = re.compile(r"[^\W\d_]{3,}")


def _remember_missing_columns() -> None:
    """Make Whoosh remember that a segment has no column file for a field.

    Its per-document reader checks the file system again on every lookup of a missing
    column (a stat per posting of every unscored field while a segment is written); that
    was a third of bulk indexing time. Segments are immutable, so the answer cannot change.
    """
    original = W3PerDocReader._cached_reader
    if getattr(original, "remembers_missing", False):
        return

    def cached_reader(self, fieldname, column):  # noqa: ANN001, ANN202 (Whoosh's signature)
        missing = self.__dict__.setdefault("_missing_columns", set())
        if fieldname in missing:
            return None
        reader = original(self, fieldname, column)
        if reader is None:
            missing.add(fieldname)
        return reader

    cached_reader.remembers_missing = True  # type: ignore[attr-defined]
    W3PerDocReader._cached_reader = cached_reader


_remember_missing_columns()


class CoarseDATETIME(DATETIME):
    """DATETIME indexed in 4 precision tiers instead of 8: half the postings per document.

    Ranges here are whole days (before:/after:), so the finer tiers only save a few term
    lookups at the edges of a range, while each one costs a posting per document to index.
    """

    def __init__(self, sortable: bool = False) -> None:
        super().__init__(sortable=sortable)
        self.shift_step = 16


class _SaturatedTermFrequency(wscoring.BaseScorer):
    """BM25 without length normalisation (b = 0): idf times a saturating term frequency.

    Whoosh's BM25F reads each matching document's field length from disk, and its block
    upper bounds then use the shortest length in a block, so they almost never let it skip
    a block: a common word made it score every one of tens of thousands of posts. Without
    the length, scoring needs only the posting itself, and a block whose best frequency
    cannot beat the current top results is skipped whole. Titles keep their boost, so a
    title match still outranks a passing mention.
    """

    def __init__(self, searcher: Searcher, fieldname: str, text: bytes, k1: float) -> None:
        self.idf = searcher.get_parent().idf(fieldname, text)
        self.k1 = k1
        self._max_quality = self._score(searcher.term_info(fieldname, text).max_weight())

    def _score(self, frequency: float) -> float:
        return self.idf * frequency * (self.k1 + 1) / (frequency + self.k1)

    def supports_block_quality(self) -> bool:
        return True

    def score(self, matcher) -> float:  # noqa: ANN001 (a Whoosh matcher)
        return self._score(matcher.weight())

    def max_quality(self) -> float:
        return self._max_quality

    def block_quality(self, matcher) -> float:  # noqa: ANN001
        return self._score(matcher.block_max_weight())


class SaturatedFrequencyWeighting(wscoring.WeightingModel):
    """The weighting of every search (see _SaturatedTermFrequency)."""

    def __init__(self, k1: float = 1.2) -> None:
        self.k1 = k1

    def supports_block_quality(self) -> bool:
        return True

    def scorer(self, searcher: Searcher, fieldname: str, text: bytes, qf: int = 1) -> wscoring.BaseScorer:
        if not searcher.schema[fieldname].scorable:
            return wscoring.WeightScorer.for_(searcher, fieldname, text)
        return _SaturatedTermFrequency(searcher, fieldname, text, self.k1)


WEIGHTING = SaturatedFrequencyWeighting()


def make_schema() -> Schema:
    analyzer = language.make_analyzer()  # spelling variants joined, then stemmed
    return Schema(
        key=ID(unique=True, stored=True),
        kind=ID(stored=True),
        group=ID(stored=True),
        object_id=STORED,
        thread_id=ID(stored=True),  # a string term: one posting (a NUMERIC field makes eight)
        # The title is indexed once per thread, in its opening post (a title in every post
        # filled a results page with one thread's posts), and stored in every post to show.
        title=TEXT(analyzer=analyzer),
        title_text=STORED,
        body=TEXT(analyzer=analyzer, stored=True),
        # The unstemmed words of titles, once per thread: the vocabulary for "did you mean".
        # (TEXT(spelling=True) would double the analysis and slow indexing about threefold.)
        words=KEYWORD(lowercase=True),
        author=ID,
        board=ID,
        created=CoarseDATETIME(sortable=True),
        solved=BOOLEAN,
        employee=BOOLEAN,
        opening=BOOLEAN,
    )


def root() -> Path:
    return Path(current_app.config["SEARCH_INDEX_DIR"])


def _current_dir() -> Path:
    return root() / "current"


def open_index() -> index.Index:
    """The live index, created empty the first time."""
    link = _current_dir()
    if not link.exists():
        root().mkdir(parents=True, exist_ok=True)
        # Two processes starting at once must not each create (and swap in) an empty index.
        with open(root() / "create.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                if not link.exists():
                    _swap_in(_new_generation(create=True))
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    return index.open_dir(str(link))


def _new_generation(create: bool) -> Path:
    base = root()
    base.mkdir(parents=True, exist_ok=True)
    path = base / f"gen-{time.time_ns()}-{os.getpid()}"
    path.mkdir()
    if create:
        index.create_in(str(path), make_schema())
    return path


def _swap_in(path: Path) -> None:
    """Point `current` at `path` with one atomic rename; keep one older generation."""
    base = root()
    temporary = base / f"current.{os.getpid()}.tmp"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(path.name)
    os.replace(temporary, base / "current")
    generations = sorted(p for p in base.glob("gen-*") if p.is_dir() and p != path)
    for old in generations[:-1]:  # readers that opened the previous one may still use it
        shutil.rmtree(old, ignore_errors=True)


def _searcher() -> Searcher:
    """A searcher for this thread, reopened when the index changed or was swapped.

    Not `Searcher.refresh()`: it reuses segment readers and so misses deletions made in an
    existing segment (a deleted post would stay findable in this process).
    """
    link = _current_dir()
    live = os.path.realpath(link) if link.exists() else None
    cached: Searcher | None = getattr(_cache, "searcher", None)
    if (
        cached is not None
        and live is not None
        and getattr(_cache, "path", None) == live
        and cached.up_to_date()
    ):
        return cached
    if cached is not None:
        _cache.closer()  # closes it once: a finalizer runs at most once
    searcher = open_index().searcher(weighting=WEIGHTING)
    # Segment files are open files (not one memory-mapped compound file): close them when the
    # thread ends, as a server that runs each request in a new thread ends one per request.
    _cache.closer = weakref.finalize(threading.current_thread(), searcher.close)
    _cache.searcher = searcher
    _cache.path = os.path.realpath(link)
    return searcher


def _fields(doc: Document) -> dict[str, object]:
    return {
        "key": doc.key,
        "kind": doc.kind,
        "group": doc.group,
        "object_id": doc.object_id,
        "thread_id": str(doc.thread_id or ""),
        "title": doc.title if doc.opening or doc.kind == "wiki" else "",
        "title_text": doc.title,
        "body": doc.body,
        "author": doc.author or "",
        "board": doc.board or "",
        "created": doc.created.astimezone(UTC).replace(tzinfo=None),
        "solved": doc.solved,
        "employee": doc.employee,
        "opening": doc.opening,
        "words": " ".join(_WORD.findall(language.normalise(doc.title).lower()))
        if doc.opening or doc.kind == "wiki"
        else "",
    }


# -- the interface ---------------------------------------------------------------------


def apply_changes(
    documents: Iterable[Document],
    removed_keys: Iterable[str],
    removed_threads: Iterable[int],
    session: object = None,
) -> None:
    """Remove, then (re)add, in one commit. The caller holds the drain lock."""
    ix = open_index()
    writer = ix.writer(timeout=10.0, limitmb=8, compound=False)
    try:
        for thread_id in removed_threads:
            writer.delete_by_term("thread_id", str(thread_id))
        for key in removed_keys:
            writer.delete_by_term("key", key)
        for doc in documents:
            writer.update_document(**_fields(doc))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


def index_documents(documents: Iterable[Document]) -> None:
    apply_changes(documents, (), ())


def remove_documents(keys: Iterable[str]) -> None:
    apply_changes((), keys, ())


def document_keys() -> set[str]:
    """Every key in the index (for consistency checks)."""
    searcher = _searcher()
    return {fields["key"] for fields in searcher.all_stored_fields()}


def document_count() -> int:
    return _searcher().doc_count()


def rebuild(batches: Iterable[list[Document]], progress: Callable[[int], None]) -> None:
    """Write every document into a new generation, then swap it in atomically."""
    path = _new_generation(create=True)
    ix = index.open_dir(str(path))
    # Whoosh analyses in pure Python: with several processes each writes its own segment
    # (multisegment: no final merge, which would cost as much again).
    procs = int(current_app.config.get("SEARCH_INDEX_PROCS") or 1)
    # Segments stay separate files (compound=False): a searcher reads them through the page
    # cache that every worker shares. A compound segment's parts are copied into each
    # searcher's private memory (whoosh BufferFile): about 400 MB per worker at size L.
    options = {"limitmb": 128, "procs": procs, "multisegment": True} if procs > 1 else {"limitmb": 256}
    writer = ix.writer(compound=False, **options)
    try:
        for batch in batches:
            for doc in batch:
                writer.add_document(**_fields(doc))
            progress(len(batch))
    except BaseException:
        writer.cancel()
        shutil.rmtree(path, ignore_errors=True)
        raise
    writer.commit(optimize=True)
    _swap_in(path)


# -- queries ------------------------------------------------------------------------------


def _term_query(term: Term, fields: tuple[str, ...]) -> wq.Query | None:
    schema = make_schema_cached()
    parts = []
    for name in fields:
        words = [t.text for t in schema[name].analyzer(term.text, mode="query")]
        if not words:
            continue
        boost = (TITLE_BOOST if name == "title" else 1.0) * term.weight
        if len(words) == 1:
            parts.append(wq.Term(name, words[0], boost=boost))
        else:
            parts.append(wq.Phrase(name, words, boost=boost))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else wq.Or(parts)


_schema: Schema | None = None


def make_schema_cached() -> Schema:
    global _schema
    if _schema is None:
        _schema = make_schema()
    return _schema


def _clause_query(clause: Clause, fields: tuple[str, ...]) -> wq.Query | None:
    options = [q for q in (_term_query(term, fields) for term in clause) if q is not None]
    if not options:
        return None
    return options[0] if len(options) == 1 else wq.DisjunctionMax(options)


def build_query(parsed: ParsedQuery) -> tuple[wq.Query | None, wq.Query | None]:
    """(scored text query or None, filter query or None), for Whoosh's own matchers: the
    fallback when the direct scorer declines (another codec). It matches the same documents;
    its scores lack the coverage factor."""
    fields = ("title",) if parsed.in_title else ("title", "body")
    optional, required = [], []
    for clause in parsed.clauses:
        query = _clause_query(clause, fields)
        if query is not None:
            (required if clause.required else optional).append(query)
    text_query: wq.Query | None = None
    if optional or required:
        text_query = wq.Or(optional) if optional else None
        if required:
            text_query = wq.AndMaybe(wq.And(required), text_query) if text_query else wq.And(required)
    excluded = [
        q for q in (_term_query(term, ("title", "body")) for term in parsed.excluded) if q is not None
    ]
    if excluded:
        text_query = wq.AndNot(text_query or wq.Every(), wq.Or(excluded))
    filters: list[wq.Query] = [wq.Term(name, value) for name, value in whoosh_direct._term_filters(parsed)]
    if parsed.thread_ids is not None:  # problem details (issue #17)
        threads = [wq.Term("thread_id", str(thread_id)) for thread_id in sorted(parsed.thread_ids)]
        filters.append(wq.Or(threads) if threads else wq.NullQuery)
    if parsed.after or parsed.before:
        start = datetime.combine(parsed.after, dtime.min) if parsed.after else None
        end = (
            datetime.combine(parsed.before, dtime.min) - timedelta(microseconds=1) if parsed.before else None
        )
        filters.append(wq.DateRange("created", start, end))
    filter_query = (filters[0] if len(filters) == 1 else wq.And(filters)) if filters else None
    if text_query is None and filter_query is not None:
        return wq.ConstantScoreQuery(filter_query, 1.0), None
    return text_query, filter_query


def _ranked(searcher: Searcher, parsed: ParsedQuery, wanted: int) -> tuple[list, bool, int]:
    """The best documents, one per group (a thread, a wiki page; a post inside one thread),
    enough for `wanted` groups: (hits, exact count?, total)."""
    text_query, filter_query = build_query(parsed)
    if text_query is None:
        return [], True, 0
    if searcher.doc_count() == 0:
        # An empty index (a fresh forum, or one being rebuilt) matches nothing; BM25's idf
        # would divide by its zero documents (issue #13: a 500 "math domain error").
        return [], True, 0
    limit = max(wanted * 3, 60)
    # Filters join the query (adding nothing to scores) rather than go in `filter=`: Whoosh
    # would first list every document a filter allows, which is slow for date ranges.
    query = (
        text_query if filter_query is None else wq.And([text_query, wq.ConstantScoreQuery(filter_query, 0.0)])
    )
    options: dict[str, object] = {}
    if parsed.order == "latest":
        options.update(sortedby="created", reverse=True)
    group = "key" if parsed.thread_id is not None else "group"
    # Group posts by thread ourselves (Whoosh's collapse miscounts across segments):
    # fetch a few times the page, and more only if the threads on it came up short.
    direct: whoosh_direct.Matches | whoosh_topk.BoundedMatches | None = whoosh_topk.bounded_matches(
        searcher, parsed, TITLE_BOOST, WEIGHTING.k1
    )
    if direct is None:
        direct = whoosh_direct.matches(searcher, parsed, TITLE_BOOST, WEIGHTING.k1)
    for _attempt in range(4):
        if direct is not None:
            results = direct.top(searcher, query, limit)
        else:
            results = searcher.search(query, limit=limit, **options)
        best: dict[str, object] = {}
        for hit in results:
            best.setdefault(hit[group], hit)
        scored = results.scored_length()
        if len(best) >= wanted or scored < limit:
            break
        limit *= 4
    # Counting every match costs as much as scoring them: past the first fetch, estimate
    # (the page says "about"), scaling posts to threads by the share seen so far.
    exact = scored < limit
    if exact:
        total = len(best)
    else:
        reader = searcher.reader()
        matched = max(len(direct) if direct is not None else query.estimate_size(reader), scored)
        groups = reader.doc_frequency("opening", True) + reader.doc_frequency("kind", "wiki")
        total = min(groups, max(len(best), round(matched * len(best) / max(scored, 1))))
    return list(best.values()), exact, total


def search(parsed: ParsedQuery, page: int, per_page: int) -> Hits:
    searcher = _searcher()
    best, exact, total = _ranked(searcher, parsed, page * per_page)
    hits = [
        Hit(
            kind=hit["kind"],
            object_id=hit["object_id"],
            thread_id=int(hit["thread_id"]) if hit["thread_id"] else None,
            score=hit.score or 0.0,
            title=hit["title_text"],
            body=hit["body"],
        )
        for hit in best[(page - 1) * per_page : page * per_page]
    ]
    return Hits(total=total, hits=hits, exact=exact)


def similar_threads(parsed: ParsedQuery, limit: int) -> list[Hit]:
    """The threads whose posts best match a title being typed (parsed.threads_only), best first:
    each thread once, with its best post."""
    searcher = _searcher()
    best, _exact, _total = _ranked(searcher, parsed, limit)
    return [
        Hit(
            hit["kind"],
            hit["object_id"],
            int(hit["thread_id"]),
            hit.score or 0.0,
            hit["title_text"],
            hit["body"],
        )
        for hit in best[:limit]
    ]


SUGGEST_RARER = 20  # offer a word only if it is this many times as frequent as the one typed
SUGGEST_BELOW = 4  # ... and only for a word in fewer documents than this (a typo is rare)


def word_frequency(word: str, searcher: Searcher | None = None) -> int:
    """In how many documents the word (any of its forms) appears, in a title or a body."""
    reader = (searcher or _searcher()).reader()
    stemmed = language.stem(word.lower())
    if not stemmed:
        return 0
    return max(reader.doc_frequency("body", stemmed), reader.doc_frequency("title", stemmed))


def suggest(words: list[str]) -> dict[str, str]:
    """A correction for each word the index lacks or has much less than a close title word."""
    searcher = _searcher()
    corrections = {}
    for word in words:
        lowered = word.lower()
        if not lowered.isalpha() or len(lowered) < 3:
            continue
        frequency = word_frequency(lowered, searcher)
        if frequency >= SUGGEST_BELOW:
            continue
        options = searcher.suggest("words", lowered, limit=5, maxdist=1 if len(lowered) < 5 else 2, prefix=1)
        better = [
            (word_frequency(option, searcher), option)
            for option in options
            if option != lowered and language.stem(option) != language.stem(lowered)
        ]
        better = [
            (count, option)
            for count, option in better
            if count >= (frequency * SUGGEST_RARER if frequency else 1)
        ]
        if better:
            corrections[word] = max(better)[1]
    return corrections


def close_cached() -> None:
    cached = getattr(_cache, "searcher", None)
    if cached is not None:
        _cache.closer()
        _cache.searcher = None
