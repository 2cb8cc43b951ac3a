"""Known problems in Chromium (issue #17): a customer reports, two others are affected (one
with JavaScript, in place; one without), an employee acknowledges, a moderator merges a
duplicate (the counts merge), the employee marks it fixed, and the affected are told."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from forum.boards.models import Thread
from forum.extensions import db
from tests.e2e.browsing import logged_in_page
from tests.factories import make_thread
from tests.factories_badges import make_employee
from tests.factories_known import define, make_question_board
from tests.factories_moderation import make_admin, make_member, make_moderator

pytestmark = pytest.mark.e2e


def logged_in(browser: Any, live_server: str, user: Any, *, javascript: bool = True) -> tuple[Any, list[str]]:
    return logged_in_page(browser, live_server, user, javascript=javascript, timeout_ms=15_000)


def set_status(page: Any, live_server: str, thread_id: int, label: str, note: str) -> None:
    page.goto(f"{live_server}/t/{thread_id}/known")
    page.get_by_label(label, exact=True).check()
    page.get_by_label("Note").fill(note)
    page.get_by_role("button", name="Save the status").click()
    page.wait_for_url(f"**/t/{thread_id}/**")


def test_report_affected_acknowledge_merge_fix_and_tell(live_server, browser):
    board = make_question_board("Broadband")
    define(board, make_admin(), "Model", choices="Hub 3\nHub 4", required=True, key="model")
    customer, ann, bob, dup_asker = (
        make_member("cara"),
        make_member("ann"),
        make_member("bob"),
        make_member("dan"),
    )
    employee, moderator = make_employee("eve_staff"), make_moderator("mod_mo")
    duplicate = make_thread(board, dup_asker, title="Hub 4 loses Wi-Fi at night too")
    pages: list[tuple[Any, list[str]]] = []

    # A customer reports, with the problem details (a required list).
    page, problems = logged_in(browser, live_server, customer)
    pages.append((page, problems))
    page.goto(f"{live_server}{board.url}/new")
    page.get_by_label("Title").fill("Hub 4 drops Wi-Fi every night")
    page.get_by_label("Model").select_option("Hub 4")
    page.locator("textarea[name=body]").fill("Every night around 2am the Wi-Fi goes.")
    page.get_by_role("button", name="Start thread").click()
    page.wait_for_url("**/t/**")
    thread = db.session.scalar(select(Thread).where(Thread.title == "Hub 4 drops Wi-Fi every night"))
    assert page.locator(".problem-values").inner_text().replace("\n", " ").strip().startswith("Model")
    assert page.locator("[data-affected-count]").inner_text() == "1 member is affected"

    # Ann is affected too, with JavaScript: the count changes in place.
    page, problems = logged_in(browser, live_server, ann)
    pages.append((page, problems))
    page.goto(live_server + thread.url)
    page.evaluate("window.stillHere = true")
    page.get_by_role("button", name="I'm affected too").click()
    page.get_by_text("2 members are affected").wait_for()
    assert page.evaluate("window.stillHere") is True
    assert page.get_by_role("button", name="I'm affected too ✓").get_attribute("aria-pressed") == "true"

    # Bob, without JavaScript: the form posts and comes back.
    page, problems = logged_in(browser, live_server, bob, javascript=False)
    pages.append((page, problems))
    page.goto(live_server + thread.url)
    page.get_by_role("button", name="I'm affected too").click()
    page.wait_for_url(f"**{thread.url}#affected")
    assert page.locator("[data-affected-count]").inner_text() == "3 members are affected"

    # The employee acknowledges, with the badge.
    staff, problems = logged_in(browser, live_server, employee)
    pages.append((staff, problems))
    set_status(staff, live_server, thread.id, "Reported", "Many reports since the update.")
    set_status(staff, live_server, thread.id, "Acknowledged", "We see it and are on it.")
    timeline = staff.locator(".known-timeline")
    assert "Acknowledged" in timeline.inner_text() and "Employee · " in timeline.inner_text()

    # A moderator merges the duplicate: its asker joins the count, once.
    mod, problems = logged_in(browser, live_server, moderator)
    pages.append((mod, problems))
    mod.goto(f"{live_server}/t/{duplicate.id}/moderate")
    mod.get_by_label("Merge into thread (its number or address)").fill(str(thread.id))
    mod.get_by_role("button", name="Merge", exact=True).click()
    mod.locator(".confirm-box button[type=submit]").click()  # "Are you sure?"
    mod.wait_for_url(f"**/t/{thread.id}/**")
    mod.goto(live_server + thread.url)
    assert mod.locator("[data-affected-count]").inner_text() == "4 members are affected"
    mod.goto(live_server + board.url)
    assert "4 affected" in mod.locator(".thread-list").inner_text()

    # The employee marks it fixed; the register shows it under "all".
    set_status(staff, live_server, thread.id, "Fixed", "Firmware 4.2 is rolling out.")
    staff.goto(f"{live_server}/known-issues?status=all")
    assert "Fixed" in staff.locator(".known-register").inner_text()

    # The affected members are told (and the asker of the merged duplicate, now affected too).
    for user in (ann, bob, dup_asker):
        page, problems = logged_in(browser, live_server, user, javascript=False)
        pages.append((page, problems))
        page.goto(live_server + "/notifications")
        text = page.locator("main").inner_text()
        assert "Fixed: Firmware 4.2 is rolling out." in text, (user.username, text)
        assert "Acknowledged: We see it and are on it." in text or user is dup_asker
    for page, problems in pages:
        page.context.close()
        assert problems == []
