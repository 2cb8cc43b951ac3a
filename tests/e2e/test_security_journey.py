"""SECURITY 28: every XSS vector posted through the browser; no dialog, no CSP violation anywhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum.boards.models import Post
from forum.extensions import db
from tests.e2e.browsing import log_in
from tests.factories import make_board, make_thread
from tests.factories_moderation import make_member, make_moderator
from tests.test_security_content import XSS_VECTORS

pytestmark = pytest.mark.e2e

# A 1x1 GIF answers for external hosts: there is no network here, and a failed image load is not XSS.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


def serve_external_images(target):
    target.route(
        lambda url: not url.startswith("http://127.0.0.1"),
        lambda route: route.fulfill(status=200, content_type="image/gif", body=PIXEL),
    )


# The development server leaves a static file unclosed when Chromium drops a favicon request on
# navigation; that is the test server's housekeeping, not the forum's.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_xss_vectors_never_run_in_chromium(live_server, page, browser):
    board = make_board("Broadband", slug="broadband")
    author = make_member("vector_vic", display_name="<img src=x onerror=alert('name')>")
    thread = make_thread(board, author, title="<img src=x onerror=alert('title')> wifi")
    make_moderator("mod_mia")

    serve_external_images(page)
    log_in(page, live_server, "vector_vic")
    page.goto(live_server + thread.url)
    for vector in XSS_VECTORS:
        page.get_by_label("Your reply").fill(vector)
        page.get_by_role("button", name="Post reply").click()
        page.wait_for_load_state()
    assert db.session.scalar(select(Post).where(Post.position == len(XSS_VECTORS) + 1)) is not None
    last_page = (len(XSS_VECTORS) + 1 - 1) // 20 + 1
    for number in range(1, last_page + 1):
        page.goto(f"{live_server}{thread.url}?page={number}")
    page.goto(live_server + "/")
    page.goto(live_server + board.url)
    page.goto(live_server + author.url)

    # A moderator opens the moderation pages where the same text appears.
    moderator = browser.new_context()
    mod_page = moderator.new_page()
    serve_external_images(mod_page)
    problems = []
    mod_page.on("dialog", lambda dialog: (problems.append(dialog.message), dialog.dismiss()))
    mod_page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    log_in(mod_page, live_server, "mod_mia")
    first_reply = db.session.scalar(select(Post).where(Post.position == 2))
    mod_page.goto(f"{live_server}/p/{first_reply.id}/hide")
    mod_page.get_by_label("Reason").fill("<img src=x onerror=alert('reason')>")
    mod_page.get_by_role("button", name="Hide from members").click()
    for path in (thread.url, "/mod/log", f"/t/{thread.id}/moderate", "/mod/users/vector_vic", "/mod/queue"):
        mod_page.goto(live_server + path)
    moderator.close()
    assert problems == []
