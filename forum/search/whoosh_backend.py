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
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from flask import current_app
from whoosh import highlight, index, scoring
from whoosh import query as wq
from whoosh.analysis import StemmingAnalyzer
from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.searching import Searcher

from forum.search import whoosh_direct, whoosh_topk
from forum.search.documents import Document
from forum.search.query import ParsedQuery, Term
from forum.search.results import Hit, Hits, marked, plain_snippet

NEEDS_LOCK = True  # one writer at a time: drains take forum.search.outbox.index_lock
TITLE_BOOST = 3.0
START, STOP = "\x02", "\x03"
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


class _SaturatedTermFrequency(scoring.BaseScorer):
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


class SaturatedFrequencyWeighting(scoring.WeightingModel):
    """The weighting of every search (see _SaturatedTermFrequency)."""

    def __init__(self, k1: float = 1.2) -> None:
        self.k1 = k1

    def supports_block_quality(self) -> bool:
        return True

    def scorer(self, searcher: Searcher, fieldname: str, text: bytes, qf: int = 1) -> scoring.BaseScorer:
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        return _SaturatedTermFrequency(searcher, fieldname, text, self.k1)


WEIGHTING = SaturatedFrequencyWeighting()


def make_schema() -> Schema:
    analyzer = StemmingAnalyzer()
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
        cached.close()
    _cache.searcher = open_index().searcher(weighting=WEIGHTING)
    _cache.path = os.path.realpath(link)
    return _cache.searcher


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
        "words": " ".join(_WORD.findall(doc.title.lower())) if doc.opening or doc.kind == "wiki" else "",
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
    writer = ix.writer(timeout=10.0, limitmb=8)
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
    writer = ix.writer(limitmb=128, procs=procs, multisegment=True) if procs > 1 else ix.writer(limitmb=256)
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
        boost = TITLE_BOOST if name == "title" else 1.0
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


def build_query(parsed: ParsedQuery) -> tuple[wq.Query | None, wq.Query | None]:
    """(scored text query or None, filter query or None)."""
    fields = ("title",) if parsed.in_title else ("title", "body")
    clauses = []
    for clause in parsed.clauses:
        options = [q for q in (_term_query(term, fields) for term in clause) if q is not None]
        if options:
            clauses.append(options[0] if len(options) == 1 else wq.Or(options))
    text_query: wq.Query | None = wq.And(clauses) if clauses else None
    excluded = [
        q for q in (_term_query(term, ("title", "body")) for term in parsed.excluded) if q is not None
    ]
    if excluded:
        text_query = wq.AndNot(text_query or wq.Every(), wq.Or(excluded))
    filters: list[wq.Query] = []
    if parsed.author:
        filters.append(wq.Term("author", parsed.author))
    if parsed.board:
        filters.append(wq.Term("board", parsed.board))
    if parsed.wiki:
        filters.append(wq.Term("kind", "wiki"))
    if parsed.status:
        filters.append(wq.Term("kind", "post"))
        filters.append(wq.Term("solved", parsed.status == "solved"))
    if parsed.employee:
        filters.append(wq.Term("employee", True))
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


class _MarkFormatter(highlight.Formatter):
    between = " … "

    def format_token(self, text: str, token: object, replace: bool = False) -> str:
        return START + highlight.get_text(text, token, replace) + STOP


# Titles are highlighted whole (the default fragmenter would cut text before the first word).
_TITLE_HIGHLIGHTER = highlight.Highlighter(
    fragmenter=highlight.WholeFragmenter(charlimit=None), formatter=_MarkFormatter()
)


def search(parsed: ParsedQuery, page: int, per_page: int) -> Hits:
    text_query, filter_query = build_query(parsed)
    if text_query is None:
        return Hits(total=0)
    searcher = _searcher()
    if searcher.doc_count() == 0:
        # An empty index (a fresh forum, or one being rebuilt) matches nothing; BM25's idf
        # would divide by its zero documents (issue #13: a 500 "math domain error").
        return Hits(total=0)
    wanted = page * per_page
    limit = max(wanted * 3, 60)
    # No terms=True: recording matched terms turns off Whoosh's block skipping, so every
    # match would be scored; highlighting uses the query's terms instead.
    # Filters join the query (adding nothing to scores) rather than go in `filter=`: Whoosh
    # would first list every document a filter allows, which is slow for date ranges and
    # makes counting the matches quadratic.
    query = (
        text_query if filter_query is None else wq.And([text_query, wq.ConstantScoreQuery(filter_query, 0.0)])
    )
    options: dict[str, object] = {}
    if parsed.order == "latest":
        options.update(sortedby="created", reverse=True)
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
            best.setdefault(hit["group"], hit)
        scored = results.scored_length()
        if len(best) >= wanted or scored < limit:
            break
        limit *= 4
    # Snippets come from the first 4,000 characters: analysing a long post whole costs more than the search.
    results.fragmenter = highlight.ContextFragmenter(maxchars=200, surround=60, charlimit=4000)
    results.formatter = _MarkFormatter()
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
    hits = []
    for hit in list(best.values())[(page - 1) * per_page : page * per_page]:
        body = hit["body"]
        title_marked = _TITLE_HIGHLIGHTER.highlight_hit(hit, "title", text=hit["title_text"], minscore=0)
        snippet = hit.highlights("body", text=body, top=2) if body else ""
        hits.append(
            Hit(
                kind=hit["kind"],
                object_id=hit["object_id"],
                thread_id=int(hit["thread_id"]) if hit["thread_id"] else None,
                score=hit.score or 0.0,
                title_html=marked(title_marked, START, STOP)
                if title_marked
                else marked(hit["title_text"], START, STOP),
                snippet_html=marked(snippet, START, STOP) if snippet else plain_snippet(body),
            )
        )
    return Hits(total=total, hits=hits, exact=exact)


def suggest(words: list[str]) -> dict[str, str]:
    """A correction for each word the index does not know, from the index's own words."""
    searcher = _searcher()
    reader = searcher.reader()
    analyzer = make_schema_cached()["body"].analyzer
    corrections = {}
    for word in words:
        lowered = word.lower()
        if not lowered.isalpha() or len(lowered) < 3:
            continue
        stems = [t.text for t in analyzer(lowered, mode="query")]
        if not stems or any(
            reader.doc_frequency("body", s) or reader.doc_frequency("title", s) for s in stems
        ):
            continue
        options = searcher.suggest("words", lowered, limit=1, maxdist=2, prefix=1)
        if options:
            corrections[word] = options[0]
    return corrections


def similar_threads(title: str, limit: int) -> list[int]:
    """Ids of threads whose title or opening post shares words with `title`, best first."""
    schema = make_schema_cached()
    words = [t.text for t in schema["title"].analyzer(title[:200], mode="query")][:12]
    if not words:
        return []
    text_query = wq.Or(
        [wq.Term("title", w, boost=TITLE_BOOST) for w in words] + [wq.Term("body", w) for w in words]
    )
    searcher = _searcher()
    results = searcher.search(text_query, limit=limit * 2, filter=wq.Term("opening", True))
    return [int(hit["thread_id"]) for hit in results]


def close_cached() -> None:
    cached = getattr(_cache, "searcher", None)
    if cached is not None:
        cached.close()
        _cache.searcher = None
