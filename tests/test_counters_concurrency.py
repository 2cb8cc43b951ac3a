"""Counters under simultaneous requests through a real server with several workers (issue #13).

Before, `start_thread()` and `reply()` read a board's and a thread's counters and wrote them
back: 16 simultaneous replies moved a board's post count by 6. Here 4 gunicorn workers serve
the test's database (a SQLite file or PostgreSQL); 16, then 50 requests, replies to a shared
thread, replies to other threads and new threads, by several members, start at the same
instant. Every one must succeed, and every stored counter must equal a recount of the rows.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from forum.boards.models import Board, Post
from forum.counters.rows import find_drift
from forum.extensions import db
from tests.factories import PASSWORD, make_board, make_thread, make_user
from tests.servers import gunicorn, request, server_env, session_cookie

pytestmark = pytest.mark.slow
WAVES = (16, 50)
MEMBERS = 8


def test_simultaneous_replies_and_new_threads_keep_every_counter(app, tmp_path):
    boards = [make_board("Broadband", slug="broadband"), make_board("Mobile", slug="mobile")]
    members = [make_user(f"racer{i}") for i in range(MEMBERS)]
    shared = make_thread(boards[0], members[0], title="Everyone replies here").id
    others = [
        make_thread(boards[i % 2], members[i], title=f"Thread number {i} of the race").id for i in range(4)
    ]
    slugs = [board.slug for board in boards]  # plain values: the request threads have no session
    posts_before = db.session.scalar(select(func.count()).select_from(Post))
    with gunicorn(server_env(app, tmp_path), workers=4) as (port, _):
        cookies = []
        for member in members:
            status, headers, _ = request(
                port, "POST", "/login", {"login": member.username, "password": PASSWORD}
            )
            assert status == 302
            cookies.append(session_cookie(headers))
        sent = 0
        for wave in WAVES:
            statuses, refusals = _all_at_once(port, wave, cookies, shared, others, slugs)
            assert statuses == [302] * wave, refusals
            sent += wave
            db.session.expire_all()
            assert find_drift() == [], f"after {wave} simultaneous requests"
    assert db.session.scalar(select(func.count()).select_from(Post)) == posts_before + sent
    db.session.expire_all()
    assert sum(board.post_count for board in db.session.scalars(select(Board))) == posts_before + sent


def _all_at_once(
    port: int, wave: int, cookies: list[str], shared: int, others: list[int], slugs: list[str]
) -> tuple[list[int], list[str]]:
    """Send `wave` requests that start at the same instant: a third reply to one shared thread,
    a third to four other threads, a third start threads in two boards. Returns the statuses
    and, for each request not answered with a redirect, what the page said."""
    statuses: list[int] = []
    refusals: list[str] = []
    start = threading.Barrier(wave, timeout=60)
    lock = threading.Lock()

    def fire(number: int) -> None:
        cookie = cookies[number % len(cookies)]
        if number % 3 == 0:
            path, form = f"/t/{shared}/reply", {"body": f"Shared reply {number}"}
        elif number % 3 == 1:
            path, form = f"/t/{others[number % 4]}/reply", {"body": f"Reply {number}"}
        else:
            path = f"/b/{slugs[number % 2]}/new"
            form = {"title": f"A new thread, number {number}", "body": "Opening text."}
        start.wait()
        status, body = _post(port, path, form, cookie)
        with lock:
            statuses.append(status)
            if status != 302:
                refusals.append(f"{path}: {status} {_messages(body)}")

    workers = [threading.Thread(target=fire, args=(n,)) for n in range(wave)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return statuses, refusals


def _post(port: int, path: str, form: dict, cookie: str) -> tuple[int, bytes]:
    import http.client
    import urllib.parse

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            path,
            body=urllib.parse.urlencode(form),
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _messages(body: bytes | str) -> list[str]:
    """The error messages on a page the forum answered instead of redirecting."""
    import re

    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    found = re.findall(r'class="[^"]*(?:error|alert|flash)[^"]*"[^>]*>(.*?)<', text, re.S)
    return [" ".join(each.split()) for each in found if each.strip()] or [text[:300]]
