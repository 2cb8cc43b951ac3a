"""Every page type through real checkers, as each role sees it (issue 16).

For anonymous visitors, members, moderators and administrators, on a desktop (1366x900) and a
phone (390x844), in light and dark: Chromium loads each page of tests/e2e/page_types.py and
- axe-core (WCAG 2.2 AA and best practices) finds no violation,
- the page does not scroll sideways (phones also at 320 pixels),
- nothing is logged as an error (a CSP violation is one) and no script fails;
and the Nu Html Checker (vnu.jar) finds no error in the HTML each role is sent.

The checkers are npm packages in tools/checks (package.json and lockfile), installed by
`make test`; nothing is fetched while the tests run. One browser; one context per role,
viewport and scheme, reused for all of its pages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.page_types import (
    DESKTOP,
    NOT_PAGES,
    PAGE_TYPES,
    PHONE,
    ROLE_USERS,
    ROLES,
    SCHEMES,
    build_sample,
    log_in,
    sample_app,
    serve,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHECKERS = Path(__file__).resolve().parents[2] / "tools" / "checks" / "node_modules"
AXE = CHECKERS / "axe-core" / "axe.min.js"
VNU = CHECKERS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => `${v.id} (${v.impact}): ${v.help} at ` +
    v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""
SCROLL_WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def _checkers_reason() -> str | None:
    if not AXE.exists() or not VNU.exists():
        return f"the page checkers are not installed in {CHECKERS} (make test runs npm ci in tools/checks)"
    if not shutil.which("java"):
        return "no java for the Nu Html Checker (vnu.jar)"
    return None


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The sample forum (demo + extras) served on a free port: (base URL, sample)."""
    reason = _checkers_reason()
    if reason:
        pytest.skip(reason)
    app = sample_app(str(tmp_path_factory.mktemp("page-checks")))
    sample = build_sample(app)
    base, server = serve(app)
    yield base, sample
    server.shutdown()


COMBINATIONS = [
    (role, viewport, scheme) for role in ROLES for viewport in (DESKTOP, PHONE) for scheme in SCHEMES
]


@pytest.mark.parametrize(
    ("role", "viewport", "scheme"),
    COMBINATIONS,
    ids=[f"{role}-{viewport.name}-{scheme}" for role, viewport, scheme in COMBINATIONS],
)
def test_every_page_passes_the_checks(
    browser: Any, sample_site: Any, role: str, viewport: Any, scheme: str
) -> None:
    base, sample = sample_site
    context = browser.new_context(
        viewport={"width": viewport.width, "height": viewport.height},
        is_mobile=viewport.mobile,
        has_touch=viewport.mobile,
        color_scheme=scheme,
    )
    context.add_init_script(path=str(AXE))  # through the DevTools protocol: the page's CSP stays strict
    page = context.new_page()
    page.set_default_timeout(15_000)
    logged: list[str] = []
    page.on("console", lambda message: message.type == "error" and logged.append(message.text))
    page.on("pageerror", lambda error: logged.append(f"script error: {error}"))
    if role != "anonymous":
        username = ROLE_USERS[role]
        log_in(page, base, username, sample["passwords"][username])
        assert page.locator(".account-menu").count() == 1, f"{username} could not log in"
    failures: list[str] = []
    sources: dict[str, str] = {}
    for page_type in [p for p in PAGE_TYPES if p.role == role]:
        logged.clear()
        response = page.goto(base + page_type.path(sample))
        where = page_type.label
        if response is None or response.status != page_type.status:
            failures.append(
                f"{where}: HTTP {response.status if response else None}, expected {page_type.status}"
            )
            continue
        widths = [viewport.width] if not viewport.mobile else [390, 320]
        for width in widths:
            if width != viewport.width:
                page.set_viewport_size({"width": width, "height": viewport.height})
            scroll_width, inner = page.evaluate(SCROLL_WIDTH)
            if scroll_width > inner:
                failures.append(f"{where}: scrolls sideways at {width} px ({scroll_width} px wide)")
        if viewport.mobile:
            page.set_viewport_size({"width": viewport.width, "height": viewport.height})
        for violation in page.evaluate(RUN_AXE, AXE_TAGS):
            failures.append(f"{where}: axe {violation}")
        expected = f"the server responded with a status of {page_type.status}"
        failures += [
            f"{where}: console: {text}" for text in logged if page_type.status == 200 or expected not in text
        ]
        if viewport is DESKTOP and scheme == "light":
            sources[where] = response.text()
    context.close()
    if sources:
        failures += _html_errors(sources)
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)


def _html_errors(sources: dict[str, str]) -> list[str]:
    """The Nu Html Checker's errors for each page's HTML (one Java start for all of them)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        files = {}
        for number, (where, html) in enumerate(sources.items()):
            path = Path(folder, f"page{number}.html")
            path.write_text(html)
            files[path.name] = where
        paths = [str(Path(folder, name)) for name in files]
        result = subprocess.run(
            ["java", "-Xss2m", "-jar", str(VNU), "--errors-only", "--format", "json", "--stdout", *paths],
            capture_output=True,
            text=True,
            timeout=300,
        )
    messages = json.loads(result.stdout or "{}").get("messages", [])
    return [
        f"{files.get(message.get('url', '').rsplit('/', 1)[-1], message.get('url'))}: vnu line {message.get('lastLine')}: {message['message']}"
        for message in messages
        if message.get("type") == "error"
    ]


def test_first_screens_show_what_matters(browser: Any, sample_site: Any) -> None:
    """A board shows at least 12 threads on a desktop's first screen; on a 390x844 phone a
    member sees the first post of a thread, and search results, without scrolling."""
    base, sample = sample_site
    desktop = browser.new_context(viewport={"width": DESKTOP.width, "height": DESKTOP.height})
    page = desktop.new_page()
    page.goto(base + "/b/phone")
    bottoms = page.evaluate(
        "() => [...document.querySelectorAll('.thread-row')].map(r => r.getBoundingClientRect().bottom)"
    )
    assert sum(1 for bottom in bottoms if bottom <= DESKTOP.height) >= 12, bottoms
    desktop.close()
    phone = browser.new_context(
        viewport={"width": PHONE.width, "height": PHONE.height}, is_mobile=True, has_touch=True
    )
    page = phone.new_page()
    log_in(page, base, "maria", sample["passwords"]["maria"])
    page.goto(base + sample["long_thread_url"])
    header_bottom = page.evaluate(
        "() => document.querySelector('.site-header').getBoundingClientRect().bottom"
    )
    assert header_bottom <= 64, "the header is one row"
    first_post = page.evaluate("() => document.querySelector('.post .post-body').getBoundingClientRect().top")
    assert first_post < PHONE.height - 100, f"the first post starts {first_post} px down"
    page.goto(base + "/search?q=wifi+channel")
    first_result = page.evaluate("() => document.querySelector('.search-result').getBoundingClientRect().top")
    assert first_result < PHONE.height - 100, f"the first result starts {first_result} px down"
    touch = page.evaluate(
        """() => [...document.querySelectorAll('header a, header summary, header button, .pagination a')]
                 .filter(e => e.offsetParent).map(e => [e.textContent.trim() || e.getAttribute('aria-label'),
                 Math.round(e.getBoundingClientRect().height)]).filter(([, h]) => h < 44)"""
    )
    assert touch == [], f"touch targets under 44 px: {touch}"
    phone.close()


def test_no_page_type_lacks_a_check() -> None:
    """Every route that answers GET with a page is in PAGE_TYPES (or named in NOT_PAGES), every
    role has pages, and every listed page type names a route that exists."""
    from forum import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40})
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    checked = {page_type.endpoint for page_type in PAGE_TYPES}
    assert sorted(endpoints - checked - NOT_PAGES) == [], "pages without a check: add them to PAGE_TYPES"
    unknown = {p.endpoint for p in PAGE_TYPES if p.status != 404} - endpoints
    assert not unknown, f"page types for routes that do not exist: {unknown}"
    assert {page_type.role for page_type in PAGE_TYPES} == set(ROLES)
    assert {viewport.name for viewport in (DESKTOP, PHONE)} == {"desktop", "phone"} and SCHEMES == (
        "light",
        "dark",
    )
