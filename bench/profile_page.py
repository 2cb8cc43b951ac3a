#!/usr/bin/env python3
"""Profile one page with pyinstrument: `.venv/bin/python bench/profile_page.py --size S /b/broadband`.

Uses the database imported by `bench/run.py --size S|L`; renders the page --repeat times in
process (anonymous, or logged in as the bench user with --member) and prints the profile.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--size", default="S")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--member", action="store_true")
    args = parser.parse_args()
    instance = ROOT / "bench" / "data" / args.size
    os.environ.update(
        FORUM_INSTANCE_PATH=str(instance), FORUM_DATABASE_URL=f"sqlite:///{instance / 'forum.db'}"
    )
    sys.path.insert(0, str(ROOT))
    from pyinstrument import Profiler

    from forum import create_app

    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    if args.member:
        from bench.run import BENCH_PASSWORD, BENCH_USER

        client.post("/login", data={"login": BENCH_USER, "password": BENCH_PASSWORD})
    assert client.get(args.url).status_code == 200
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.repeat):
        client.get(args.url)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
