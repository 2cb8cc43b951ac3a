#!/usr/bin/env python3
"""Does a page cost more on a bigger forum, or in this version? Two servers side by side.

The shared machine's speed drifts (the same page measured 1.6 and 3.3 ms of CPU half an hour
apart), so figures from separate `bench/run.py` runs cannot show whether a page's cost grows.
This serves two databases with gunicorn at once and alternates the wrk runs, A, B, A, B, ...,
page by page, so both meet the same drift. It prints the CPU per request of each and B / A.

    bench/compare_sizes.py                        # S and L of this code (`make bench-compare`)
    bench/compare_sizes.py --against ../old-tree  # L served by an older checkout (A) and by this one (B)

For --against, the older tree must have imported L itself (`bench/run.py --size L --no-load`
run there, with PYTHONPATH set to it): its schema is its own.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (  # noqa: E402 (the repository root is put on the path first)
    DATA,
    ROOT,
    check_wrk,
    cpu_seconds,
    log,
    login_cookie,
    pick_urls,
    run_wrk,
    start_gunicorn,
)


def serve(instance: Path, code: Path) -> tuple[subprocess.Popen, str, list[int], str]:
    """gunicorn on an imported database, with `code`'s forum: (process, base URL, worker pids, member cookie)."""
    env = dict(
        os.environ, FORUM_INSTANCE_PATH=str(instance), FORUM_DATABASE_URL=f"sqlite:///{instance / 'forum.db'}"
    )
    server, base, workers = start_gunicorn(env, code)
    return server, base, workers, login_cookie(base)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="wrk runs per page and size (medians are reported)"
    )
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--against", type=Path, help="an older source tree: compare its L with this code's L")
    args = parser.parse_args()
    wrk = check_wrk()
    if args.against:
        sides = {
            "old": (args.against.resolve(), args.against.resolve() / "bench" / "data" / "L"),
            "new": (ROOT, DATA / "L"),
        }
    else:
        sides = {"S": (ROOT, DATA / "S"), "L": (ROOT, DATA / "L")}
    urls = {}
    for side, (_code, instance) in sides.items():
        env = {"FORUM_DATABASE_URL": f"sqlite:///{instance / 'forum.db'}"}
        if not (instance / "forum.db").exists():
            raise SystemExit(f"No database at {instance}: run `bench/run.py` for it first.")
        urls[side] = {name.split(" (")[0]: path for name, path in pick_urls(env).items()}
    servers = {side: serve(instance, code) for side, (code, instance) in sides.items()}
    first, second = sides
    try:
        log(
            f"{'page':<28} {'who':<9} {first + ' CPU ms':>11} {second + ' CPU ms':>11} {second + ' / ' + first:>9}"
        )
        for page in urls[first]:
            for who in ("anonymous", "member"):
                samples: dict[str, list[float]] = {first: [], second: []}
                for size in sides:  # warm-up
                    _server, base, _workers, cookie = servers[size]
                    run_wrk(
                        wrk, base + urls[size][page], 1, args.connections, cookie if who == "member" else None
                    )
                for _ in range(args.runs):
                    for size in sides:
                        _server, base, workers, cookie = servers[size]
                        before = cpu_seconds(workers)
                        sample = run_wrk(wrk, base + urls[size][page], args.duration, args.connections,
                                         cookie if who == "member" else None)  # fmt: skip
                        samples[size].append(
                            (cpu_seconds(workers) - before) * 1000 / max(1, sample["requests"])
                        )
                a, b = statistics.median(samples[first]), statistics.median(samples[second])
                log(f"{page:<28} {who:<9} {a:11.2f} {b:11.2f} {b / a:9.2f}")
    finally:
        for server, *_rest in servers.values():
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
