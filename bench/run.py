#!/usr/bin/env python3
"""Roundabout benchmark: import a generated corpus, then load-test pages under gunicorn.

    .venv/bin/python bench/run.py --size S        # make bench
    .venv/bin/python bench/run.py --size L        # make bench-l (about 200,000 posts)
    .venv/bin/python bench/run.py --size L --postgres    # make bench-pg-l (PostgreSQL, its search backend)
    .venv/bin/python bench/run.py --size XL --postgres   # make bench-pg-xl (10xL: about 2,000,000 posts)

Steps, each printed as it runs:
1. generate the corpus with bench/make_corpus.py into bench/data/ (once; reused after);
2. import it into a new SQLite database (or, with --postgres, a new PostgreSQL database
   roundabout_bench_<size> and the PostgreSQL search backend) with `flask exchange import`
   (timed, peak RSS), then build the search index with each command in INDEX_COMMANDS
   that this forum has (timed separately; none yet is skipped, saying so);
3. count the SQL queries of each page (in process, anonymous and logged in);
4. start gunicorn (2 sync workers) on 127.0.0.1 and run wrk against each page, anonymous
   and logged in: requests/s, p50/p90/p99 latency, and the workers' CPU time per request
   (from /proc before and after each run);
5. time every query form of SEARCH_QUERIES over HTTP, one at a time (p50 and p95 of the
   server's answer, each query --search-repeats times);
6. print a table of medians over --runs runs and write it to bench/results/.

The machine is shared: keep --runs and --duration small; one S run takes about a minute.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
SIZES = {
    "S": ["--users", "2000", "--threads", "2000", "--wiki-pages", "50"],
    "L": ["--users", "10000", "--threads", "20000", "--wiki-pages", "200"],
    "XL": ["--users", "100000", "--threads", "200000", "--wiki-pages", "2000"],  # 10xL, for PostgreSQL
}
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432")
# Search-index builders, tried in order once the database is imported: (name, flask args).
# A command this forum does not have is skipped, so the step lights up when search lands.
INDEX_COMMANDS = [("search index", ["search", "reindex"])]
BENCH_USER, BENCH_PASSWORD = "bench_user", "bench-password-long-enough-1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(message, flush=True)


def flask(
    env: dict[str, str], *args: str, check: bool = True, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "flask"), "--app", "forum", *args], env=env, check=check, text=True,
                          capture_output=capture)  # fmt: skip


def timed_child(command: list[str], env: dict[str, str]) -> tuple[float, float, int, int]:
    """Run a command; (wall seconds, CPU seconds, peak RSS in kB, exit status) of that process alone."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        sys.stderr.write(process.stderr.read().decode() if process.stderr else "")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def ensure_corpus(size: str) -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"corpus-{size}.jsonl"
    if not path.exists():
        log(f"Generating corpus {size} into {path} ...")
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_corpus.py"), *SIZES[size], "--out", str(path)],
                       check=True, capture_output=True)  # fmt: skip
    return path


def _postgres_database(name: str, *, create: bool) -> bool:
    """Whether the database exists (created anew, dropping an old one, when `create`)."""
    import psycopg

    with psycopg.connect(POSTGRES_SERVER.replace("+psycopg", "") + "/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None
        if create:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
            return True
    return exists


def prepare_database(
    size: str, corpus: Path, reuse: bool, postgres: bool = False
) -> tuple[dict[str, str], dict[str, object]]:
    instance = DATA / (f"{size}-pg" if postgres else size)
    database = f"roundabout_bench_{size.lower()}"
    url = f"{POSTGRES_SERVER}/{database}" if postgres else f"sqlite:///{instance / 'forum.db'}"
    env = dict(os.environ, FORUM_INSTANCE_PATH=str(instance), FORUM_DATABASE_URL=url)
    if postgres:
        env["FORUM_SEARCH_BACKEND"] = "postgres"
    figures: dict[str, object] = {}
    if reuse and (
        _postgres_database(database, create=False) if postgres else (instance / "forum.db").exists()
    ):
        log(f"Reusing {url} (--reuse): import not timed.")
        return env, figures
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    if postgres:
        _postgres_database(database, create=True)
    flask(env, "db", "upgrade")
    log(f"Importing {corpus.name} ({corpus.stat().st_size / 1e6:.0f} MB) ...")
    command = [str(BIN / "flask"), "--app", "forum", "exchange", "import", str(corpus)]
    # The database alone (README: a big import with the drain off, then `flask search reindex`,
    # timed below); with the drain on, the import would build the index too and reindex again.
    seconds, cpu, peak_kb, status = timed_child(command, dict(env, FORUM_SEARCH_DRAIN_AFTER_COMMIT="false"))
    if status != 0:
        raise SystemExit("import failed")
    figures.update(
        import_db_s=round(seconds, 1), import_db_cpu_s=round(cpu, 1), import_peak_rss_mb=round(peak_kb / 1024)
    )
    log(f"  database import: {seconds:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak_kb / 1024:.0f} MB")
    for name, args in INDEX_COMMANDS:
        if flask(env, *args, "--help", check=False).returncode != 0:
            log(f"  {name}: skipped (this forum has no `flask {' '.join(args)}` yet)")
            figures[f"{name.replace(' ', '_')}_s"] = None
            continue
        seconds, cpu, peak_kb, status = timed_child([str(BIN / "flask"), "--app", "forum", *args], env)
        figures[f"{name.replace(' ', '_')}_s"] = round(seconds, 1) if status == 0 else "failed"
        figures[f"{name.replace(' ', '_')}_cpu_s"] = round(cpu, 1) if status == 0 else "failed"
        log(f"  {name}: {seconds:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak_kb / 1024:.0f} MB")
    create_user = (
        "from forum import create_app\nfrom forum.auth import services\nfrom forum.extensions import db\n"
        "app = create_app()\nwith app.app_context():\n"
        f"    services.register_user({BENCH_USER!r}, 'bench@example.org', {BENCH_PASSWORD!r})\n"
        "    db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", create_user], env=env, check=True)
    return env, figures


def pick_urls(env: dict[str, str]) -> dict[str, str]:
    """The pages to measure: /, the first board, a thread of about 50 posts, the last page of a long one."""
    from sqlalchemy import create_engine, text

    engine = create_engine(env["FORUM_DATABASE_URL"])
    with engine.connect() as connection:
        board = connection.execute(text("SELECT slug FROM boards ORDER BY position, id LIMIT 1")).scalar_one()
        thread_id, slug = connection.execute(
            text(
                "SELECT id, slug FROM threads WHERE deleted_at IS NULL ORDER BY abs(post_count - 50), id LIMIT 1"
            )
        ).one()
        # The longest thread whose last page is full (20 posts), so S and L render the same amount.
        long_id, long_slug, posts = connection.execute(
            text(
                "SELECT id, slug, post_count FROM threads WHERE deleted_at IS NULL "
                "ORDER BY post_count % 20 = 0 DESC, post_count DESC, id LIMIT 1"
            )
        ).one()
    engine.dispose()
    last_page = max(1, -(-posts // 20))
    urls = {
        "/": "/",
        "board": f"/b/{board}",
        "thread (50 posts)": f"/t/{thread_id}/{slug}",
        f"long thread, last page ({posts} posts)": f"/t/{long_id}/{long_slug}?page={last_page}",
    }
    # Measured once the forum has search (another feature); dropped when /search is not found.
    urls["search (many hits)"] = "/search?q=router"
    return urls


OPTIONAL_URLS = ("search (many hits)",)


def count_queries(env: dict[str, str], urls: dict[str, str]) -> dict[str, dict[str, int]]:
    """SQL statements per page, anonymous and logged in, on a warm app (in process)."""
    script = f"""
import json, sys
from sqlalchemy import event
from forum import create_app
from forum.extensions import db
app = create_app({{"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}})
urls = json.loads(sys.argv[1])
counts = {{}}
with app.app_context():
    engine = db.engine
statements = []
# Only the request's own statements: the in-process job runner (a thread) runs its jobs meanwhile.
import threading
request_thread = threading.get_ident()
event.listen(engine, "before_cursor_execute",
             lambda *a: threading.get_ident() == request_thread and statements.append(a[2]))
for who in ("anonymous", "member"):
    client = app.test_client()
    if who == "member":
        assert client.post("/login", data={{"login": {BENCH_USER!r}, "password": {BENCH_PASSWORD!r}}}).status_code == 302
    for name, url in urls.items():
        client.get(url)
        statements.clear()
        status = client.get(url).status_code
        if status == 404 and name in {OPTIONAL_URLS!r}:
            continue
        assert status == 200, (url, status)
        counts.setdefault(name, {{}})[who] = len(statements)
print(json.dumps(counts))
"""
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(urls)], env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / CLOCK_TICKS


def login_cookie(base: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    data = urllib.parse.urlencode(
        {"csrf_token": token, "login": BENCH_USER, "password": BENCH_PASSWORD}
    ).encode()
    opener.open(f"{base}/login", data=data).read()
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def check_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("Installing wrk from Debian (apt-get install wrk) ...")
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
        wrk = shutil.which("wrk")
    if not wrk:
        raise SystemExit("wrk is needed: sudo apt-get install wrk")
    return wrk


def run_wrk(wrk: str, url: str, seconds: int, connections: int, cookie: str | None) -> dict[str, float]:
    command = [wrk, "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw error responses for {url}:\n{out}")
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]

    def percentile(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {
        "requests": requests,
        "rps": rps,
        "p50": percentile("50"),
        "p90": percentile("90"),
        "p99": percentile("99"),
    }


def start_gunicorn(env: dict[str, str], code: Path = ROOT) -> tuple[subprocess.Popen, str, list[int]]:
    """gunicorn with 2 sync workers on a free port, once it answers: (process, base URL, worker pids).

    `code`: the source tree to serve (bench/compare_sizes.py --against serves an older one)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "forum:create_app()"],
        env=dict(env, FORUM_RATELIMIT_ENABLED="false", PYTHONPATH=str(code)), cwd=code,
    )  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/").read()
            break
        except OSError:
            time.sleep(0.2)
    return server, base, worker_pids(server.pid)


def load_test(
    env: dict[str, str], urls: dict[str, str], runs: int, seconds: int, connections: int
) -> dict[str, dict[str, dict[str, float]]]:
    wrk = check_wrk()
    server, base, workers = start_gunicorn(env)
    try:
        cookie = login_cookie(base)
        results: dict[str, dict[str, dict[str, float]]] = {}
        for name, path in urls.items():
            for who, who_cookie in (("anonymous", None), ("member", cookie)):
                run_wrk(wrk, base + path, 1, connections, who_cookie)  # warm-up
                samples = []
                for _ in range(runs):
                    before = cpu_seconds(workers)
                    sample = run_wrk(wrk, base + path, seconds, connections, who_cookie)
                    sample["cpu_ms"] = (cpu_seconds(workers) - before) * 1000 / max(1, sample["requests"])
                    samples.append(sample)
                median = {
                    key: statistics.median(s[key] for s in samples)
                    for key in ("rps", "p50", "p90", "p99", "cpu_ms")
                }
                results.setdefault(name, {})[who] = median
                log(f"  {name:<40} {who:<9} {median['rps']:7.0f} req/s  p50 {median['p50']:6.1f} ms  "
                    f"p90 {median['p90']:6.1f} ms  p99 {median['p99']:6.1f} ms  CPU {median['cpu_ms']:5.1f} ms/req")  # fmt: skip
        return results
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


# Every query form, with few and many hits (the same as bench/search_bench.py).
SEARCH_QUERIES = [
    "refund", "router orange light", "engineer visit", "broadband", "price rise bill", "wifi OR mesh",
    "speed test order:latest", "#billing refund", "status:solved router", '"powerline adapter"',
    "ERR_PPP_AUTH", "HDCP-06 recorder", "cordless handset power cut", "aberdeen broadband problems",
    "roaming signal -indoors", "voicemail pin in:title", "rooter", "after:2022-01-01 before:2022-02-01 outage",
    "why does my router keep dropping the wifi every evening",
]  # fmt: skip


def search_latency(env: dict[str, str], repeats: int) -> dict[str, object]:
    """Each query over HTTP, one at a time, after one unmeasured run: the server's answer time
    (loopback adds well under a millisecond), p50 and p95 over all, and each query's median."""
    server, base, _workers = start_gunicorn(env)
    try:
        timings: dict[str, list[float]] = {}
        for query in SEARCH_QUERIES:
            url = f"{base}/search?" + urllib.parse.urlencode({"q": query})
            urllib.request.urlopen(url).read()
            for _ in range(repeats):
                started = time.perf_counter()
                urllib.request.urlopen(url).read()
                timings.setdefault(query, []).append((time.perf_counter() - started) * 1000)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    every = sorted(t for values in timings.values() for t in values)
    figures = {
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(every[min(len(every) - 1, round(0.95 * (len(every) - 1)))], 1),
        "max_ms": round(every[-1], 1),
        "per_query_median_ms": {
            query: round(statistics.median(values), 1) for query, values in timings.items()
        },
        "load": round(os.getloadavg()[0], 1),
    }
    log(f"  search: p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms "
        f"over {len(every)} searches (load {figures['load']})")  # fmt: skip
    for query, value in figures["per_query_median_ms"].items():  # type: ignore[union-attr]
        log(f"    {value:7.1f} ms  {query}")
    return figures


def machine_speed() -> float:
    """CPU seconds of a fixed pure-Python loop (median of 5): the shared machine's speed varied
    by up to 1.5x within one afternoon, so each report says how fast it was during the run."""
    timings = []
    for _ in range(5):
        started = time.process_time()
        total = 0
        for number in range(2_000_000):
            total += number * number % 7
        timings.append(time.process_time() - started)
    return round(statistics.median(timings), 3)


def machine(database: str = "SQLite") -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return (
        f"{platform.node()}: {model}, {os.cpu_count()} cores, Python {platform.python_version()}, {database}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per page (the median is reported)")
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="reuse the imported database of an earlier run")
    parser.add_argument("--no-load", action="store_true", help="import and count queries only")
    parser.add_argument(
        "--postgres", action="store_true", help="PostgreSQL and its search backend (BENCH_POSTGRES)"
    )
    parser.add_argument("--search-repeats", type=int, default=5, help="times each search query is timed")
    args = parser.parse_args()

    started = datetime.now(UTC)
    corpus = ensure_corpus(args.size)
    env, figures = prepare_database(args.size, corpus, args.reuse, args.postgres)
    urls = pick_urls(env)
    queries = count_queries(env, urls)
    for name in OPTIONAL_URLS:
        if name not in queries:
            log(f"  {name}: skipped ({urls.pop(name)} is not found: this forum has no search yet)")
    for name, counts in queries.items():
        log(f"  SQL queries  {name:<40} anonymous {counts['anonymous']:>2}  member {counts['member']:>2}")
    speed_before = machine_speed()
    pages = {} if args.no_load else load_test(env, urls, args.runs, args.duration, args.connections)
    search = {} if args.no_load else search_latency(env, args.search_repeats)
    speed = round(statistics.median([speed_before, machine_speed()]), 3)
    log(f"Machine speed: the reference loop took {speed:.3f} s of CPU (lower is faster)")
    database = "PostgreSQL" if args.postgres else "SQLite"
    report = {"size": args.size, "date": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(database),
              "reference_loop_s": speed,
              "import": figures, "urls": urls, "queries": queries, "pages": pages, "search": search,
              "settings": {"runs": args.runs, "duration_s": args.duration, "connections": args.connections}}  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.size}{'-pg' if args.postgres else ''}-{started.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=2))
    log(f"\nSize {args.size}, {report['date']}, {report['machine']}")
    if figures:
        log(f"Import: {figures}")
    log(f"{'page':<40} {'who':<9} {'req/s':>7} {'p50':>7} {'p90':>7} {'p99':>7} {'CPU ms':>7} {'SQL':>4}")
    for name, by_who in pages.items():
        for who, m in by_who.items():
            log(f"{name:<40} {who:<9} {m['rps']:7.0f} {m['p50']:7.1f} {m['p90']:7.1f} {m['p99']:7.1f} "
                f"{m['cpu_ms']:7.2f} {queries[name][who]:>4}")  # fmt: skip
    if search:
        log(
            f"search, {len(SEARCH_QUERIES)} query forms: p50 {search['p50_ms']} ms, p95 {search['p95_ms']} ms"
        )
    log(f"Written to {out}")


if __name__ == "__main__":
    main()
