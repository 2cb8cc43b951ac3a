"""SQL per wiki page is bounded: the same number of statements for 3 items as for 30."""

from __future__ import annotations

from forum.extensions import db
from forum.wiki import editing
from tests.factories import login, make_board, make_thread
from tests.factories_wiki import edit, make_editor, make_page

MAX_STATEMENTS = 12


def build(count: int, prefix: str):  # noqa: ANN201
    """`count` pages in two topics, each linking to the hub and to a missing page, with `count` edits on the hub."""
    boards = [make_board(f"{prefix} topic A"), make_board(f"{prefix} topic B")]
    authors = [make_editor(f"{prefix}author{n}") for n in range(3)]
    hub = make_page(f"{prefix} hub", body="Start here.", author=authors[0])
    for n in range(count):
        make_page(
            f"{prefix} page {n}", body=f"See [[{prefix} hub]] and [[{prefix} missing {n}]].",
            author=authors[n % 3], board_id=boards[n % 2].id,
        )  # fmt: skip
    for n in range(count):
        edit(hub, f"Start here, version {n}. " + " ".join(f"[[{prefix} page {m}]]" for m in range(count)),
             author=authors[n % 3])  # fmt: skip
    return hub


def statements(client, count_queries, url: str) -> int:  # noqa: ANN001
    with count_queries() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


def test_wiki_pages_use_a_bounded_number_of_queries(client, count_queries):
    small = build(3, "small")
    large = build(30, "large")
    moderator = make_editor("moddy", role="moderator")
    thread = make_thread(title="Thread with a wiki page")
    editing.create_page("From the thread", "Text", actor=moderator, source_thread=thread)
    db.session.commit()
    for who in ("anonymous", "moderator"):
        if who == "moderator":
            login(client, moderator)
        suffixes = ["", "/history", "/links", "/diff", "/revisions/{rev}"] + (
            ["/edit"] if who == "moderator" else []
        )
        for suffix in suffixes:
            urls = [hub.url + suffix.format(rev=hub.current_revision_id) for hub in (small, large)]
            few, many = (statements(client, count_queries, url) for url in urls)
            assert few == many, (who, urls[1], few, many)
            assert many <= MAX_STATEMENTS, (who, urls[1], many)
        for url in ("/wiki", "/wiki/changes", "/wiki?topic=large-topic-a"):
            assert statements(client, count_queries, url) <= MAX_STATEMENTS, url
        assert statements(client, count_queries, thread.url) <= MAX_STATEMENTS + 4
