"""A reply or new thread sent twice posts once (issue #13).

A browser that loses the response to a POST, a double click, or a proxy that retries sends the
same form again. Each reply and new-thread form carries a one-time key; the second send finds
the post the first one made and shows it. Checked through the test client, then with the same
form fired 8 times at the same instant through gunicorn with 4 workers, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select

from forum.boards.models import Post, Thread
from forum.extensions import db
from tests.factories import PASSWORD, login, make_board, make_thread, make_user
from tests.servers import gunicorn, request, server_env, session_cookie

KEY = re.compile(r'name="submission" type="hidden" value="([0-9a-f]{32})"')


def _posts() -> int:
    return db.session.scalar(select(func.count()).select_from(Post)) or 0


def _key_on(page: str) -> str:
    found = KEY.search(page)
    assert found, "the form carries no one-time key"
    return found.group(1)


def test_a_reply_sent_twice_posts_once_and_shows_the_first(client):
    thread = make_thread(make_board("Broadband"), title="Router drops wifi at night")
    login(client, make_user("replier"))
    key = _key_on(client.get(thread.url).get_data(as_text=True))
    before = _posts()
    form = {"body": "Turn off band steering.", "submission": key, "submit": "Post reply"}
    first = client.post(f"/t/{thread.id}/reply", data=form)
    second = client.post(f"/t/{thread.id}/reply", data=form)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert _posts() == before + 1
    shown = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "This was posted already" in shown
    assert shown.count("Turn off band steering.") == 1
    # The next form shown has a new key: the member's next reply is a new post.
    assert _key_on(shown) != key


def test_a_new_thread_sent_twice_opens_one_thread(client):
    board = make_board("Broadband", slug="broadband")
    login(client, make_user("asker"))
    key = _key_on(client.get("/b/broadband/new").get_data(as_text=True))
    form = {"title": "Charged twice for October", "body": "Two payments left my account.",
            "submission": key, "submit": "Start thread"}  # fmt: skip
    first = client.post("/b/broadband/new", data=form)
    second = client.post("/b/broadband/new", data=form)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"].startswith(first.headers["Location"])
    assert db.session.scalar(select(func.count()).select_from(Thread).where(Thread.board_id == board.id)) == 1


def test_a_preview_keeps_the_key_so_posting_after_it_posts_once(client):
    thread = make_thread(make_board("Broadband"))
    login(client, make_user("careful"))
    key = _key_on(client.get(thread.url).get_data(as_text=True))
    preview = client.post(
        f"/t/{thread.id}/reply",
        data={"body": "A **previewed** reply.", "submission": key, "preview": "Preview"},
    )
    assert _key_on(preview.get_data(as_text=True)) == key
    before = _posts()
    form = {"body": "A **previewed** reply.", "submission": key, "submit": "Post reply"}
    assert client.post(f"/t/{thread.id}/reply", data=form).status_code == 302
    assert client.post(f"/t/{thread.id}/reply", data=form).status_code == 302
    assert _posts() == before + 1


def test_keys_belong_to_their_member_and_a_bad_key_still_posts(client):
    thread = make_thread(make_board("Broadband"))
    key = "0123456789abcdef0123456789abcdef"
    before = _posts()
    for name in ("first_member", "second_member"):
        login(client, make_user(name))
        response = client.post(
            f"/t/{thread.id}/reply",
            data={"body": f"Reply by {name}", "submission": key, "submit": "Post reply"},
        )
        assert response.status_code == 302
        client.post("/logout")
    assert _posts() == before + 2  # the same key from another member is another form
    login(client, make_user("odd_key"))
    for bad in ("not-a-key", "x" * 5000, "'; DROP TABLE posts; --"):
        response = client.post(
            f"/t/{thread.id}/reply",
            data={"body": f"Reply with key {bad[:10]}", "submission": bad, "submit": "Post"},
        )
        assert response.status_code == 302, bad  # a key we did not make is ignored, not an error
    assert _posts() == before + 5


@pytest.mark.slow
def test_one_form_fired_eight_times_at_once_posts_once(app, tmp_path):
    board = make_board("Broadband", slug="broadband")
    thread = make_thread(board, title="Everyone clicks twice").id
    member = make_user("double_clicker")
    before = _posts()
    reply_key, thread_key = "a" * 32, "b" * 32
    with gunicorn(server_env(app, tmp_path), workers=4) as (port, _):
        status, headers, _ = request(port, "POST", "/login", {"login": member.username, "password": PASSWORD})
        assert status == 302
        cookie = session_cookie(headers)
        for path, form in (
            (f"/t/{thread}/reply", {"body": "Clicked many times.", "submission": reply_key, "submit": "Post"}),
            ("/b/broadband/new", {"title": "Opened many times", "body": "Once is enough.",
                                  "submission": thread_key, "submit": "Start thread"}),
        ):  # fmt: skip
            answers = _fired_at_once(port, path, form, cookie, times=8)
            assert [status for status, _ in answers] == [302] * 8, answers
            assert len({location.split("#")[0].split("?")[0] for _, location in answers}) == 1, answers
    db.session.expire_all()
    assert _posts() == before + 2
    assert (
        db.session.scalar(select(func.count()).select_from(Thread).where(Thread.title == "Opened many times"))
        == 1
    )


def _fired_at_once(port: int, path: str, form: dict, cookie: str, times: int) -> list[tuple[int, str]]:
    """Send one form `times` times, starting at the same instant: (status, Location) of each."""
    answers: list[tuple[int, str]] = []
    start = threading.Barrier(times, timeout=60)
    lock = threading.Lock()

    def fire() -> None:
        start.wait()
        status, headers, _ = request(port, "POST", path, form, cookie=cookie)
        with lock:
            answers.append((status, headers.get("Location", "")))

    workers = [threading.Thread(target=fire) for _ in range(times)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return answers
