"""Helpful and idea votes in Chromium: in place with JavaScript (under the strict CSP), and
by plain form posts without it. Skips without /usr/bin/chromium; SQLite only."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from forum.extensions import db
from forum.ideas.models import Idea
from tests.e2e.browsing import logged_in_page
from tests.factories import make_user
from tests.factories_qa import make_idea, make_ideas_board, make_question

pytestmark = pytest.mark.e2e


@pytest.fixture
def chromium(browser: Any) -> Any:
    """The shared session browser from tests/e2e/conftest.py."""
    return browser


def test_helpful_vote_updates_in_place_with_javascript(live_server, chromium):
    thread, (answer,) = make_question()
    voter = make_user()
    page, problems = logged_in_page(chromium, live_server, voter)
    page.goto(live_server + thread.url)
    page.evaluate("window.stillHere = true")  # gone if the page reloads
    form = page.locator(f"#post-{answer.id} .helpful-form")

    form.get_by_role("button", name="Helpful").click()
    form.get_by_text("1 found this helpful").wait_for()
    assert form.get_by_role("button").get_attribute("aria-pressed") == "true"
    assert page.evaluate("window.stillHere") is True
    db.session.expire_all()
    assert answer.helpful_count == 1 and answer.author.reputation == 1

    form.get_by_role("button", name="Helpful ✓").click()
    form.get_by_text("0 found this helpful").wait_for()
    assert page.evaluate("window.stillHere") is True
    db.session.expire_all()
    assert answer.helpful_count == 0
    page.context.close()
    assert problems == []


def test_helpful_vote_works_without_javascript(live_server, chromium):
    thread, (answer,) = make_question()
    page, problems = logged_in_page(chromium, live_server, make_user(), javascript=False)
    page.goto(live_server + thread.url)
    page.locator(f"#post-{answer.id} .helpful-form").get_by_role("button", name="Helpful").click()
    page.wait_for_url(f"**{thread.url}#post-{answer.id}")
    assert page.locator(f"#post-{answer.id} .helpful-count").inner_text() == "1 found this helpful"
    page.context.close()
    assert problems == []


def test_idea_vote_updates_count_and_budget_in_place(live_server, chromium):
    board = make_ideas_board(slug="ideas")
    thread = make_idea(board, title="Dark mode for the app")
    page, problems = logged_in_page(chromium, live_server, make_user())
    page.goto(live_server + "/b/ideas")
    page.evaluate("window.stillHere = true")
    page.get_by_role("button", name="Vote for Dark mode for the app").click()
    page.get_by_role("button", name="Take back your vote for Dark mode for the app").wait_for()
    assert page.locator(".idea-vote-count").first.inner_text() == "1 vote"
    expect(page.get_by_text("You have 9 of 10 votes left.")).to_be_visible()
    assert page.evaluate("window.stillHere") is True
    db.session.expire_all()
    assert db.session.get(Idea, thread.id).vote_count == 1
    page.context.close()
    assert problems == []
