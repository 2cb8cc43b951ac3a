"""The PostgreSQL search backend at scale (issue #22): it ranks a bounded set of candidates
(the newest matches, and the newest matching titles), says "about" when it did, and keeps
the planner's statistics and the titles' words current without a page paying for them.
The bound is lowered here so a few hundred posts show what two million would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from forum.extensions import db
from forum.search import engine, postgres_backend
from forum.search.documents import Document
from forum.search.models import SearchTitleWord
from forum.search.query import parse
from tests.factories import make_thread

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def app_config(app_config: dict) -> dict:
    app_config["SEARCH_BACKEND"] = "postgres"
    return app_config


def _forum_of_router_threads() -> None:
    """60 threads of 10 posts that mention "router" in their text, one a day, and two old
    threads: one named for the question, one that only mentions it in its text."""
    documents = []
    for thread in range(60):
        for number in range(10):
            key = thread * 10 + number
            documents.append(Document(
                key=f"p{key + 1000}", kind="post", group=f"t{thread + 100}", object_id=key + 1000,
                thread_id=thread + 100, title="Slow evenings" if number == 0 else "Re: Slow evenings",
                body=f"My router light blinks, note {key}.", author="ann", board="broadband",
                created=START + timedelta(days=thread, minutes=number), opening=number == 0,
            ))  # fmt: skip
    old = START - timedelta(days=400)
    documents.append(Document(
        key="p1", kind="post", group="t1", object_id=1, thread_id=1, title="Router reboots every night",
        body="It restarts at two in the morning.", author="bo", board="broadband", created=old, opening=True,
    ))  # fmt: skip
    documents.append(Document(
        key="p2", kind="post", group="t2", object_id=2, thread_id=2, title="Old billing question",
        body="Unrelated, though my router was mentioned.", author="bo", board="billing", created=old, opening=True,
    ))  # fmt: skip
    postgres_backend.index_documents(documents)


def _search(app, query: str, page: int = 1, candidates: int = 20):  # noqa: ANN202
    """Five results a page: the first five pages (25 threads) rank one set of candidates."""
    app.config["SEARCH_CANDIDATES"] = candidates
    return engine.backend().search(parse(query), page, 5)


def test_a_bounded_search_ranks_the_newest_matches_and_old_titles_and_says_about(app):
    with app.app_context():
        _forum_of_router_threads()
        everything = _search(app, "router", candidates=100_000)
        bounded = _search(app, "router")
    assert everything.exact and everything.total == 62
    # The old thread named for the question still comes first: its title is a candidate.
    assert bounded.hits[0].thread_id == 1 and everything.hits[0].thread_id == 1
    # 20 posts, then 80 (9 threads), then 320 (33 threads, enough for five pages) were ranked.
    assert not bounded.exact
    assert 0.75 * 62 <= bounded.total <= 1.25 * 62, bounded.total  # "about 62", from 621 posts' counts


def test_deep_pages_and_the_latest_order_read_further(app):
    with app.app_context():
        _forum_of_router_threads()
        pages = [_search(app, "router", page=page) for page in range(1, 8)]
        latest = _search(app, "router order:latest")
    shown = [hit.thread_id for page in pages for hit in page.hits]
    # Five pages rank one set: no thread twice; the sixth and seventh read further.
    assert [len(page.hits) for page in pages] == [5] * 7
    assert len(set(shown[:25])) == 25
    # Newest first: the last day's thread, then the one before.
    assert [hit.thread_id for hit in latest.hits[:2]] == [159, 158]


def test_a_filtered_bounded_search_estimates_from_its_share(app):
    with app.app_context():
        _forum_of_router_threads()
        billing = _search(app, "router #billing", candidates=5)
        broadband = _search(app, "router #broadband", candidates=5)
    # The old post that only mentions the word in its text: found once a filter narrows the
    # matches below the bound (without it, beyond the newest candidates: the bound's trade).
    assert billing.exact and billing.total == 1 and billing.hits[0].thread_id == 2
    assert not broadband.exact and 30 <= broadband.total <= 120, broadband.total


def test_reindex_leaves_statistics_and_the_title_words_current(app, runner):
    with app.app_context():
        make_thread(title="Router keeps rebooting", body="The router reboots.")
        db.session.execute(text("SELECT pg_stat_reset()"))
        db.session.commit()
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        analyzed = db.session.scalars(
            text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
        ).all()
        words = set(db.session.scalars(select(SearchTitleWord.word)))
    assert "search_documents" in analyzed
    assert {"router", "keep", "reboot"} <= words


def test_the_vocabulary_job_lists_new_titles_for_did_you_mean(app, client):
    from forum.jobs.periodic import REGISTRY

    with app.app_context():
        make_thread(title="Router keeps rebooting", body="The router reboots.")
        assert "Did you mean" in client.get("/search?q=rooter").get_data(as_text=True)  # listed at once
        make_thread(title="Powerline adapter pairing", body="Pairing fails.")
        page = client.get("/search?q=powerlyne").get_data(as_text=True)
        assert "Did you mean" not in page  # the page does not list every title again
        job = REGISTRY["search-vocabulary"]
        assert job.run().endswith(" words")
        page = client.get("/search?q=powerlyne").get_data(as_text=True)
    assert 'href="/search?q=powerlin"' in page or 'href="/search?q=powerline"' in page, page


def test_an_estimated_count_says_about_on_the_page(app, client):
    from tests.factories import make_reply

    with app.app_context():
        for number in range(10):
            thread = make_thread(title=f"Router question {number}", body="The router blinks.")
            for _ in range(2):
                make_reply(thread, body="Same router here.")
    app.config["SEARCH_CANDIDATES"] = 1  # 1, 4, then 16 of the 30 posts: enough for five pages of one
    page = client.get("/search?q=rooter").get_data(as_text=True)
    assert 'Did you mean <a href="/search?q=router">router</a>? (about ' in page, page
    app.config["SEARCH_CANDIDATES"] = 1000
    page = client.get("/search?q=router").get_data(as_text=True)
    assert "10 results for" in page and "about" not in page.split("results for")[0][-40:]


def test_a_phrase_reads_its_words_first_and_keeps_only_the_phrase(app):
    """Newer posts with the phrase's words apart are read as candidates (GIN answers "every
    word" without reading each row again) and dropped by the phrase test; excluded words
    are part of the same test."""
    with app.app_context():
        _forum_of_router_threads()
        newer = START + timedelta(days=90)
        postgres_backend.index_documents([
            Document(
                key=f"p{5000 + n}", kind="post", group=f"t{500 + n}", object_id=5000 + n, thread_id=500 + n,
                title="Lamp question", body="The light on my desk is next to the router.", author="cy",
                board="broadband", created=newer + timedelta(hours=n), opening=True,
            )
            for n in range(40)
        ])  # fmt: skip
        everything = _search(app, '"router light"', candidates=100_000)
        bounded = _search(app, '"router light"')
        apart = _search(app, "router light -blinks", candidates=5)
        not_lamps = _search(app, '"router light" -desk', candidates=5)
    assert everything.exact and everything.total == 60
    assert {hit.thread_id for hit in bounded.hits} <= set(range(100, 160)) and len(bounded.hits) == 5
    assert 0.75 * 60 <= bounded.total <= 1.25 * 60, bounded.total
    # Every newest post with both words but without "blinks": the 40 lamp threads.
    assert {hit.thread_id for hit in apart.hits} <= set(range(500, 540)) and len(apart.hits) == 5
    assert 30 <= apart.total <= 52, apart.total
    assert {hit.thread_id for hit in not_lamps.hits} <= set(range(100, 160)) and len(not_lamps.hits) == 5
