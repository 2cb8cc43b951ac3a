"""Quoting in Chromium (issue #15): with JavaScript the selected words are quoted in place; without
it "Quote" opens the reply box with the whole post quoted. Both post, render with the author and a
link back, and the quoted member hears of it. Skips without /usr/bin/chromium; SQLite only."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.notifications.models import Notification
from tests.e2e.browsing import logged_in_page
from tests.factories import make_board, make_reply, make_thread, make_user

pytestmark = pytest.mark.e2e


@pytest.fixture
def chromium(browser: Any) -> Any:
    return browser


def _quoted_thread() -> tuple[Any, Any, Any]:
    tom = make_user("tom")
    thread = make_thread(make_board("Broadband"), make_user("ann"), title="Router keeps dropping wifi")
    post = make_reply(thread, tom, "Turn off band steering. Then restart the router twice.")
    return thread, post, tom


def _quote_notifications(tom: Any) -> int:
    db.session.expire_all()
    return len(
        db.session.scalars(
            select(Notification).where(Notification.user_id == tom.id, Notification.kind == "quote")
        ).all()
    )


def test_quote_the_selected_words_with_javascript(live_server, chromium):
    thread, post, tom = _quoted_thread()
    page, problems = logged_in_page(chromium, live_server, make_user("reader"))
    page.goto(live_server + thread.url)
    page.get_by_role("link", name="Reply", exact=True).first.click()
    assert page.evaluate("location.hash") == "#reply"
    page.evaluate(
        """(id) => {
            const body = document.querySelector('#post-' + id + ' .post-body p');
            const text = body.firstChild;
            const range = document.createRange();
            range.setStart(text, 0);
            range.setEnd(text, 'Turn off band steering.'.length);
            const selection = window.getSelection();
            selection.removeAllRanges();
            selection.addRange(range);
        }""",
        post.id,
    )
    page.evaluate("window.stillHere = true")
    page.locator(f"#post-{post.id} a.quote-link").dispatch_event("click")
    box = page.locator(".reply-box textarea")
    assert box.input_value() == f"> @tom [wrote](/p/{post.id}):\n> Turn off band steering.\n\n"
    assert page.evaluate("window.stillHere") is True  # quoted in place, no page load
    box.press("End")
    box.type("Worked for me.")
    page.get_by_role("button", name="Post reply").click()
    quote = page.locator("article.post blockquote").last
    quote.wait_for()
    assert "Turn off band steering." in quote.inner_text() and "restart" not in quote.inner_text()
    assert quote.locator(f'a[href="/p/{post.id}"]').count() == 1
    assert quote.locator('a[href="/u/tom"]').count() == 1
    assert _quote_notifications(tom) == 1
    assert not problems, problems


def test_quote_the_whole_post_without_javascript(live_server, chromium):
    thread, post, tom = _quoted_thread()
    page, problems = logged_in_page(chromium, live_server, make_user("reader"), javascript=False)
    page.goto(live_server + thread.url)
    page.locator(f"#post-{post.id} a.quote-link").click()
    box = page.locator(".reply-box textarea")
    assert "Then restart the router twice." in box.input_value()
    assert box.input_value().startswith(f"> @tom [wrote](/p/{post.id}):\n> Turn off band steering.")
    page.get_by_role("button", name="Preview").click()
    assert page.locator(".reply-box .preview blockquote").count() == 1  # the preview is on the thread page
    assert page.locator("article.post").count() == 2
    page.get_by_role("button", name="Post reply").click()
    page.locator("article.post blockquote").last.wait_for()
    assert _quote_notifications(tom) == 1
    assert not problems, problems
