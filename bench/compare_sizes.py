#!/usr/bin/env python3
"""Does a page cost more on a bigger forum? S and L measured side by side: `make bench-compare`.

The shared machine's speed drifts (the same page measured 1.6 and 3.3 ms of CPU half an hour
apart), so S and L figures from separate `bench/run.py` runs cannot show whether a page's
cost grows with the forum. This serves both databases (imported by `bench/run.py --size S`
and `--size L`) with gunicorn at once and alternates the wrk runs, S, L, S, L, ..., page by
page, so both sizes meet the same drift. It prints the CPU per request of each and L / S.
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
    check_wrk,
    cpu_seconds,
    log,
    login_cookie,
    pick_urls,
    run_wrk,
    start_gunicorn,
)


def serve(size: str) -> tuple[subprocess.Popen, str, list[int], str]:
    """gunicorn on the imported database of `size`: (process, base URL, worker pids, member cookie)."""
    instance = DATA / size
    env = dict(
        os.environ, FORUM_INSTANCE_PATH=str(instance), FORUM_DATABASE_URL=f"sqlite:///{instance / 'forum.db'}"
    )
    server, base, workers = start_gunicorn(env)
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
    args = parser.parse_args()
    wrk = check_wrk()
    urls = {}
    for size in ("S", "L"):
        instance = DATA / size
        env = {"FORUM_DATABASE_URL": f"sqlite:///{instance / 'forum.db'}"}
        if not (instance / "forum.db").exists():
            raise SystemExit(f"No database for size {size}: run `bench/run.py --size {size}` first.")
        urls[size] = {name.split(" (")[0]: path for name, path in pick_urls(env).items()}
    servers = {size: serve(size) for size in ("S", "L")}
    try:
        log(f"{'page':<28} {'who':<9} {'S CPU ms':>9} {'L CPU ms':>9} {'L / S':>6}")
        for page in urls["S"]:
            for who in ("anonymous", "member"):
                samples: dict[str, list[float]] = {"S": [], "L": []}
                for size in ("S", "L"):  # warm-up
                    _server, base, _workers, cookie = servers[size]
                    run_wrk(
                        wrk, base + urls[size][page], 1, args.connections, cookie if who == "member" else None
                    )
                for _ in range(args.runs):
                    for size in ("S", "L"):
                        _server, base, workers, cookie = servers[size]
                        before = cpu_seconds(workers)
                        sample = run_wrk(wrk, base + urls[size][page], args.duration, args.connections,
                                         cookie if who == "member" else None)  # fmt: skip
                        samples[size].append(
                            (cpu_seconds(workers) - before) * 1000 / max(1, sample["requests"])
                        )
                small, large = statistics.median(samples["S"]), statistics.median(samples["L"])
                log(f"{page:<28} {who:<9} {small:9.2f} {large:9.2f} {large / small:6.2f}")
    finally:
        for server, *_rest in servers.values():
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
