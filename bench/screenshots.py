"""Screenshots of every page type, desktop and phone, light and dark (issue 16).

    .venv/bin/python bench/screenshots.py [--out DIR] [--only SUBSTRING] [--serve SECONDS]

Builds the sample forum (the demo plus a long thread, a flag, a sanction) in a temporary
instance, serves it on a free port and saves one full-page PNG per page type, viewport and
colour scheme (the first screen; --full for whole pages) into DIR (default bench/results/screenshots). `--serve` keeps the server up
afterwards, to look around by hand.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.page_types import (  # noqa: E402
    DESKTOP,
    PAGE_TYPES,
    PHONE,
    ROLE_USERS,
    SCHEMES,
    build_sample,
    log_in,
    sample_app,
    serve,
)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=str(ROOT / "bench/results/screenshots"))
    parser.add_argument("--only", default="", help="only page types whose label contains this")
    parser.add_argument("--serve", type=float, default=0, help="keep serving this many seconds")
    parser.add_argument("--viewports", default="desktop,phone")
    parser.add_argument("--full", action="store_true", help="whole pages, not the first screen")
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    instance = tempfile.mkdtemp(prefix="roundabout-shots-")
    os.environ["FORUM_INSTANCE_PATH"] = instance
    app = sample_app(instance)
    sample = build_sample(app)
    base, server = serve(app)
    print(f"serving the sample forum at {base}", flush=True)
    viewports = [v for v in (DESKTOP, PHONE) if v.name in args.viewports.split(",")]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for role in ("anonymous", "member", "moderator", "admin"):
            pages = [p for p in PAGE_TYPES if p.role == role and args.only in p.label]
            if not pages:
                continue
            for viewport in viewports:
                for scheme in args.schemes.split(","):
                    context = browser.new_context(
                        viewport={"width": viewport.width, "height": viewport.height},
                        is_mobile=viewport.mobile,
                        has_touch=viewport.mobile,
                        color_scheme=scheme,
                    )
                    page = context.new_page()
                    if role != "anonymous":
                        user = ROLE_USERS[role]
                        log_in(page, base, user, sample["passwords"][user])
                    for page_type in pages:
                        page.goto(base + page_type.path(sample))
                        # Lazy images (uploaded pictures in posts) load after the load event.
                        page.wait_for_load_state("networkidle")
                        name = f"{page_type.label}-{viewport.name}-{scheme}".replace("/", "_").replace(
                            " ", "_"
                        )
                        page.screenshot(path=str(out / f"{name}.png"), full_page=args.full)
                    context.close()
                    print(f"{role} {viewport.name} {scheme}: {len(pages)} pages", flush=True)
        browser.close()
    if args.serve:
        print(f"logins: {sample['passwords']}", flush=True)
        time.sleep(args.serve)
    server.shutdown()


if __name__ == "__main__":
    main()
