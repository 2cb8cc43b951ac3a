"""Bad input never gives a 500: a clear message on the field, the typed text kept."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.boards.models import Post, Thread
from forum.extensions import db
from tests.factories import login, make_board, make_thread, make_user


@pytest.fixture
def member_client(client):
    make_board("Broadband", slug="broadband")
    login(client, make_user("writer"))
    return client


@pytest.mark.parametrize(
    ("title", "body", "message"),
    [
        ("", "A body", "This field is required."),
        ("Hey", "A body", "at least 5 characters"),
        ("T" * 500, "A body", "Field cannot be longer than 150 characters."),
        ("A fine title", "", "This field is required."),
        ("A fine title", "   \n  ", "This field is required."),
        ("A fine title", "x" * 32_001, "32000"),
        ("A fine title", "[" * 20_000, "code block"),
        ("A fine\x00 title", "body", "NUL character"),
        ("A fine title", "body with \x00 NUL", "NUL character"),
    ],
)
def test_new_thread_rejects_bad_fields_with_messages(member_client, title, body, message):
    response = member_client.post("/b/broadband/new", data={"title": title, "body": body, "submit": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message.replace("32000", "32,000") in page or message in page
    assert 'class="field-error"' in page
    if body.strip() and "\x00" not in body and len(body) < 1000:
        assert body in page  # the typed text is kept
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 0


def test_long_reply_is_kept_when_refused(member_client):
    thread = make_thread(title="Keep my text")
    long_text = "My carefully written answer. " * 1200  # ~34,800 characters
    response = member_client.post(f"/t/{thread.id}/reply", data={"body": long_text, "submit": "1"})
    assert response.status_code == 422
    assert long_text.strip()[:500] in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Post)) == 1


def test_missing_csrf_keeps_the_text(member_client):
    thread = make_thread(title="CSRF keeps text")
    response = member_client.post(
        f"/t/{thread.id}/reply", data={"body": "Please do not lose me", "submit": "1"}, csrf=False
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/b/no-such-board", 404),
        ("/b/no-such-board/new", 404),
        ("/t/abc", 404),
        ("/t/999999", 404),
        ("/t/99999999999999999999999", 404),
        ("/p/xyz", 404),
        ("/p/424242", 404),
        ("/u/nobody", 404),
        ("/nowhere", 404),
    ],
)
def test_unknown_things_are_404_pages(member_client, url, status):
    response = member_client.get(url)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert '<main id="content"' in page  # in the site's layout


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("-1", 400),
        ("0", 404),
        ("abc", 400),
        ("1000000000", 404),
        ("2", 404),
        ("1.5", 400),
        ("", 400),
        ("²", 400),
        ("%C2%B2", 400),
    ],
)
def test_bad_page_numbers(client, query, status):
    thread = make_thread(title="Only one page")
    make_board("Empty", slug="empty")
    for url in (f"{thread.url}?page={query}", f"/b/empty?page={query}"):
        response = client.get(url)
        assert response.status_code == status, url
        assert "page" in response.get_data(as_text=True).lower()


def test_invalid_utf8_and_wrong_types_do_not_500(member_client):
    thread = make_thread(title="Binary garbage")
    raw = b"body=%FF%FE%80abc&submit=1&csrf_token=" + member_client.csrf_token().encode()
    response = member_client.post(
        f"/t/{thread.id}/reply", data=raw, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code in (302, 400, 422)
    response = member_client.post(
        "/b/broadband/new", json={"title": ["not", "a", "string"], "body": {"x": 1}}
    )
    assert response.status_code in (400, 422)
    response = member_client.post("/login", data={"login": "x" * 1_000_000, "password": "y"})
    assert response.status_code in (413, 422)


def test_method_not_allowed_is_a_page(client):
    response = client.post("/")
    assert response.status_code == 405
    assert "Method not allowed" in response.get_data(as_text=True)
