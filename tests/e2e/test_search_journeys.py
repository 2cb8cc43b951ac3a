"""Similar threads while a new thread's title is typed (issue 3), in Chromium: live with
static/js/search.js under the strict CSP, and server-rendered on the preview page without
JavaScript. Skips without /usr/bin/chromium; SQLite only, Whoosh index in tmp."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from forum.search import outbox
from tests.e2e.browsing import log_in
from tests.factories import make_board, make_reply, make_thread, make_user
from tests.factories_qa import mark

pytestmark = pytest.mark.e2e

SIMILAR_PATH = "/search/similar"
SOLVED_TITLE = "Printer offline after firmware update"
UNSOLVED_TITLE = "Printer shows offline since the update"


class SlowSimilar:
    """WSGI middleware: answers /search/similar after `delay` seconds, as a busy server would,
    and records how many of those requests the server was handling at once."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], delay: float) -> None:
        self.wsgi_app = wsgi_app
        self.delay = delay
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.titles: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != SIMILAR_PATH:
            return self.wsgi_app(environ, start_response)
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.titles.append(environ.get("QUERY_STRING", ""))
        try:
            time.sleep(self.delay)
            body = self.wsgi_app(environ, start_response)
            try:
                return list(body)
            finally:
                getattr(body, "close", lambda: None)()
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture
def helpdesk() -> Any:
    """A questions board with a solved and an unsolved printer thread, both in the index."""
    board = make_board("Helpdesk", slug="helpdesk", kind="questions")
    asker = make_user("asker")
    unsolved = make_thread(board, asker, title=UNSOLVED_TITLE, body="It says offline, the lights are on.")
    make_reply(unsolved, body="Same here.")
    solved = make_thread(board, asker, title=SOLVED_TITLE, body="After last night's update it is offline.")
    answer = make_reply(solved, body="Turn it off and on, then re-add it to the network.")
    mark(answer, asker)
    make_thread(board, asker, title="Billing address change", body="I moved house.")
    outbox.drain()  # the factories' commits drain already; this makes sure nothing waits
    assert not outbox.has_backlog()
    return board


def log_in_as_new_asker(page: Any, live_server: str) -> None:
    log_in(page, live_server, make_user("new_asker").username)


def similar_requests(page: Any) -> list[str]:
    """URLs of the similar-threads requests the page sends, in order, as they are sent."""
    sent: list[str] = []
    page.on("request", lambda request: SIMILAR_PATH in request.url and sent.append(request.url))
    return sent


def test_similar_threads_appear_while_typing_solved_first(live_server, page, helpdesk):
    log_in_as_new_asker(page, live_server)
    page.goto(live_server + "/b/helpdesk/new")
    box = page.locator("#similar-threads")
    assert box.is_hidden()
    # Announced politely as it changes (the live region is in the page before it fills).
    assert box.get_attribute("aria-live") == "polite"

    with page.expect_response(lambda response: SIMILAR_PATH in response.url):
        page.get_by_label("Title").press_sequentially("printer went offline", delay=60)
    box.wait_for(state="visible")
    # Accessible: a region named by its heading.
    region = page.get_by_role("region", name="Similar threads: is your question answered already?")
    assert region.get_by_role("heading", level=2).is_visible()
    items = region.get_by_role("listitem")
    items.nth(1).wait_for()
    assert items.count() == 2
    assert items.nth(0).get_by_role("link").inner_text() == SOLVED_TITLE
    assert items.nth(0).locator(".tag-solved").inner_text() == "Solved"
    assert items.nth(0).locator(".byline").inner_text().strip() == "in Helpdesk · 1 reply"
    # Solved: the accepted answer's first lines, so the asker may stop there (issue 14).
    answer = items.nth(0).locator(".similar-answer")
    assert answer.inner_text().endswith("Turn it off and on, then re-add it to the network.")
    assert items.nth(1).locator(".similar-answer").count() == 0
    assert items.nth(1).get_by_role("link").inner_text() == UNSOLVED_TITLE
    assert items.nth(1).locator(".tag-solved").count() == 0

    # A title that matches nothing hides the box again.
    title = page.get_by_label("Title")
    title.fill("")
    with page.expect_response(lambda response: "zebra" in response.url):
        title.press_sequentially("zebra crossing stripes", delay=30)
    box.wait_for(state="hidden")
    assert items.count() == 0

    # Back to a match, and the link leads to the thread.
    title.fill("")
    title.press_sequentially("firmware update", delay=30)
    link = box.get_by_role("link", name=SOLVED_TITLE)
    link.wait_for()
    link.click()
    page.wait_for_url("**/t/**")
    assert SOLVED_TITLE in page.get_by_role("heading", level=1).inner_text()


def test_typing_fast_sends_few_requests_one_at_a_time(live_server, page, helpdesk, app):
    slow = SlowSimilar(app.wsgi_app, delay=0.6)
    app.wsgi_app = slow
    sent = similar_requests(page)
    log_in_as_new_asker(page, live_server)
    page.goto(live_server + "/b/helpdesk/new")
    title = page.get_by_label("Title")

    # 20 characters typed quickly: debounced, so about one request, not twenty.
    title.press_sequentially("printer is offline!!", delay=40)
    page.locator("#similar-threads").get_by_role("link", name=SOLVED_TITLE).wait_for()
    page.wait_for_timeout(500)  # room for any stray late request
    assert 1 <= len(sent) <= 3, sent

    # Pauses longer than the debounce while a slow answer is still running: a newer title
    # waits, never a second request in flight, and the last title typed is the one answered.
    sent.clear()
    for text in ("printer offline", "lights are on", "firmware night"):
        title.fill(text)
        page.wait_for_timeout(400)
    page.wait_for_timeout(1500)  # any queued request has run by now
    assert slow.most_at_once == 1
    assert sent[-1].endswith("title=firmware%20night"), sent
    assert len(sent) <= 3, sent
    # Only the last title's answer is shown, not a slower, older one.
    assert page.locator("#similar-threads li").count() == 1
    assert page.locator("#similar-threads a").inner_text() == SOLVED_TITLE


def test_clearing_the_title_hides_the_box_even_if_an_answer_arrives_late(live_server, page, helpdesk, app):
    slow = SlowSimilar(app.wsgi_app, delay=0.8)
    app.wsgi_app = slow
    sent = similar_requests(page)
    log_in_as_new_asker(page, live_server)
    page.goto(live_server + "/b/helpdesk/new")
    title = page.get_by_label("Title")
    with page.expect_request(lambda request: SIMILAR_PATH in request.url):
        title.press_sequentially("printer offline", delay=20)
    assert len(sent) == 1
    title.fill("")  # changed their mind before the answer came
    page.wait_for_timeout(1500)
    assert page.locator("#similar-threads").is_hidden()
    assert slow.most_at_once == 1


def test_thread_titles_are_shown_as_text_not_html(live_server, page, page_problems):
    board = make_board("Helpdesk", slug="helpdesk")
    make_thread(board, title="<img src=x onerror=alert(1)> printer offline", body="Odd title.")
    outbox.drain()
    log_in_as_new_asker(page, live_server)
    page.goto(live_server + "/b/helpdesk/new")
    page.get_by_label("Title").press_sequentially("printer offline", delay=30)
    link = page.locator("#similar-threads a")
    link.wait_for()
    assert link.inner_text() == "<img src=x onerror=alert(1)> printer offline"
    assert page.locator("#similar-threads img").count() == 0
    page.wait_for_timeout(300)  # an onerror would have fired by now
    assert page_problems.dialogs == []


def test_preview_lists_similar_threads_without_javascript(live_server, browser, helpdesk):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    sent = similar_requests(page)
    log_in_as_new_asker(page, live_server)
    page.goto(live_server + "/b/helpdesk/new")
    assert page.locator("#similar-threads").is_hidden()

    page.get_by_label("Title").fill("printer offline after the update")
    page.get_by_label("Your question or story").fill("The printer says offline.")
    page.get_by_role("button", name="Preview").click()
    box = page.get_by_role("region", name="Similar threads: is your question answered already?")
    assert box.is_visible()
    links = box.get_by_role("link")
    assert links.all_inner_texts() == [SOLVED_TITLE, UNSOLVED_TITLE]
    assert box.get_by_role("listitem").first.locator(".tag-solved").inner_text() == "Solved"
    # What was typed is kept, so the thread can still be started from here.
    assert page.get_by_label("Title").input_value() == "printer offline after the update"
    assert sent == []  # no script ran: the list came with the page

    links.first.click()
    page.wait_for_url("**/t/**")
    assert SOLVED_TITLE in page.get_by_role("heading", level=1).inner_text()
    context.close()
    assert problems == []
