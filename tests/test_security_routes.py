"""Security tests generated from app.url_map, so routes added later are covered automatically.

SECURITY 13 (anonymous refused), 18 (CSRF), 19 (no state change over GET), 25 (bad form
data never 500s), 29 (security headers on every GET route) and 30 (no-store on private pages).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from forum.security import CONTENT_SECURITY_POLICY
from tests.factories import login, make_board, make_reply, make_thread
from tests.factories_moderation import make_admin, make_member, snapshot

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
# The only state-changing endpoints an anonymous visitor may use. A new public POST route must
# be added here on purpose (password reset, for example), or the anonymous test fails.
PUBLIC_ENDPOINTS = {
    "auth.login", "auth.register", "auth.logout",
    # Mail links: the signed token in the URL is the proof, not a login.
    "notifications.request_reset", "notifications.reset_password",
    "notifications.confirm_email", "notifications.unsubscribe",
}  # fmt: skip


# The same bytes for every viewer, signed in or not: cached on purpose (robots.txt, the sitemaps,
# generated avatars). Everything else a signed-in member gets is never cached.
PUBLIC_CACHED_ENDPOINTS = {"static", "look.avatar", "look.robots", "look.sitemap_index",
                           "look.sitemap_pages", "look.sitemap_threads"}  # fmt: skip


class World:
    """One of everything, so every URL rule can be filled with real ids."""

    def __init__(self) -> None:
        self.board = make_board("Broadband")
        self.member = make_member("member_one")
        self.admin = make_admin("admin_one")
        self.thread = make_thread(self.board, self.member, title="Router drops wifi")
        self.post = make_reply(self.thread, self.member, "A reply to act on")

    def values(self, rule: Rule) -> dict[str, Any]:
        known = {
            "thread_id": self.thread.id, "post_id": self.post.id, "board_id": self.board.id,
            "username": self.member.username, "user_id": self.member.id,
        }  # fmt: skip
        values: dict[str, Any] = {}
        for name in rule.arguments:
            if name in known:
                values[name] = known[name]
            elif name == "slug":
                values[name] = self.thread.slug if "thread_id" in rule.arguments else self.board.slug
            else:
                if rule.defaults and name in rule.defaults:
                    values[name] = rule.defaults[name]
                    continue
                converter = rule._converters[name]  # noqa: SLF001 (the converter says int or string)
                values[name] = 1 if isinstance(converter, NumberConverter) else "x"
        return values

    def url(self, rule: Rule) -> str:
        _, path = rule.build(self.values(rule), append_unknown=False)
        return path


def rules(app: Flask, methods: tuple[str, ...]) -> Iterator[tuple[Rule, str]]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) & set(methods)):
            yield rule, method


def test_there_are_routes_to_check(app):
    found = {rule.endpoint for rule, _ in rules(app, STATE_CHANGING)}
    assert {"auth.login", "boards.reply", "moderation.lock_thread", "admin.boards"} <= found


def test_every_state_changing_route_refuses_a_missing_csrf_token(app, client):
    world = World()
    login(client, world.admin)
    for rule, method in rules(app, STATE_CHANGING):
        url = world.url(rule)
        before = snapshot()
        response = client.open(url, method=method, data={"reason": "x", "body": "y"}, csrf=False)
        assert response.status_code == 400, (
            f"{method} {url} answered {response.status_code} without a CSRF token"
        )
        assert snapshot() == before, f"{method} {url} changed the database without a CSRF token"


def test_every_state_changing_route_refuses_anonymous_users(app, client):
    world = World()
    checked = 0
    for rule, method in rules(app, STATE_CHANGING):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = world.url(rule)
        before = snapshot()
        response = client.open(url, method=method, data={"reason": "x", "body": "y"})
        if url.startswith("/api/"):
            assert response.status_code == 401, f"{method} {url}: {response.status_code}"
        else:
            assert response.status_code == 302, f"{method} {url}: {response.status_code}"
            assert response.headers["Location"].startswith("/login"), f"{method} {url}"
        json = client.open(url, method=method, json={"reason": "x"}, headers={"Accept": "application/json"})
        assert json.status_code == 401, f"{method} {url} (JSON): {json.status_code}"
        assert snapshot() == before, f"anonymous {method} {url} changed the database"
        checked += 1
    assert checked >= 20


def test_no_state_change_over_get(app, client):
    """POST-only routes answer GET with 405 and change nothing (logout, delete, lock, ...)."""
    world = World()
    login(client, world.admin)
    for rule in app.url_map.iter_rules():
        methods = rule.methods or set()
        if rule.endpoint == "static" or "GET" in methods:
            continue
        url = world.url(rule)
        before = snapshot()
        response = client.get(url)
        # 405, or what a page route that happens to match says: /t/1/reply is thread 1 with the
        # slug "reply" (301), /confirm-email/resend a confirmation link with the token "resend" (400).
        assert response.status_code in (301, 400, 405), f"GET {url}: {response.status_code}"
        assert snapshot() == before
    assert client.get("/settings").status_code == 200  # still logged in: GET /logout did nothing


def get_routes(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or set())]


def assert_security_headers(response: Any, url: str, https: bool = False) -> None:
    headers = response.headers
    assert headers.get("Content-Security-Policy") == CONTENT_SECURITY_POLICY, url
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", url
    if https:
        assert headers.get("Strict-Transport-Security") == "max-age=31536000", url
    else:
        assert "Strict-Transport-Security" not in headers, url


@pytest.mark.parametrize("who", ["anonymous", "admin"])
def test_security_headers_on_every_get_route(app, client, who):
    world = World()
    if who == "admin":
        login(client, world.admin)
    checked = 0
    for rule in get_routes(app):
        url = "/static/css/site.css" if rule.endpoint == "static" else world.url(rule)
        response = client.get(url)
        response.close()
        assert response.status_code < 500, url
        assert_security_headers(response, url)
        if who == "admin" and rule.endpoint not in PUBLIC_CACHED_ENDPOINTS:
            # SECURITY 30: pages for a logged-in member (settings, notices, moderation) are never cached.
            assert "no-store" in response.headers.get("Cache-Control", ""), url
        checked += 1
    assert checked >= 15


def test_hsts_under_https(app_config, request):
    app_config["BASE_URL"] = "https://forum.example"
    app = request.getfixturevalue("app")
    client = app.test_client()
    for url in ("/", "/login", "/nowhere"):
        assert_security_headers(client.get(url, base_url="https://forum.example"), url, https=True)


def test_private_pages_are_not_cached(client):
    world = World()
    login(client, world.admin)
    for url in ("/settings", "/me/notices", "/mod/queue", "/mod/log", "/admin/roles", "/admin/boards"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response.headers["Cache-Control"], url


# -- SECURITY 25: bad form data never 500s --------------------------------------------------------

FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", re.DOTALL)
FIELD = re.compile(r"<(?:input|textarea|select)[^>]*\bname=\"([^\"]+)\"")

nasty_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200).map(lambda s: s + "\x00"),
    st.just("x" * 1_000_000),
    st.integers(min_value=-(2**63), max_value=2**63).map(str),
    st.sampled_from(["-1", "0", "999999999999", "1e9", "NaN", "[]", "{}", "null", "true", "../../etc/passwd",
                     "<script>alert(1)</script>", "%00", "\ud7ff", "\u202e", " " * 3]),
)  # fmt: skip
nasty_value = st.one_of(nasty_text.map(lambda s: s.encode("utf-8", "surrogatepass")), st.binary(max_size=40))


def form_fields(app: Flask, client: Any, world: World) -> dict[str, set[str]]:
    """Field names per form action, read from every page the admin can open."""
    fields: dict[str, set[str]] = {}
    for rule in get_routes(app):
        if rule.endpoint == "static" or rule.arguments - {
            "thread_id",
            "post_id",
            "slug",
            "username",
            "board_id",
        }:
            continue
        url = world.url(rule)
        page = client.get(url).get_data(as_text=True)
        for action, body in FORM.findall(page):
            target = urllib.parse.urlsplit(action or url).path
            fields.setdefault(target, set()).update(FIELD.findall(body))
    return fields


def test_bad_form_data_never_causes_a_server_error(app, client):
    world = World()
    login(client, world.admin)
    known = form_fields(app, client, world)
    every_field = set().union(*known.values()) - {"csrf_token"}
    targets = [
        (world.url(rule), method)
        for rule, method in rules(app, STATE_CHANGING)
        if rule.endpoint not in {"auth.logout"}
    ]
    assert len(targets) >= 20

    def fuzz(url: str, method: str, names: list[str]) -> None:
        @settings(max_examples=6, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
        @given(st.dictionaries(st.sampled_from(names), nasty_value, max_size=len(names)))
        def post_bad_data(data: dict[str, bytes]) -> None:
            pairs = [("csrf_token", client.csrf_token().encode())] + list(data.items())
            body = urllib.parse.urlencode(pairs).encode()
            response = client.open(
                url, method=method, data=body, content_type="application/x-www-form-urlencoded"
            )
            assert response.status_code < 500, f"{method} {url} {data!r:.300}: {response.status_code}"
            if client.get("/settings").status_code != 200:  # a fuzzed request may log the admin out
                login(client, world.admin)

        post_bad_data()

    for url, method in targets:
        fuzz(url, method, sorted((known.get(url, set()) - {"csrf_token"}) or every_field))
