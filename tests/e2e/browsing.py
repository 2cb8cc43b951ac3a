"""Shared steps of the browser journeys: logging in through the form, a logged-in page."""

from __future__ import annotations

from typing import Any

from tests.factories import PASSWORD


def log_in(page: Any, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the form by its labels, as a person would, and land on the front page."""
    page.goto(base_url + "/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base_url + "/")


def logged_in_page(
    browser: Any,
    base_url: str,
    user: Any,
    *,
    javascript: bool = True,
    timeout_ms: int = 10_000,
    **context: Any,
) -> tuple[Any, list[str]]:
    """A page in its own context, logged in as `user`; the list collects console and page errors
    (CSP violations among them), for the journey to assert on."""
    page = browser.new_context(java_script_enabled=javascript, **context).new_page()
    page.set_default_timeout(timeout_ms)
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, base_url, user.username)
    return page, problems
