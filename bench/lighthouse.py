"""Lighthouse scores of the index, a long thread and search results, desktop and mobile (issue 16).

    make lighthouse                       # installs Lighthouse 12.2 from npm (bench/lighthouse), runs this
    .venv/bin/python bench/lighthouse.py [--runs 3] [--out bench/results/lighthouse]

Builds the sample forum (the demo plus a 25-post thread; tests/e2e/page_types.py), serves it
with gunicorn (2 workers, as in production, behind no proxy: the app compresses) and runs
Lighthouse with Debian's Chromium for each page and form factor. Prints the median of each
category over the runs; the targets are 100 for accessibility, best practices and SEO and at
least 95 for performance. Lighthouse's simulated throttling is used (its default): scores
still move with the machine's load, so the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.page_types import build_sample, sample_app  # noqa: E402

LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "bench/results/lighthouse"))
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        sys.exit(f"no Lighthouse at {LIGHTHOUSE}: run `make lighthouse` (npm install in bench/lighthouse)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    instance = tempfile.mkdtemp(prefix="roundabout-lighthouse-")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = sample_app(instance, BASE_URL=base)
    sample = build_sample(app)
    env = {
        **os.environ,
        "FORUM_INSTANCE_PATH": instance,
        "FORUM_DATABASE_URL": f"sqlite:///{instance}/forum.db",
        "FORUM_SECRET_KEY": "lighthouse-secret-key-long-enough-for-every-check",
        "FORUM_BASE_URL": base,
        "FORUM_COMPANY_NAME": "Example Telecom",
        "FORUM_RATELIMIT_ENABLED": "false",
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        pages = {"index": "/", "long thread": sample["long_thread_url"], "search": "/search?q=wifi+channel"}
        print(f"Lighthouse 12.2 on {base}, {args.runs} runs each; load average {os.getloadavg()}")
        print(f"{'page':<12} {'form':<8} " + " ".join(f"{c:>15}" for c in CATEGORIES))
        rows = []
        for name, path in pages.items():
            for form_factor in ("desktop", "mobile"):
                scores: dict[str, list[int]] = {category: [] for category in CATEGORIES}
                for run in range(args.runs):
                    report = out / f"{name.replace(' ', '-')}-{form_factor}-{run}.json"
                    command = [
                        str(LIGHTHOUSE),
                        base + path,
                        "--quiet",
                        f"--chrome-flags={CHROME_FLAGS}",
                        "--output=json",
                        f"--output-path={report}",
                        "--only-categories=" + ",".join(CATEGORIES),
                    ]
                    if form_factor == "desktop":
                        command.append("--preset=desktop")
                    subprocess.run(
                        command, env={**os.environ, "CHROME_PATH": "/usr/bin/chromium"}, check=True
                    )
                    result = json.loads(report.read_text())
                    for category in CATEGORIES:
                        scores[category].append(round(result["categories"][category]["score"] * 100))
                    failing = [
                        audit["id"]
                        for audit in result["audits"].values()
                        if audit.get("score") is not None
                        and audit["score"] < 1
                        and audit.get("scoreDisplayMode") == "binary"
                    ]
                    if failing and run == 0:
                        print(f"  {name} {form_factor}: audits below 1: {', '.join(failing)}")
                medians = {category: statistics.median(values) for category, values in scores.items()}
                rows.append((name, form_factor, medians))
                print(
                    f"{name:<12} {form_factor:<8} " + " ".join(f"{medians[c]:>15g}" for c in CATEGORIES),
                    flush=True,
                )
        missed = [
            f"{name} {form}: {category} {score:g} < {TARGETS[category]}"
            for name, form, medians in rows
            for category, score in medians.items()
            if score < TARGETS[category]
        ]
        print(f"load average after: {os.getloadavg()}")
        print("every target met" if not missed else "targets missed: " + "; ".join(missed))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
        shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    main()
