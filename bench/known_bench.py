#!/usr/bin/env python3
"""Known problems at size L (issue #17): what /known-issues and /response cost.

    .venv/bin/python bench/known_bench.py [--size L] [--reuse] [--runs 5] [--requests 40]

Imports the size's corpus into bench/data/<size>-known/ (no search index: these pages do not
search), then adds what the corpus lacks: a "Model" field on every question board with values
on a fifth of the questions, 300 known issues in every status, and about 30,000 "affected
too" rows over the last 60 days. Then it runs the hourly job's work once (timed: the response
figures and the register's 7-day counts) and
requests each page in process, reporting per page the SQL statements of one request and the
CPU time per request (median of --runs runs of --requests requests each), with the load
average, into bench/results/known-<size>-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import DATA, RESULTS, ensure_corpus, flask, log, timed_child  # noqa: E402

PAGES = ("/known-issues", "/known-issues?status=all", "/known-issues?model=hub-4", "/response")


def prepare(size: str, reuse: bool) -> dict[str, str]:
    instance = DATA / f"{size}-known"
    env = dict(
        os.environ, FORUM_INSTANCE_PATH=str(instance), FORUM_DATABASE_URL=f"sqlite:///{instance / 'forum.db'}"
    )
    if reuse and (instance / "forum.db").exists():
        log(f"Reusing {instance / 'forum.db'}")
        return env
    corpus = ensure_corpus(size)
    instance.mkdir(parents=True, exist_ok=True)
    (instance / "forum.db").unlink(missing_ok=True)
    flask(env, "db", "upgrade")
    log(f"Importing {corpus.name} ...")
    seconds, cpu, _rss, status = timed_child(
        [sys.executable, "-m", "flask", "--app", "forum", "exchange", "import", str(corpus)], env
    )
    if status:
        raise SystemExit("import failed")
    log(f"  {seconds:.0f} s wall, {cpu:.0f} s CPU")
    return env


def seed(app: object) -> None:
    from sqlalchemy import func, insert, select, update

    from forum.boards.models import Board, Thread
    from forum.db import utcnow
    from forum.extensions import db
    from forum.known.fields import value_key
    from forum.known.models import AffectedMember, KnownIssue, KnownIssueChange, ProblemField, ProblemValue

    if db.session.scalar(select(func.count(KnownIssue.thread_id))):
        log("Known issues already seeded.")
        return
    rng = random.Random(17)
    now = utcnow()
    boards = db.session.scalars(select(Board).where(Board.kind == "questions")).all()
    models = ["Hub 3", "Hub 4", "Hub 5", "Mesh 2"]
    fields = {}
    for board in boards:
        field = ProblemField(
            board_id=board.id, key="model", label="Model", kind="choice", choices="\n".join(models)
        )
        db.session.add(field)
        fields[board.id] = field
    db.session.flush()
    threads = db.session.execute(
        select(Thread.id, Thread.board_id, Thread.created_at).where(
            Thread.board_id.in_([b.id for b in boards])
        )
    ).all()
    values = [
        {"thread_id": t, "field_id": fields[b].id, "value": m, "value_key": value_key(m)}
        for t, b, _ in threads
        if rng.random() < 0.2
        for m in [rng.choice(models)]
    ]
    db.session.execute(insert(ProblemValue), values)
    known = rng.sample(threads, 300)
    statuses = ["reported", "acknowledged", "workaround", "fixed", "recurred"]
    issues, changes = [], []
    for t, _b, created in known:
        status = rng.choice(statuses)
        marked = max(created, now - timedelta(days=rng.randint(1, 120)))
        ack = marked + timedelta(hours=rng.randint(1, 400)) if status != "reported" else None
        issues.append({"thread_id": t, "status": status, "marked_at": marked, "status_changed_at": ack or marked,
                       "acknowledged_at": ack, "fixed_at": ack if status == "fixed" else None})  # fmt: skip
        changes.append(
            {"thread_id": t, "old_status": None, "new_status": "reported", "note": "", "created_at": marked}
        )
        if ack:
            changes.append(
                {
                    "thread_id": t,
                    "old_status": "reported",
                    "new_status": status,
                    "note": "Seen.",
                    "created_at": ack,
                }
            )
    db.session.execute(insert(KnownIssue), issues)
    db.session.execute(insert(KnownIssueChange), changes)
    users = db.session.scalars(select(func.max(Thread.author_id))).one()
    pairs = set()
    targets = [t for t, _b, _c in known] * 80 + [t for t, _b, _c in rng.sample(threads, 3000)]
    while len(pairs) < 30_000:
        pairs.add((rng.choice(targets), rng.randint(1, users)))
    rows = []
    for thread_id, user_id in pairs:
        at = now - timedelta(seconds=rng.randint(0, 60 * 86400))
        rows.append({"thread_id": thread_id, "user_id": user_id, "created_at": at, "created_on": at.date()})
    db.session.execute(insert(AffectedMember), rows)
    counted = (
        select(func.count(AffectedMember.id)).where(AffectedMember.thread_id == Thread.id).scalar_subquery()
    )
    db.session.execute(update(Thread).values(affected_count=counted))
    db.session.commit()
    log(f"Seeded {len(values)} problem values, {len(issues)} known issues, {len(rows)} affected rows.")


def measure(app: object, runs: int, requests: int) -> dict[str, dict[str, float]]:
    from sqlalchemy import event

    from forum.extensions import db

    client = app.test_client()  # type: ignore[attr-defined]
    results = {}
    with app.app_context():  # type: ignore[attr-defined]
        engine = db.engine
    for url in PAGES:
        assert client.get(url).status_code == 200, url
        statements: list[str] = []

        def count(*_args: object, seen: list[str] = statements) -> None:
            seen.append("x")

        event.listen(engine, "before_cursor_execute", count)
        client.get(url)
        event.remove(engine, "before_cursor_execute", count)
        per_run = []
        for _ in range(runs):
            started = time.process_time()
            for _ in range(requests):
                client.get(url)
            per_run.append((time.process_time() - started) / requests * 1000)
        results[url] = {"sql": len(statements), "cpu_ms_median": round(statistics.median(per_run), 2),
                        "cpu_ms_runs": [round(v, 2) for v in per_run]}  # fmt: skip
        log(f"  {url}: {len(statements)} SQL statements, {statistics.median(per_run):.2f} ms CPU per request "
            f"(runs: {', '.join(f'{v:.2f}' for v in per_run)})")  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="L")
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    env = prepare(args.size, args.reuse)
    os.environ.update(
        FORUM_INSTANCE_PATH=env["FORUM_INSTANCE_PATH"], FORUM_DATABASE_URL=env["FORUM_DATABASE_URL"]
    )
    from forum import create_app
    from forum.extensions import db
    from forum.known.response import compute_figures
    from forum.known.services import recount_recent_affected

    app = create_app({"RATELIMIT_ENABLED": False, "JOBS_MODE": "worker"})
    with app.app_context():
        seed(app)
        started, cpu = time.perf_counter(), time.process_time()
        cells = compute_figures()  # the hourly job's work (forum.known.jobs)
        recount_recent_affected()  # seed() inserts its reports past the services
        db.session.commit()
        job = {
            "cells": cells,
            "wall_s": round(time.perf_counter() - started, 2),
            "cpu_s": round(time.process_time() - cpu, 2),
        }
        log(f"Figures job: {cells} cells in {job['wall_s']} s ({job['cpu_s']} s CPU)")
    load = os.getloadavg()
    pages = measure(app, args.runs, args.requests)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"known-{args.size}-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"size": args.size, "load_average": [round(v, 2) for v in load], "job": job,
                               "pages": pages, "load_average_after": [round(v, 2) for v in os.getloadavg()]},
                              indent=1) + "\n")  # fmt: skip
    log(f"Load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; results in {out}")


if __name__ == "__main__":
    main()
