"""Search benchmark: bulk index throughput, query latency, time until a new post is found.

    .venv/bin/python bench/search_bench.py --size s            # 2,000 threads / ~20,000 posts
    .venv/bin/python bench/search_bench.py --size l --index-runs 1   # 20,000 threads / ~200,000 posts
    .venv/bin/python bench/search_bench.py --size s --database postgresql+psycopg://postgres@127.0.0.1/bench --backend postgres

The corpus comes from ../shared/corpus/make_corpus.py (generated once into --workdir) and is
loaded with bench/load_corpus.py. Query latency is the server time of GET /search through
the WSGI app (rendering included, no network), over a fixed set of queries with few and
many hits. Each figure is reported per run and as the median of the runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {
    "s": ["--users", "2000", "--threads", "2000", "--wiki-pages", "50"],
    "l": ["--users", "10000", "--threads", "20000", "--wiki-pages", "200"],
}
QUERIES = [
    # many hits
    "refund",
    "router orange light",
    "engineer visit",
    "broadband",
    "price rise bill",
    "wifi OR mesh",
    "speed test order:latest",
    "#billing refund",
    "status:solved router",
    # few hits
    '"powerline adapter"',
    "ERR_PPP_AUTH",
    "HDCP-06 recorder",
    "cordless handset power cut",
    "aberdeen broadband problems",
    "roaming signal -indoors",
    "voicemail pin in:title",
    "rooter",  # a typo: "did you mean"
    "after:2022-01-01 before:2022-02-01 outage",
]
CORPUS_SCRIPT = ROOT.parent / "shared" / "corpus" / "make_corpus.py"


def _cpu_with_children() -> float:
    """This process's CPU plus its finished children's (the index builder's processes)."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=SIZES, default="s")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "roundabout-search-bench"))
    parser.add_argument("--database", help="SQLAlchemy URL of an EMPTY database (default: a new SQLite file)")
    parser.add_argument("--backend", choices=("whoosh", "postgres"), default="whoosh")
    parser.add_argument("--index-runs", type=int, default=3)
    parser.add_argument("--query-runs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5, help="times each query is run per query run")
    parser.add_argument("--new-post-trials", type=int, default=10)
    args = parser.parse_args()

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = workdir / f"corpus-{args.size}.jsonl"
    if not corpus.exists():
        print(f"Generating {corpus} ...", flush=True)
        subprocess.run(
            [sys.executable, str(CORPUS_SCRIPT), *SIZES[args.size], "--out", str(corpus)], check=True
        )

    from forum import create_app
    from forum.extensions import db

    run_dir = Path(tempfile.mkdtemp(prefix=f"bench-{args.size}-", dir=workdir))
    database = args.database or f"sqlite:///{run_dir / 'forum.db'}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database,
            "INSTANCE_PATH": str(run_dir / "instance"),
            "SEARCH_INDEX_DIR": str(run_dir / "search-index"),
            "SEARCH_BACKEND": args.backend,
            "SECRET_KEY": "benchmark-secret-key-that-is-long-enough-to-pass",
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
            # The poster of step 3 is a new account: let it post at once, unreviewed.
            "NEW_ACCOUNT_HOURS": 0,
            "NEW_ACCOUNT_POSTS": 0,
            "NEW_ACCOUNT_REPLY_INTERVAL": 0,
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "ARGON2_PARALLELISM": 1,
        }
    )
    from bench.load_corpus import load
    from forum.search import services

    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        with db.engine.begin() as connection:
            counts = load(connection, corpus)
        print(f"Loaded {counts} in {time.perf_counter() - started:.1f}s", flush=True)

        # 1. Bulk indexing: a full rebuild, as `flask search reindex` does it.
        rates, cpu_rates = [], []
        for run in range(args.index_runs):
            started, cpu_started = time.perf_counter(), _cpu_with_children()
            documents = services.reindex(lambda done: None)
            spent, cpu = time.perf_counter() - started, _cpu_with_children() - cpu_started
            rates.append(documents / spent)
            cpu_rates.append(documents / cpu)
            print(
                f"index run {run + 1}: {documents} documents in {spent:.1f}s = {documents / spent:,.0f} docs/s "
                f"({cpu:.1f}s CPU = {documents / cpu:,.0f} docs per CPU second; load {os.getloadavg()[0]:.1f})",
                flush=True,
            )

        # 2. Query latency through the app (server time, page rendering included).
        client = app.test_client()
        client.get("/search", query_string={"q": "opening"}).close()  # open the index
        cold = []
        for query in QUERIES:  # first time each query is seen (its words' posting lists not yet cached)
            cpu_started = time.process_time()
            client.get("/search", query_string={"q": query}).close()
            cold.append((time.process_time() - cpu_started) * 1000)
        print(
            f"first run of each query (CPU ms): p50 {percentile(cold, 0.5):.1f}, max {max(cold):.1f}",
            flush=True,
        )
        p50s, p95s, cpu_p95s = [], [], []
        for run in range(args.query_runs):
            timings, cpu_timings = [], []
            for _ in range(args.repeats):
                for query in QUERIES:
                    started, cpu_started = time.perf_counter(), time.process_time()
                    response = client.get("/search", query_string={"q": query})
                    timings.append((time.perf_counter() - started) * 1000)
                    cpu_timings.append((time.process_time() - cpu_started) * 1000)
                    assert response.status_code == 200, (query, response.status_code)
                    response.close()
            p50s.append(percentile(timings, 0.5))
            p95s.append(percentile(timings, 0.95))
            cpu_p95s.append(percentile(cpu_timings, 0.95))
            print(
                f"query run {run + 1}: p50 {p50s[-1]:.1f} ms, p95 {p95s[-1]:.1f} ms, max {max(timings):.1f} ms "
                f"over {len(timings)} (CPU p50 {percentile(cpu_timings, 0.5):.1f} ms, p95 {cpu_p95s[-1]:.1f} ms; "
                f"load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        slowest = {}
        for query in QUERIES:
            started = time.perf_counter()
            client.get("/search", query_string={"q": query}).close()
            slowest[query] = (time.perf_counter() - started) * 1000
        print("per query (ms): " + ", ".join(f"{q!r} {t:.0f}" for q, t in slowest.items()), flush=True)

        # 3. Time from saving a reply (HTTP POST) until a search finds it.
        from sqlalchemy import select

        from forum.auth import services as accounts
        from forum.boards.models import Thread

        accounts.register_user("benchposter", "benchposter@example.org", "correct horse battery staple")
        db.session.commit()
        client.post(
            "/login", data={"login": "benchposter", "password": "correct horse battery staple"}
        ).close()
        thread_id = db.session.scalar(select(Thread.id).order_by(Thread.id.desc()).limit(1))
        delays = []
        for trial in range(args.new_post_trials):
            word = f"zqxbench{trial}word"
            started = time.perf_counter()
            response = client.post(f"/t/{thread_id}/reply", data={"body": f"Fresh reply {word}."})
            assert response.status_code == 302, response.status_code
            response.close()  # the drain runs here, after the response, as under a real server
            while True:
                page = client.get("/search", query_string={"q": word})
                found = b"1 result for" in page.data
                page.close()
                if found or time.perf_counter() - started > 10:
                    break
            delays.append((time.perf_counter() - started) * 1000)
        print(f"new post searchable after (ms): {', '.join(f'{d:.0f}' for d in delays)}", flush=True)

    print()
    print(f"== size {args.size}: {counts['thread']} threads, {counts['post'] + counts['thread']} posts, "
          f"backend {args.backend}, database {database.split(':')[0]}")  # fmt: skip
    print(
        f"bulk indexing (median of {len(rates)}): {statistics.median(rates):,.0f} posts/s wall, "
        f"{statistics.median(cpu_rates):,.0f} posts per CPU second"
    )
    print(
        f"query latency (median of {len(p50s)} runs): p50 {statistics.median(p50s):.1f} ms, p95 {statistics.median(p95s):.1f} ms"
    )
    print(
        f"new post searchable (median of {len(delays)}): {statistics.median(delays):.0f} ms, max {max(delays):.0f} ms"
    )


if __name__ == "__main__":
    main()
