"""A new customer's first visit, end to end in Chromium: register, ask, get an answer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.browsing import log_in
from tests.factories import make_board, make_thread, make_user

pytestmark = pytest.mark.e2e


def test_register_ask_reply_edit_and_delete(live_server, page, browser, page_problems):
    board = make_board("Broadband", slug="broadband", description="Wifi and speeds")
    make_thread(board, title="Router keeps dropping wifi")
    helper = make_user("helpful_hanna")

    page.goto(live_server + "/")
    expect(page.get_by_role("link", name="Broadband")).to_be_visible()
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Username").fill("new_customer")
    page.get_by_label("Email").fill("new@example.org")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("Welcome to the forum, new_customer!")).to_be_visible()

    page.get_by_role("link", name="Broadband").first.click()
    page.get_by_role("link", name="Start a thread").click()
    page.get_by_label("Title").fill("Bill shows <b>two</b> charges")
    page.get_by_label("Your question or story").fill(
        "I was charged **twice** in October.\n\n- once on the 1st\n- again on the 3rd"
    )
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".preview")
    assert preview.locator("strong").inner_text() == "twice"
    assert page.get_by_label("Title").input_value() == "Bill shows <b>two</b> charges"
    page.get_by_role("button", name="Start thread").click()
    assert page.get_by_role("heading", level=1).inner_text().endswith("Bill shows <b>two</b> charges")
    thread_url = page.url
    assert re.search(r"/t/\d+/bill-shows-b-two-b-charges$", thread_url)

    # Someone else answers, in their own browser.
    other = browser.new_context()
    other_page = other.new_page()
    log_in(other_page, live_server, helper.username, "correct horse battery staple")
    other_page.goto(thread_url)
    other_page.get_by_label("Your reply").fill("Ask billing for a *duplicate charge correction*.")
    other_page.get_by_role("button", name="Post reply").click()
    assert other_page.locator(".post").count() == 2
    other.close()

    page.reload()
    assert page.locator(".post").nth(1).locator("em").inner_text() == "duplicate charge correction"
    # The asker edits their own opening post, then deletes it.
    page.locator(".post").first.get_by_role("link", name="Edit").click()
    page.get_by_label("Text").fill("I was charged twice in October (edited).")
    page.get_by_role("button", name="Save changes").click()
    expect(
        page.locator(".post").first.get_by_text("I was charged twice in October (edited).")
    ).to_be_visible()
    expect(page.locator(".post").first.locator(".edited")).to_be_visible()
    page_problems.accept_next_confirm()
    page.locator(".post").first.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Deleted by its author")).to_be_visible()

    # Log out from the account menu in the header (a POST form).
    page.locator("summary[aria-label^='Menu for']").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
