"""Output safety and configuration: SECURITY 4, 21-24, 26, 27, 31 and the template lint."""

from __future__ import annotations

import logging
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import html5lib
import pytest

from forum.mail.services import send_pending
from forum.markup import ALLOWED_CLASSES, ALLOWED_TAGS, render_markdown
from tests.conftest import csrf_token_in
from tests.factories import PASSWORD, login, make_board, make_thread
from tests.factories_moderation import make_admin, make_member, make_moderator

ROOT = Path(__file__).resolve().parent.parent

# -- SECURITY 21 / 26: the XSS battery, parsed as a browser would ----------------------------------

XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><circle r=10 /></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;&#x61;vascript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](http://insecure.example/pixel.gif)",
    '![x](https://ok.example/a.png "title" onerror=alert(1))',
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    '<https://example.com/" onmouseover="alert(1)>',
    'https://example.com/"onmouseover="alert(1)',
    '[x](https://example.com "a" onclick=alert(1))',
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "<a href=x target=_blank id=top name=foo class=evil>x</a>",
    "<<script>script>alert(1)<</script>/script>",
    "<scr<script>ipt>alert(1)</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<!--<img src=x onerror=alert(1)>-->",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "[<img src=x onerror=alert(1)>](https://example.com)",
    "<object data=javascript:alert(1)>",
    "<base href=https://evil.example/>",
    "<meta http-equiv=refresh content=0;url=javascript:alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "[x](mailto:someone@example.com)",
]


def browser_scheme(url: str) -> str | None:
    """The scheme a browser's URL parser sees (it strips C0/space ends and removes tabs and newlines)."""
    cleaned = re.sub(
        r"[\t\n\r]",
        "",
        url.strip(
            "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f"
            "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "
        ),
    )
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", cleaned)
    return match.group(1).lower() if match else None


def check_fragment(html: str) -> None:
    """Walk the parsed HTML: only allowed tags, no handlers, styles, ids, targets or bad schemes."""
    fragment = html5lib.parseFragment(html, namespaceHTMLElements=False)
    for element in fragment.iter():
        if not isinstance(element.tag, str) or element.tag == "DOCUMENT_FRAGMENT":
            continue
        assert element.tag in ALLOWED_TAGS, element.tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (name, html)
            assert name not in ("style", "id", "name", "target"), (name, html)
            if name in ("href", "src"):
                scheme = browser_scheme(value)
                assert scheme is None or scheme in ("http", "https", "mailto"), (value, html)
            if name == "src":
                assert value.startswith("https://") or value.startswith("/static/"), html
            if name == "class":
                assert set(value.split()) <= ALLOWED_CLASSES.get(element.tag, set()), html
        if element.tag == "a" and "href" in element.attrib:
            assert element.attrib.get("rel") == "nofollow ugc noopener", html


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_xss_vectors_render_harmless(vector):
    check_fragment(str(render_markdown(vector)))


def test_xss_vectors_through_a_thread_page(client):
    author = make_member("author")
    thread = make_thread(make_board(), author, title="All the vectors")
    login(client, author)
    for vector in XSS_VECTORS:
        client.post(f"/t/{thread.id}/reply", data={"body": vector, "submit": "1"})
    page = client.get(thread.url).get_data(as_text=True)
    document = html5lib.parse(page, namespaceHTMLElements=False)
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for name in element.attrib:
            assert not name.lower().startswith("on"), name
        if element.tag == "script":
            assert element.attrib.get("src", "").startswith("/static/") and not (element.text or "").strip()
        assert (
            element.tag not in ("iframe", "object", "embed", "base", "meta")
            or element.tag == "meta"
            and ("http-equiv" not in element.attrib)
        )
        if element.tag == "a":
            assert not element.attrib.get("href", "").lower().startswith(("javascript", "data", "vbscript"))


# -- SECURITY 22, 23, 24 -------------------------------------------------------------------------

EVIL_TITLE = "<img src=x onerror=alert(1)> title"


def test_titles_names_and_reasons_are_escaped_everywhere(client):
    board = make_board("<b>Board</b>")
    author = make_member("author", display_name="<script>alert(1)</script>")
    thread = make_thread(board, author, title=EVIL_TITLE)
    moderator = make_moderator("moddy")
    login(client, moderator)
    client.post(f"/t/{thread.id}/lock", data={"lock-reason": "<img src=y onerror=alert(2)>"})
    pages = [
        "/",
        board.url,
        thread.url,
        author.url,
        "/mod/log",
        "/mod/users/author",
        f"/t/{thread.id}/moderate",
    ]
    for url in pages:
        response = client.get(url, follow_redirects=True)
        page = response.get_data(as_text=True)
        assert "<img src=x onerror" not in page and "<script>alert(1)" not in page, url
        assert "<img src=y onerror" not in page, url
    assert "&lt;img src=x onerror=alert(1)&gt; title" in client.get(thread.url).get_data(as_text=True)


def test_post_bodies_are_never_templates(client):
    author = make_member()
    thread = make_thread(make_board(), author, title="Template test", body="{{7*7}} {% if 1 %}x{% endif %}")
    page = client.get(thread.url).get_data(as_text=True)
    assert "{{7*7}} {% if 1 %}x{% endif %}" in page


def test_rendering_is_bounded(client):
    author = make_member()
    thread = make_thread(make_board(), author)
    login(client, author)
    too_long = client.post(f"/t/{thread.id}/reply", data={"body": "a" * 32_001, "submit": "1"})
    assert too_long.status_code == 422 and "a" * 100 in too_long.get_data(as_text=True)
    started = time.perf_counter()
    brackets = client.post(f"/t/{thread.id}/reply", data={"body": "[" * 20_000, "submit": "1"})
    assert brackets.status_code < 500 and time.perf_counter() - started < 2


def test_templates_do_not_use_safe_or_render_template_string():
    """SECURITY 22/23: stored HTML goes through the `cooked` filter only; no template from a string."""
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"\|\s*safe\b", text) or re.search(r"autoescape\s+false", text):
            offenders.append(str(path.relative_to(ROOT)))
    for path in (ROOT / "forum").rglob("*.py"):
        if "render_template_string" in path.read_text(encoding="utf-8"):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


# -- SECURITY 4: enumeration-safe login ------------------------------------------------------------


@pytest.fixture
def real_argon2(app_config):
    app_config.update(ARGON2_TIME_COST=3, ARGON2_MEMORY_COST=65536, ARGON2_PARALLELISM=4)


def test_unknown_user_and_wrong_password_read_and_time_the_same(real_argon2, client):
    """Byte-identical pages; median time difference < 50 ms over 20 paired tries.

    CPU time (immune to other processes on a shared machine) must differ by < 50 ms in every
    run. Wall-clock time is what an attacker sees; other processes only add noise to it, never
    a systematic difference, so a noisy run is measured again (up to three runs).
    """
    make_member("alice")

    def attempt(name: str) -> tuple[bytes, float, float]:
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.post("/login", data={"login": name, "password": "wrong password"})
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        # Identical apart from the CSRF token and the name the visitor typed (kept in the field).
        body = body.replace(csrf_token_in(body), "TOKEN").replace(f'value="{name}"', 'value="NAME"')
        return body.encode(), elapsed, cpu

    def measure() -> tuple[float, float]:
        wall, cpu = [], []
        for index in range(20):
            # Paired tries in alternating order, so load from other processes hits both sides alike.
            known = attempt("alice") if index % 2 == 0 else None
            unknown = attempt("nobody")
            known = known or attempt("alice")
            assert known[0] == unknown[0]
            wall.append(known[1] - unknown[1])
            cpu.append(known[2] - unknown[2])
        return abs(statistics.median(wall)), abs(statistics.median(cpu))

    attempt("nobody")  # warm up: the dummy hash is computed once
    for _run in range(3):
        wall, cpu = measure()
        assert cpu < 0.050, f"median CPU time difference {cpu * 1000:.1f} ms"
        if wall < 0.050:
            break
    assert wall < 0.050, f"median wall-clock difference {wall * 1000:.1f} ms in three runs"


# -- SECURITY 27: open redirects -------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
     "http:evil.example", "/%0d%0aLocation:https://evil.example", " //evil.example", "///evil.example"],
)  # fmt: skip
def test_login_never_redirects_off_site(client, target):
    make_member("alice")
    response = client.post("/login", query_string={"next": target},
                           data={"login": "alice", "password": PASSWORD})  # fmt: skip
    location = response.headers["Location"]
    assert response.status_code == 302 and location.startswith("/") and not location.startswith(("//", "/\\"))


# -- SECURITY 31: production configuration and logs -------------------------------------------------

GOOD_SECRET = "a-production-secret-that-is-long-enough-0123456789"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"FORUM_DEBUG": "true"}, "DEBUG is on"),
        ({"FORUM_SECRET_KEY": "short-secret"}, "SECRET_KEY is shorter"),
        ({"FORUM_WORKERS": "4", "FORUM_RATELIMIT_STORAGE_URI": "memory://"}, "memory:// storage"),
    ],
)
def test_production_refuses_unsafe_configuration(tmp_path, overrides, message):
    env = {**os.environ, "FORUM_ENV": "production", "FORUM_SECRET_KEY": GOOD_SECRET,
           "FORUM_INSTANCE_PATH": str(tmp_path), "FORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'f.db'}", **overrides}  # fmt: skip
    code = "from forum import create_app; create_app()"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and message in result.stderr
    assert env["FORUM_SECRET_KEY"] not in result.stderr + result.stdout
    flask = subprocess.run([str(Path(sys.executable).parent / "flask"), "--app", "forum", "routes"],
                           env=env, capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    assert flask.returncode != 0 and message in flask.stderr + flask.stdout
    assert env["FORUM_SECRET_KEY"] not in flask.stderr + flask.stdout
    del env["FORUM_DEBUG" if "FORUM_DEBUG" in overrides else "FORUM_ENV"]
    if "FORUM_SECRET_KEY" not in overrides and "FORUM_WORKERS" not in overrides:
        ok = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
        assert ok.returncode == 0, ok.stderr


def test_secrets_and_passwords_never_reach_the_logs(app, client, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    secret = app.config["SECRET_KEY"]
    new_password = "a brand new passphrase 123"
    client.post("/register", data={"username": "logged", "email": "logged@example.org", "password": PASSWORD})
    client.post(
        "/settings", data={"password-current_password": PASSWORD, "password-new_password": new_password}
    )
    client.post("/logout")
    client.post("/login", data={"login": "logged", "password": "the wrong password"})
    client.post("/login", data={"login": "logged", "password": new_password})
    admin = make_admin("boss")
    login(client, admin)
    client.post("/mod/users/logged/warn", data={"warn-reason": "Careful"})
    client.get("/nowhere")
    captured = capfd.readouterr()
    text = caplog.text + captured.out + captured.err
    for value in (secret, PASSWORD, new_password, "the wrong password"):
        assert value not in text


# -- SECURITY 20: a refused CSRF token never loses a long reply ----------------------------------------


def test_csrf_failure_keeps_the_typed_text(client):
    author = make_member()
    thread = make_thread(make_board(), author)
    login(client, author)
    text = "A long and careful answer. " * 200
    response = client.post(f"/t/{thread.id}/reply", data={"body": text, "submit": "1"}, csrf=False)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert text.strip() in page and "This form had expired" in page
    assert thread.reply_count == 0
    token = csrf_token_in(page)  # a fresh token: sending the form again works
    again = client.post(f"/t/{thread.id}/reply", data={"body": text, "submit": "1", "csrf_token": token})
    assert again.status_code == 302 and thread.reply_count == 1
    other = client.post("/logout", csrf=False)
    assert other.status_code == 400 and "This form had expired" in other.get_data(as_text=True)


def test_moderation_mail_and_notices_escape_and_stay_private(client, make_client, smtp_server):
    member = make_member("warned")
    bystander = make_client()
    login(bystander, make_member("bystander"))
    login(client, make_moderator("moddy"))
    reason = "<script>alert(1)</script> be kind"
    assert client.post("/mod/users/warned/warn", data={"warn-reason": reason}).status_code == 302
    send_pending()
    (message,) = smtp_server.messages_to(member.email)
    html = smtp_server.html_of(message)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; be kind" in html and "<script>" not in html
    assert "be kind" not in bystander.get("/me/notices").get_data(as_text=True)  # SECURITY 15
    owner = make_client()
    login(owner, member)
    page = owner.get("/me/notices").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; be kind" in page
