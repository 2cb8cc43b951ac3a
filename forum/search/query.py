"""Read the search syntax people type into a structure both backends compile.

Words, "exact phrases", -excluded words, OR between words, and filters: @username,
#board-slug, in:title, status:solved|unsolved, is:employee, is:wiki, before:/after:YYYY-MM-DD,
order:latest. Nothing here raises: an unknown filter or a broken piece is searched as plain
words, and `notes` says so, so the results page can tell the person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from forum.search.language import STOP_WORDS, normalise

_TOKEN = re.compile(r'[-+]?"[^"]*(?:"|$)|\S+')
_FILTER_TOKEN = re.compile(r'((?<!\S)[@#+-]?[@#]\S+|\S+:\S*|"[^"]*(?:"|$))')
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{1,30}$")
_DETAIL = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FILTER_NAMES = ("in", "is", "status", "before", "after", "order", "thread")
MAX_CLAUSES = 16  # longer queries are cut, so a pasted essay cannot make a slow query
MAX_TERMS = 32  # words and their alternatives (OR, synonyms) over all clauses
MAX_EXCLUDED = 12
MAX_DETAILS = 6  # problem-field filters (model:hub-4): each is a database query
DETAILS_NOTE = f"Only the first {MAX_DETAILS} field filters (like model:hub-4) were used."


@dataclass(frozen=True)
class Term:
    text: str
    phrase: bool = False
    weight: float = 1.0  # below 1 for a synonym: it matches, but counts less than the word typed


@dataclass
class Clause:
    """One typed word (or phrase) with its alternatives (OR, synonyms): matched by any of them."""

    terms: list[Term]
    required: bool = False

    def __iter__(self):  # noqa: ANN204
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)


@dataclass
class ParsedQuery:
    # A result matches at least one clause and every required one; more clauses rank higher.
    clauses: list[Clause] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    author: str | None = None
    board: str | None = None
    in_title: bool = False
    status: str | None = None  # "solved" | "unsolved"
    employee: bool = False
    wiki: bool = False
    before: date | None = None
    after: date | None = None
    order: str = "relevance"  # "relevance" | "latest"
    thread_id: int | None = None  # thread:ID, search inside one thread
    notes: list[str] = field(default_factory=list)
    # Problem details (issue #17): model:hub-4 pairs as typed, and the threads that have them
    # all (set by forum.known.search.resolve_details; None: no such filter).
    details: list[tuple[str, str]] = field(default_factory=list)
    thread_ids: frozenset[int] | None = None
    only_stop_words: bool = False  # words were typed, but all of them too common to search
    threads_only: bool = False  # not syntax: similar threads search threads' posts, no wiki pages

    @property
    def has_text(self) -> bool:
        return bool(self.clauses)

    @property
    def has_filters(self) -> bool:
        return any(
            (
                self.author,
                self.board,
                self.status,
                self.employee,
                self.wiki,
                self.before,
                self.after,
                self.thread_id,
                self.thread_ids is not None,
            )
        )

    @property
    def is_empty(self) -> bool:
        return not self.has_text and not self.has_filters

    def words(self) -> list[str]:
        """The typed (not excluded, not synonym) words, for "did you mean" and highlighting."""
        return [
            word
            for clause in self.clauses
            for term in clause
            if term.weight == 1.0
            for word in term.text.split()
        ]

    def all_words(self) -> list[str]:
        """Every word a result may have matched on, synonyms included (for highlighting)."""
        return [word for clause in self.clauses for term in clause for word in term.text.split()]


def _clean_word(word: str) -> str:
    # Keep letters, digits and inner punctuation people search for (wi-fi, 5.0, c++).
    return word.strip("\"'()[]{}<>,;!?*").strip()


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _normalised(text: str) -> str:
    """Spelling variants joined ("wi fi" is "wifi"), filters and phrases left as typed."""
    pieces = _FILTER_TOKEN.split(text)
    return "".join(piece if index % 2 else normalise(piece) for index, piece in enumerate(pieces))


def _is_stop_term(term: Term) -> bool:
    return all(word.lower() in STOP_WORDS for word in re.findall(r"\w+", term.text))


def parse(text: str) -> ParsedQuery:
    """Parse what a person typed; never raises."""
    query = ParsedQuery()
    pending_or = False
    typed_words = False
    terms = 0
    for raw in _TOKEN.findall(_normalised(text or "")):
        negated = raw.startswith("-") and len(raw) > 1
        required = raw.startswith("+") and len(raw) > 1
        body = raw[1:] if negated or required else raw
        if body.startswith('"'):
            if not body.endswith('"') or len(body) == 1:
                query.notes.append("A quotation mark was not closed, so the phrase runs to the end.")
            words = " ".join(_clean_word(w) for w in normalise(body.strip('"')).split())
            term = Term(words.strip(), phrase=len(words.split()) > 1) if words.strip() else None
            required = True
        else:
            if not negated and body == "OR":
                pending_or = bool(query.clauses)
                continue
            if not negated and _apply_filter(query, body):
                pending_or = False
                continue
            if ":" in body and not negated and not body.startswith(("http:", "https:")):
                name = body.split(":", 1)[0]
                value = body.split(":", 1)[1]
                if _DETAIL.match(name) and value and name not in _FILTER_NAMES:
                    if len(query.details) < MAX_DETAILS:
                        query.details.append((name, value))  # checked against the boards' fields later
                    elif DETAILS_NOTE not in query.notes:
                        query.notes.append(DETAILS_NOTE)
                    pending_or = False
                    continue
                if name.isalpha() and name.lower() in _FILTER_NAMES:
                    query.notes.append(f"“{body}” is not a filter we know, so it was searched as words.")
                elif name.isalpha():
                    query.notes.append(
                        f"“{name}:” is not a filter we know, so “{body}” was searched as words."
                    )
                words = [_clean_word(w) for w in re.split(r"[:]+", body)]
                words = [w for w in words if w]
                term = Term(" ".join(words), phrase=len(words) > 1) if words else None
            else:
                word = _clean_word(body)
                term = Term(word) if word else None
        if term is None:
            pending_or = False
            continue
        typed_words = True
        if not negated and not required and not term.phrase and _is_stop_term(term):
            pending_or = pending_or and bool(query.clauses)  # "wifi OR the router" keeps the OR
            continue  # "the", "my", "keeps": too common to decide anything
        if negated:
            if len(query.excluded) < MAX_EXCLUDED:
                query.excluded.append(term)
        elif terms >= MAX_TERMS or (not pending_or and len(query.clauses) >= MAX_CLAUSES):
            if not any(note.startswith("Only the first") for note in query.notes):
                query.notes.append(f"Only the first {terms} words were used.")
        elif pending_or and query.clauses:
            query.clauses[-1].terms.append(term)
            query.clauses[-1].required = query.clauses[-1].required and required
            terms += 1
        else:
            query.clauses.append(Clause([term], required=required))
            terms += 1
        pending_or = False
    if typed_words and not query.clauses and not query.excluded:
        query.only_stop_words = True
    return query


def loosened(query: ParsedQuery) -> ParsedQuery | None:
    """The query with nothing required: phrases become their words, `+word` a plain word.

    For a question pasted with quotes in it ('"Stack Artifact" in my bike shop?'): when
    nothing has every required part, results with some of the words beat no results. None
    when nothing was required (loosening would change nothing).
    """
    if not any(clause.required for clause in query.clauses):
        return None
    clauses: list[Clause] = []
    for clause in query.clauses:
        if not clause.required:
            clauses.append(clause)
            continue
        for term in clause.terms:
            words = term.text.split() if term.phrase else [term.text]
            for word in words:
                candidate = Term(word, weight=term.weight)
                if not _is_stop_term(candidate) and len(clauses) < MAX_CLAUSES:
                    clauses.append(Clause([candidate]))
    if not clauses:
        return None
    return replace(query, clauses=clauses, notes=list(query.notes))


def _apply_filter(query: ParsedQuery, token: str) -> bool:
    """Apply a filter token; False if it is not one (it is then searched as words)."""
    lower = token.lower()
    if token.startswith("@") and _USERNAME.match(token[1:]):
        query.author = token[1:].lower()
        return True
    if token.startswith("#") and _SLUG.match(lower[1:]):
        query.board = lower[1:]
        return True
    if lower == "in:title":
        query.in_title = True
        return True
    if lower in ("status:solved", "status:unsolved"):
        query.status = lower.split(":")[1]
        return True
    if lower == "is:employee":
        query.employee = True
        return True
    if lower == "is:wiki":
        query.wiki = True
        return True
    if lower.startswith("thread:") and lower[7:].isdigit() and len(lower) < 20:
        query.thread_id = int(lower[7:])
        return True
    if lower in ("order:latest", "order:relevance"):
        query.order = lower.split(":")[1]
        return True
    if lower.startswith(("before:", "after:")):
        name, value = lower.split(":", 1)
        moment = _parse_date(value)
        if moment is None:
            query.notes.append(f"“{token}” needs a date like {name}:2024-01-31, so it was left out.")
            return True
        setattr(query, name, moment)
        return True
    return False
