"""The search outbox under real concurrency (issue 3, SECURITY.md item 34).

Four gunicorn worker processes serve the app on the test's database (a SQLite file or
PostgreSQL) and Whoosh index; clients post concurrently over HTTP while one worker is
killed mid-way. Afterwards one drain must leave the index holding exactly the visible
posts of the database. A second test kills a drain process mid-batch.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select

from forum.boards.models import Post, Thread
from forum.extensions import db
from forum.search import engine, outbox
from tests.factories import PASSWORD, make_board, make_thread, make_user
from tests.servers import ROOT, gunicorn, request, server_env, session_cookie, worker_pids

pytestmark = pytest.mark.slow
CLIENTS = 6
POSTS_PER_CLIENT = 12


def _database_vs_index() -> tuple[set[str], set[str]]:
    visible = db.session.scalars(
        select(Post.id)
        .join(Thread, Thread.id == Post.thread_id)
        .where(
            Post.deleted_at.is_(None),
            Post.hidden_at.is_(None),
            Thread.deleted_at.is_(None),
            Thread.hidden_at.is_(None),
        )
    )
    return {f"p{post_id}" for post_id in visible}, engine.backend().document_keys()


def test_concurrent_posting_with_a_killed_worker_loses_no_update(app, tmp_path):
    board = make_board("Load", slug="load")
    users = [make_user(f"poster{i}") for i in range(CLIENTS)]
    thread_id = make_thread(board, users[0], title="Shared thread", body="Everyone replies here.").id
    usernames = [user.username for user in users]
    with gunicorn(server_env(app, tmp_path)) as (port, server):
        cookies = []
        for username in usernames:
            status, headers, _ = request(port, "POST", "/login", {"login": username, "password": PASSWORD})
            assert status == 302, status
            cookies.append(session_cookie(headers))
        statuses: list[int] = []
        slowest = [0.0]
        failures: list[str] = []
        lock = threading.Lock()
        killed = threading.Event()

        def poster(index: int) -> None:
            for number in range(POSTS_PER_CLIENT):
                try:
                    if number % 4 == 0:
                        form = {"title": f"New thread {index}-{number} about modems", "body": "Modem body."}
                        status, _, spent = request(port, "POST", "/b/load/new", form, cookies[index])
                    else:
                        form = {"body": f"Reply {index}-{number} about routers."}
                        status, _, spent = request(
                            port, "POST", f"/t/{thread_id}/reply", form, cookies[index]
                        )
                except (OSError, http.client.HTTPException) as error:  # only the killed worker's request
                    with lock:
                        failures.append(repr(error))
                    continue
                with lock:
                    statuses.append(status)
                    slowest[0] = max(slowest[0], spent)

        def killer() -> None:
            time.sleep(1.0)
            workers = worker_pids(server.pid)
            assert len(workers) == 4
            os.kill(workers[0], signal.SIGKILL)
            killed.set()

        threads = [threading.Thread(target=poster, args=(i,)) for i in range(CLIENTS)]
        threads.append(threading.Thread(target=killer))
        for worker in threads:
            worker.start()
        for worker in threads:
            worker.join(timeout=60)
        assert killed.is_set()
        assert statuses and all(status == 302 for status in statuses), sorted(set(statuses))
        assert len(failures) <= 1, failures  # at most the request the killed worker was serving
        assert slowest[0] < 5.0, f"a request waited {slowest[0]:.1f}s"
    db.session.expire_all()
    left_by_workers = outbox.backlog()
    assert left_by_workers < len(statuses) / 2, "the workers should have drained most changes themselves"
    outbox.drain(wait=10)
    in_database, in_index = _database_vs_index()
    assert len(in_database) >= 2 + len(statuses) - 1
    assert in_database == in_index
    assert outbox.backlog() == 0


def test_a_drain_killed_mid_batch_loses_nothing(app, tmp_path):
    app.config["SEARCH_DRAIN_AFTER_COMMIT"] = False
    board = make_board("Bulk", slug="bulk")
    author = make_user("bulkposter")
    thread = make_thread(board, author, title="Bulk thread", body="Start.")
    from forum.boards import services as boards

    for number in range(1500):
        boards.reply(thread, f"Bulk reply {number} about cables.", actor=author)
    db.session.commit()
    initial = outbox.backlog()
    assert initial >= 1500
    env = server_env(app, tmp_path)
    drainer = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "forum", "search", "drain"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while outbox.backlog() == initial and time.monotonic() < deadline:
        time.sleep(0.01)  # kill it as soon as its first batch is committed
    drainer.kill()
    drainer.wait()
    left = outbox.backlog()
    assert left > 0, "the drain finished before it was killed; raise the number of posts"
    outbox.drain(wait=10)
    in_database, in_index = _database_vs_index()
    assert len(in_database) == 1501
    assert in_database == in_index
