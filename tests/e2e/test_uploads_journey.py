"""Files in posts, in Chromium (issue #19): without JavaScript the file field is sent with the
form and its Markdown lands in the text; with JavaScript a pasted image and a dropped log file
upload at once and go in at the cursor; on a 390-pixel phone nothing scrolls sideways.
Skips without /usr/bin/chromium; SQLite only."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.browsing import logged_in_page
from tests.e2e.test_page_checks import AXE, AXE_TAGS, RUN_AXE
from tests.factories import make_board, make_thread, make_user
from tests.test_uploads import png

pytestmark = pytest.mark.e2e

UPLOAD_MARKDOWN = r"/uploads/[0-9a-f]{64}"

# A File built in the page from bytes sent by the test, put in a DataTransfer, then a paste or a
# drop event on the reply box: what Chromium hands a page when someone pastes a screenshot or
# drops a file from their desktop.
SEND_FILE = """([selector, kind, name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, {type}));
  const target = document.querySelector(selector);
  target.focus();
  const init = {bubbles: true, cancelable: true};
  const event = kind === 'paste'
    ? new ClipboardEvent('paste', {...init, clipboardData: transfer})
    : new DragEvent('drop', {...init, dataTransfer: transfer});
  return !target.dispatchEvent(event);  // true: the page took the files (preventDefault)
}"""

IMAGES_LOADED = """(selector) => [...document.querySelectorAll(selector)].map(
  image => image.complete && image.naturalWidth)"""


@pytest.fixture
def chromium(browser: Any) -> Any:
    return browser


def _loaded_widths(page: Any, selector: str) -> list[int]:
    """naturalWidth of each image (0 if it failed to load), after scrolling them into view."""
    images = page.locator(selector)
    for index in range(images.count()):
        images.nth(index).scroll_into_view_if_needed()
    page.wait_for_function("(s) => [...document.querySelectorAll(s)].every(i => i.complete)", arg=selector)
    return page.evaluate(IMAGES_LOADED, selector)


def test_without_javascript_the_chosen_image_is_added_on_preview_and_posted(live_server, chromium, tmp_path):
    board = make_board("Broadband", slug="broadband")
    member = make_user("ann")
    page, problems = logged_in_page(chromium, live_server, member, javascript=False)
    picture = tmp_path / "hub lights.png"
    picture.write_bytes(png(1600, 1000, (200, 30, 30)))  # larger than a thumbnail

    page.goto(f"{live_server}/b/{board.slug}/new")
    page.get_by_label("Title").fill("Red light on the hub")
    body = page.get_by_label("Your question or story")
    body.fill("The hub shows this since this morning:")
    assert not page.locator(".upload-status").is_visible()  # no idle progress bar without JavaScript
    page.get_by_label("Images or files").set_input_files(str(picture))
    page.get_by_label("Describe the image").fill("Hub with a red power light")
    page.get_by_role("button", name="Preview").click()

    text = body.input_value()
    assert re.fullmatch(
        rf"The hub shows this since this morning:\n\n!\[Hub with a red power light\]\({UPLOAD_MARKDOWN}\.png\)",
        text.replace("\r\n", "\n"),
    ), text
    expect(page.get_by_role("status").filter(has_text="Added to the text: hub lights.png.")).to_be_visible()
    preview = page.locator(".preview img[alt='Hub with a red power light']")
    assert preview.count() == 1
    assert _loaded_widths(page, ".preview img") == [640]  # the thumbnail, 640 wide
    assert page.get_by_label("Images or files").input_value() == ""  # sent once, not again on posting

    page.get_by_role("button", name="Start thread").click()
    page.wait_for_url(re.compile(r".*/t/\d+/red-light-on-the-hub$"))
    image = page.locator("article.post .post-body a.upload-image img")
    assert image.count() == 1
    assert image.get_attribute("alt") == "Hub with a red power light"
    key = re.search(r"/uploads/([0-9a-f]{64})/thumbnail$", image.get_attribute("src")).group(1)
    assert _loaded_widths(page, "article.post .post-body a.upload-image img") == [640]
    link = page.locator("article.post .post-body a.upload-image")
    assert link.get_attribute("href") == f"/uploads/{key}.png"
    full = page.request.get(live_server + link.get_attribute("href"))  # with the member's cookies
    assert full.status == 200 and full.headers["content-type"] == "image/png"
    link.click()  # opens the full image, 1600 pixels wide
    page.wait_for_url(f"{live_server}/uploads/{key}.png")
    assert page.evaluate("document.images[0].naturalWidth") == 1600
    assert not problems, problems


def test_with_javascript_a_pasted_image_and_a_dropped_log_upload_at_once(live_server, chromium):
    thread = make_thread(make_board("Broadband", slug="broadband"), title="Wifi drops every evening")
    member = make_user("bea")
    page, problems = logged_in_page(chromium, live_server, member)
    page.goto(live_server + thread.url)
    page.evaluate("window.stillHere = true")  # gone if the page reloads
    box = page.get_by_label("Your reply")
    box.fill("Here is what I see:")
    status = page.locator(".upload-status")
    assert not status.is_visible()  # shown once a file is on its way

    picture = base64.b64encode(png(900, 500, (30, 90, 200))).decode()
    assert page.evaluate(SEND_FILE, ["#reply textarea", "paste", "screenshot.png", "image/png", picture])
    page.wait_for_function(
        "() => /!\\[screenshot\\]\\(\\/uploads\\//.test(document.querySelector('#reply textarea').value)"
    )
    assert "Uploaded screenshot.png." in status.inner_text()
    assert page.evaluate("document.querySelector('#reply progress').value") == 100
    # The image's description is selected, so typing replaces it.
    assert (
        page.evaluate(
            "(() => { const t = document.querySelector('#reply textarea'); "
            "return t.value.slice(t.selectionStart, t.selectionEnd); })()"
        )
        == "screenshot"
    )
    box.press_sequentially("Wifi settings page")

    log = base64.b64encode(b"18:02 WAN down\n18:03 WAN up\n").decode()
    assert page.evaluate(SEND_FILE, ["#reply textarea", "drop", "router.log", "text/plain", log])
    page.wait_for_function("() => /\\[router\\.log\\]/.test(document.querySelector('#reply textarea').value)")
    assert "Uploaded router.log." in status.inner_text()
    assert not status.evaluate("node => node.classList.contains('field-error')")
    text = box.input_value()
    assert re.fullmatch(
        rf"Here is what I see:\n\n!\[Wifi settings page\]\({UPLOAD_MARKDOWN}\.png\)\n\n"
        rf"\[router\.log\]\({UPLOAD_MARKDOWN}\.log\) \(28 bytes\)",
        text,
    ), text
    assert page.evaluate("window.stillHere") is True  # uploaded in place, no page load
    if AXE.exists():  # the status line and its progress bar, now shown, pass axe-core too
        page.evaluate(AXE.read_text())  # through the DevTools protocol: the page's CSP stays strict
        assert page.evaluate(RUN_AXE, AXE_TAGS) == []

    page.get_by_role("button", name="Post reply").click()
    page.locator("article.post").nth(1).wait_for()
    reply = page.locator("article.post").nth(1)
    assert reply.locator("a.upload-image img").get_attribute("alt") == "Wifi settings page"
    assert _loaded_widths(page, "article.post a.upload-image img") == [640]
    download = reply.locator("a.attachment")
    assert download.inner_text() == "router.log"
    answer = page.request.get(live_server + download.get_attribute("href"))
    assert answer.status == 200 and answer.body() == b"18:02 WAN down\n18:03 WAN up\n"
    assert answer.headers["content-disposition"] == "attachment; filename*=UTF-8''router.log"
    assert not problems, problems


def test_with_javascript_two_files_pasted_one_after_the_other_both_keep_their_markdown(live_server, chromium):
    """The second upload lands after the first image, not over its selected description."""
    thread = make_thread(make_board("Broadband", slug="broadband"), title="Speed test results")
    page, problems = logged_in_page(chromium, live_server, make_user("cyd"))
    page.goto(live_server + thread.url)
    first = base64.b64encode(png(300, 200, (10, 10, 10))).decode()
    second = base64.b64encode(png(200, 300, (250, 250, 250))).decode()
    page.evaluate(SEND_FILE, ["#reply textarea", "paste", "before.png", "image/png", first])
    page.evaluate(SEND_FILE, ["#reply textarea", "paste", "after.png", "image/png", second])
    page.wait_for_function(
        "() => (document.querySelector('#reply textarea').value.match(/\\/uploads\\//g) || []).length === 2"
    )
    text = page.get_by_label("Your reply").input_value()
    assert re.fullmatch(
        rf"!\[before\]\({UPLOAD_MARKDOWN}\.png\)\n\n!\[after\]\({UPLOAD_MARKDOWN}\.png\)", text
    ), text
    assert not problems, problems


PHONE_WIDTH = 390


def test_on_a_phone_the_file_field_and_a_large_image_do_not_scroll_sideways(live_server, chromium, tmp_path):
    board = make_board("Broadband", slug="broadband")
    member = make_user("dee")
    page, problems = logged_in_page(
        chromium,
        live_server,
        member,
        viewport={"width": PHONE_WIDTH, "height": 844},
        is_mobile=True,
        has_touch=True,
    )

    page.goto(f"{live_server}/b/{board.slug}/new")
    field = page.locator(".upload-field")
    assert field.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    box = field.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH

    wide = tmp_path / "whole-dashboard.png"
    wide.write_bytes(png(3000, 900, (20, 160, 60)))
    page.get_by_label("Title").fill("My dashboard, the whole width of my monitor")
    page.get_by_label("Your question or story").fill("See the numbers on the right.")
    page.get_by_label("Images or files").set_input_files(str(wide))  # uploads at once, with progress
    page.locator(".upload-status", has_text="Uploaded whole-dashboard.png.").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.get_by_role("button", name="Preview").click()
    assert _loaded_widths(page, ".preview img")[0] > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.get_by_role("button", name="Start thread").click()
    page.wait_for_url(re.compile(r".*/t/\d+/"))
    image = page.locator("article.post a.upload-image img")
    assert _loaded_widths(page, "article.post a.upload-image img")[0] == 640
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    shown = image.bounding_box()
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= PHONE_WIDTH
    assert page.locator(".upload-field").is_visible()  # the reply box's file field, on the same page
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.context.close()
    assert not problems, problems
