"""CPU per page, in process, on the sample forum: compare two checkouts (issue 16's budget).

    .venv/bin/python bench/page_cpu.py [--tree PATH] [--repeat 200]

Imports `forum` from --tree (default: this checkout), builds the sample forum of
tests/e2e/page_types.py, renders each page --repeat times through the test client
(anonymous, and as a member where that differs) and prints the median CPU time per request
of 5 batches. Run it for an older checkout (`git worktree add /tmp/old <commit>`, copying
tests/e2e/page_types.py there) and for this one, one after the other, to compare.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

PAGES = ["/", "/b/phone", "{long_thread_url}", "{long_thread_url}?page=2", "/search?q=wifi+channel", "/wiki"]


def log_in(client: object, username: str, password: str) -> None:
    """Log in through the form with its CSRF token: without one the login is refused (400) and
    the member's rows measured a visitor's pages."""
    form = client.get("/login").get_data(as_text=True)  # type: ignore[attr-defined]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    data = {"login": username, "password": password, "csrf_token": token.group(1) if token else ""}
    response = client.post("/login", data=data)  # type: ignore[attr-defined]
    assert response.status_code in (302, 303), f"login as {username}: {response.status_code}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parent.parent))
    parser.add_argument("--repeat", type=int, default=100)
    args = parser.parse_args()
    sys.path.insert(0, args.tree)
    import logging

    logging.disable(logging.INFO)
    from tests.e2e.page_types import build_sample, sample_app

    instance = tempfile.mkdtemp(prefix="roundabout-cpu-")
    os.environ["FORUM_INSTANCE_PATH"] = instance
    app = sample_app(instance, JOBS_MODE="inline")
    sample = build_sample(app)
    for who in ("anonymous", "member"):
        client = app.test_client()
        if who == "member":
            log_in(client, "maria", sample["passwords"]["maria"])
        for template in PAGES:
            path = template.format(**sample)
            assert client.get(path).status_code == 200, path
            batches = []
            for _ in range(5):
                start = time.process_time()
                for _ in range(args.repeat // 5):
                    client.get(path).close()
                batches.append((time.process_time() - start) / (args.repeat // 5) * 1000)
            print(f"{who:<10} {path[:60]:<60} {statistics.median(batches):7.2f} ms", flush=True)


if __name__ == "__main__":
    main()
