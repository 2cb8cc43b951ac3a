"""Atom feeds, parsed with feedparser: entries, links, dates, escaping, and hidden content."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import pytest

from forum.db import utcnow
from forum.extensions import db
from tests.factories import make_board, make_reply, make_thread, make_user, recount_counters
from tests.factories_notifications import edit_wiki_page, make_wiki_page

NASTY = "<script>alert(1)</script> & <b>bold</b>"


def parse(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    return feed, response.get_data(as_text=True)


def entry_time(entry) -> datetime:
    return datetime(*entry.updated_parsed[:6], tzinfo=UTC)


def test_latest_threads_feed_escapes_titles_and_links_to_the_base_url(client):
    board = make_board("Broadband")
    author = make_user("ann", display_name="Ann <i>the</i> asker")
    older = make_thread(board, author, title="An older question")
    nasty = make_thread(board, author, title=NASTY, body="Body with <script>x</script> and **bold**")
    hidden = make_thread(board, author, title="A hidden thread")
    hidden.hidden_at = utcnow()
    db.session.commit()
    recount_counters()
    feed, raw = parse(client, "/feeds/latest.atom")
    assert "<script>" not in raw
    assert feed.feed.title == "Latest threads · Roundabout"
    assert [e.title for e in feed.entries] == [NASTY, "An older question"]
    first = feed.entries[0]
    assert first.link == f"http://forum.test{nasty.url}"
    assert first.author == "Ann <i>the</i> asker"
    assert "<strong>bold</strong>" in first.content[0].value
    assert "<script>" not in first.content[0].value  # the stored body was sanitized on write
    assert abs((entry_time(first) - nasty.created_at).total_seconds()) < 1
    assert {e.id for e in feed.entries} == {
        f"http://forum.test/t/{nasty.id}",
        f"http://forum.test/t/{older.id}",
    }


def test_board_feed(client):
    board = make_board("TV")
    other = make_board("Phone")
    thread = make_thread(board, title="Box will not start")
    make_thread(other, title="Elsewhere entirely")
    feed, _ = parse(client, f"/feeds/b/{board.slug}.atom")
    assert [e.title for e in feed.entries] == ["Box will not start"]
    assert feed.entries[0].link == f"http://forum.test{thread.url}"
    assert client.get("/feeds/b/no-such-board.atom").status_code == 404


def test_thread_feed_lists_visible_posts_newest_first(client):
    thread = make_thread(title=NASTY, body="The question")
    first = make_reply(thread, make_user("bob"), "First answer")
    hidden = make_reply(thread, make_user("spammer"), "Buy watches at spam.example")
    hidden.hidden_at = utcnow()
    deleted = make_reply(thread, make_user("oops"), "Deleted words")
    deleted.deleted_at = utcnow()
    db.session.commit()
    recount_counters()
    feed, raw = parse(client, f"/feeds/t/{thread.id}.atom")
    assert "spam.example" not in raw and "Deleted words" not in raw
    assert [e.title for e in feed.entries] == [f"Re: {NASTY}", NASTY]
    assert feed.entries[0].link == f"http://forum.test/p/{first.id}"
    assert feed.feed.title == f"{NASTY} · Roundabout"
    thread.hidden_at = utcnow()
    db.session.commit()
    recount_counters()
    assert client.get(f"/feeds/t/{thread.id}.atom").status_code == 404


def test_user_posts_feed(client):
    bob = make_user("bob")
    thread = make_thread(title="Bob answers here")
    make_reply(thread, bob, "Bob's first answer")
    make_reply(thread, bob, "Bob's second answer")
    make_reply(thread, make_user("carol"), "Carol's answer")
    feed, _ = parse(client, "/feeds/u/bob.atom")
    assert len(feed.entries) == 2
    assert "second answer" in feed.entries[0].content[0].value
    assert all(e.author == "bob" for e in feed.entries)
    assert client.get("/feeds/u/nobody_here.atom").status_code == 404


def test_wiki_changes_feed_from_revisions(client):
    ann = make_user("ann")
    page = make_wiki_page("Router <setup> guide", ann, "Step one.")
    edit_wiki_page(page, make_user("bob"), "Step one, then **two**.", summary="Added <step> two")
    gone = make_wiki_page("Deleted page", ann)
    gone.deleted_at = utcnow()
    db.session.commit()
    recount_counters()
    feed, raw = parse(client, "/feeds/wiki.atom")
    assert [e.title for e in feed.entries] == [
        "Router <setup> guide (revision 2)",
        "Router <setup> guide (revision 1)",
    ]
    newest = feed.entries[0]
    assert newest.author == "bob" and newest.link == f"http://forum.test{page.url}"
    assert (
        "<strong>two</strong>" in newest.content[0].value
        and "Added &lt;step&gt; two" in newest.content[0].value
    )
    assert "Deleted page" not in raw


@pytest.mark.parametrize("path", ["/", "board", "thread", "profile"])
def test_pages_link_their_feeds(client, path):
    board = make_board("Billing")
    thread = make_thread(board, make_user("dee"), title="Refund question")
    url, feed = {
        "/": ("/", "/feeds/latest.atom"),
        "board": (board.url, f"/feeds/b/{board.slug}.atom"),
        "thread": (thread.url, f"/feeds/t/{thread.id}.atom"),
        "profile": ("/u/dee", "/feeds/u/dee.atom"),
    }[path]
    page = client.get(url).get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml"' in page and f'href="{feed}"' in page
    assert client.get(feed).status_code == 200


def test_an_empty_forum_has_valid_feeds(client):
    for url in ("/feeds/latest.atom", "/feeds/wiki.atom"):
        feed, _ = parse(client, url)
        assert feed.entries == [] and feed.feed.updated_parsed
