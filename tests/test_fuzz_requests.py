"""Every query parameter, path segment and form field, fuzzed: never a 500 (issue #21).

tests/test_security_routes.py fuzzes the urlencoded form fields of every state-changing
route; this adds what the red-team run got through: query parameters and path segments on
every GET route (NUL reached PostgreSQL from `/u/a%00b` and the /mod/log filters), and text
fields sent as multipart file parts. One app per backend and test; a few examples per route.
"""

from __future__ import annotations

import io
import re
import urllib.parse
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from tests.factories import login
from tests.test_security_routes import FIELD, FORM, STATE_CHANGING, World, form_fields, get_routes, rules

QUERY_NAME = re.compile(r"[?&;](?:amp;)?([a-z_]+)=")
COMMON_PARAMETERS = {"page", "next", "q", "filter", "sort", "board", "action", "actor", "user", "from", "to"}

query_text = st.one_of(
    st.text(max_size=40),
    st.text(max_size=20).map(lambda s: s + "\x00" + s),
    st.sampled_from(["-1", "0", "99999999999999999999", "1e9", "NaN", "²", "%00", "\u202e", "a" * 5000,
                     "//evil.example", "javascript:alert(1)", "2026-13-45", "../../etc/passwd"]),
)  # fmt: skip


def query_parameters(app: Flask, client: Any, world: World) -> set[str]:
    """The names of query parameters the pages use (links and GET forms), and common ones."""
    names = set(COMMON_PARAMETERS)
    for rule in get_routes(app):
        if rule.endpoint == "static":
            continue
        page = client.get(world.url(rule)).get_data(as_text=True)
        names.update(QUERY_NAME.findall(page))
        for _action, body in FORM.findall(page):
            names.update(FIELD.findall(body))
    return names - {"csrf_token"}


def fuzzed_path(rule: Rule, world: World, text: str) -> str:
    """The rule's URL with its string segments replaced by `text` (ids stay real)."""
    values = world.values(rule)
    for name in rule.arguments - set(rule.defaults or {}):
        if not isinstance(rule._converters[name], NumberConverter):  # noqa: SLF001
            values[name] = text
    try:
        _, path = rule.build(values, append_unknown=False)
    except Exception:  # a value the converter cannot put in a URL: keep the real one
        return world.url(rule)
    return path


def test_query_parameters_and_path_segments_never_cause_a_server_error(app, client):
    world = World()
    login(client, world.admin)
    names = sorted(query_parameters(app, client, world))
    routes = [rule for rule in get_routes(app) if rule.endpoint != "static"]
    assert len(routes) >= 30 and {"page", "action", "q"} <= set(names)

    def fuzz(rule: Rule) -> None:
        @settings(max_examples=4, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
        @given(query_text, st.dictionaries(st.sampled_from(names), query_text, max_size=3))
        def get_bad_address(segment: str, query: dict[str, str]) -> None:
            url = fuzzed_path(rule, world, segment)
            if query:
                url += "?" + urllib.parse.urlencode(query)
            response = client.get(url)
            response.close()
            assert response.status_code < 500, f"GET {url[:300]}: {response.status_code}"

        get_bad_address()

    for rule in routes:
        fuzz(rule)


def test_text_fields_sent_as_files_are_refused_not_a_server_error(app, client):
    world = World()
    login(client, world.admin)
    known = form_fields(app, client, world)
    checked = 0
    for rule, method in rules(app, STATE_CHANGING):
        if rule.endpoint == "auth.logout":
            continue
        url = world.url(rule)
        names = sorted(known.get(url, set()) - {"csrf_token"}) or ["body"]
        data: dict[str, Any] = {name: (io.BytesIO(b"text \x00 as a file"), f"{name}.txt") for name in names}
        data["csrf_token"] = client.csrf_token()
        response = client.open(url, method=method, data=data, content_type="multipart/form-data")
        # A form that takes files (uploads) reads the part and refuses a binary ".txt" for what it is.
        takes_these_files = set(names) <= app.extensions.get("forum.file_fields", {}).get(
            rule.endpoint, set()
        )
        expected = 422 if takes_these_files else 400
        assert response.status_code == expected, f"{method} {url}: {response.status_code}"
        assert "text \x00 as a file" not in response.get_data(as_text=True)
        checked += 1
    assert checked >= 20
