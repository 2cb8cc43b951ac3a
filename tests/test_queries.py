"""SQL per page is bounded, whatever the size of the forum (no N+1)."""

from __future__ import annotations

import pytest

from forum.auth import services as accounts
from forum.boards import services
from forum.extensions import db
from tests.factories import login, make_user

MAX_QUERIES = 8


@pytest.fixture
def busy_forum(shared_data):
    """Hundreds of threads and posts by many authors across several boards (built once per backend)."""
    return shared_data("busy forum", _build_busy_forum)


def _build_busy_forum():
    authors = [
        accounts.register_user(f"author{i}", f"author{i}@example.org", "correct horse battery staple")
        for i in range(25)
    ]
    boards = [services.create_board(f"Board {i}", slug=f"board-{i}") for i in range(5)]
    long_thread = None
    for index in range(200):
        board = boards[index % len(boards)]
        thread = services.start_thread(
            board, f"Question number {index}", "Body of the question", actor=authors[index % 25]
        )
        for reply_index in range(2):
            services.reply(thread, f"Reply {reply_index}", actor=authors[(index + reply_index + 1) % 25])
        long_thread = long_thread or thread
    for reply_index in range(60):
        services.reply(long_thread, f"Long thread reply {reply_index}", actor=authors[reply_index % 25])
    db.session.commit()
    return {"board": boards[0], "long_thread": long_thread}


@pytest.mark.parametrize("logged_in", [False, True])
def test_pages_run_a_bounded_number_of_queries(client, count_queries, busy_forum, logged_in):
    if logged_in:
        login(client, make_user("reader"))
    board, thread = busy_forum["board"], busy_forum["long_thread"]
    urls = ("/", board.url, f"{board.url}?page=2", thread.url, f"{thread.url}?page=4", "/u/author3")
    for url in urls:
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200, url
        assert counter.count <= MAX_QUERIES, f"{url}: {counter.count} queries\n{counter.report()}"


def test_thread_page_query_count_does_not_grow_with_posts(client, count_queries, busy_forum):
    login(client, make_user("reader"))
    thread = busy_forum["long_thread"]
    first_url, last_url = thread.url, f"{thread.url}?page={thread.page_count}"
    with count_queries() as first:
        client.get(first_url)
    with count_queries() as last:
        client.get(last_url)
    assert first.count == last.count, f"{first.report()}\n-----\n{last.report()}"


@pytest.mark.parametrize("logged_in", [False, True])
def test_thread_page_runs_two_queries_and_one_more_for_a_member(client, count_queries, busy_forum, logged_in):
    last_url = None
    """The thread and its posts; a member's session besides. Their votes and their watch level
    come with the posts and the thread (forum.boards.services.LOAD_WITH_*_FOR_MEMBER)."""
    if logged_in:
        login(client, make_user("reader"))
    thread = busy_forum["long_thread"]
    for url in (thread.url, f"{thread.url}?page=2", f"{thread.url}?page=2"):
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        # A member's visit that reads further writes their reading position (one upsert, issue #15);
        # seeing the same page again writes nothing.
        expected = (4 if url != last_url else 3) if logged_in else 2
        last_url = url
        assert counter.count == expected, f"{url}: {counter.count} queries\n{counter.report()}"
