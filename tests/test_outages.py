"""Faults outside the forum (issue #13): Redis down, database down.

Redis down (a closed port, really unreachable): rate limits fail open with a logged warning,
so members still log in, register and post, and nothing committed is answered with an
error. Database down (a closed PostgreSQL port, an SQLite file that cannot be opened): every
visitor, member or not, gets the forum's own "temporarily unavailable" page, 503 with
Retry-After, rendered without a database read.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from forum import create_app
from forum.boards.models import Post
from forum.extensions import db
from tests.conftest import ForumClient, _free_port, make_test_config
from tests.factories import PASSWORD, login, make_board, make_thread
from tests.factories_moderation import make_member


@pytest.fixture
def app_config(app_config):
    app_config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_free_port()}")
    return app_config


def test_redis_down_limits_fail_open_and_every_post_is_answered(client, caplog):
    caplog.set_level(logging.WARNING)
    board = make_board(slug="help")
    member = make_member("sam")
    thread = make_thread(board, member)
    assert client.post("/register", data={"username": "newcomer", "email": "new@example.org",
                                          "password": "a long passphrase here", "confirm": "a long passphrase here"}
                       ).status_code in (302, 200)  # fmt: skip
    wrong = client.post("/login", data={"login": "sam", "password": "not the password"})
    assert wrong.status_code == 422  # the failure is not counted (no storage), the answer is honest
    login(client, member)
    # More replies than the posting limit (6 a minute): with the storage down, none is refused.
    for number in range(8):
        response = client.post(f"/t/{thread.id}/reply", data={"body": f"Reply number {number}"})
        assert response.status_code == 302, response.status_code
    response = client.post(
        "/b/help/new", data={"title": "A thread while Redis is down", "body": "Still works."}
    )
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Post)) == 1 + 8 + 1  # each post once
    assert any("Failed to rate limit" in r.getMessage() or "rate-limit storage" in r.getMessage()
               for r in caplog.records if r.levelno >= logging.WARNING)  # fmt: skip


@pytest.mark.parametrize("member", [False, True], ids=["visitor", "member"])
def test_database_down_answers_its_own_503_page(app, client, backend, tmp_path, member):
    if member:
        login(client, make_member("lee"))
    cookie = client.get_cookie("session")
    if backend == "sqlite":
        unreachable = f"sqlite:///{tmp_path / 'gone' / 'forum.db'}"  # a directory that does not exist
    else:
        unreachable = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/forum"  # nothing listens
    down = create_app(make_test_config(tmp_path / "down", unreachable))
    down.test_client_class = ForumClient
    visitor = down.test_client()
    if cookie is not None:
        visitor.set_cookie("session", cookie.value)
    for method, path in (("GET", "/"), ("GET", "/t/1"), ("GET", "/search?q=router"), ("POST", "/login")):
        response = visitor.open(path, method=method, data={"login": "lee", "password": PASSWORD})
        page = response.get_data(as_text=True)
        assert response.status_code == 503, (path, response.status_code)
        assert response.headers["Retry-After"].isdigit()
        assert "Temporarily unavailable" in page and "Nothing you sent before this page was lost" in page
    api = visitor.get("/", headers={"Accept": "application/json"})
    assert api.status_code == 503 and api.get_json()["status"] == 503
