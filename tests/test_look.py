"""Issue 16 over HTTP: avatars, search-engine files and tags, compression, wording, the demo's address.

The browser checks (axe, the Nu Html Checker, sideways scrolling, console) are in
tests/e2e/test_page_checks.py.
"""

from __future__ import annotations

import gzip
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from forum.boards.models import Thread
from forum.config import default_base_url
from forum.extensions import db
from forum.look import excerpt, plural, sentence
from forum.look import views as look_views
from forum.look.avatars import avatar_colour, initials, relative_luminance
from tests.factories import login, make_board, make_reply, make_thread, make_user, recount_counters

ROOT = Path(__file__).resolve().parent.parent


def test_avatars_are_cacheable_svg_with_initials_in_a_readable_colour(client):
    make_user("ada_l", display_name="Ada Lovelace")
    response = client.get("/u/ada_l/avatar.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert ">AL</text>" in response.get_data(as_text=True)
    assert response.cache_control.public and response.cache_control.max_age >= 86400
    again = client.get("/u/ada_l/avatar.svg", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/u/nobody_at_all/avatar.svg").status_code == 404
    # Logged-in pages are no-store, but the avatar stays cacheable for members too.
    login(client, "ada_l")
    assert client.get("/u/ada_l/avatar.svg").cache_control.public
    assert client.get("/").headers["Cache-Control"] == "private, no-store"


def test_every_avatar_colour_keeps_white_initials_readable():
    for name in [f"member{number}" for number in range(400)] + ["ada", "bob", "zoë", "x"]:
        colour = avatar_colour(name)
        red, green, blue = (int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5))
        assert 1.05 / (relative_luminance(red, green, blue) + 0.05) >= 4.5, (name, colour)
    assert avatar_colour("ada") == avatar_colour("ada") != avatar_colour("bob")
    assert [initials(n) for n in ("Ada Lovelace", "bob", "Ada (administrator)", "x", "  ")] == [
        "AL",
        "BO",
        "AA",
        "X",
        "?",
    ]


def test_thread_page_shows_avatars_icons_and_a_focusable_code_block(client):
    author = make_user("cody", display_name="Cody")
    thread = make_thread(make_board("Broadband", slug="broadband"), author, title="Long line")
    make_reply(thread, author, "```\n" + "x" * 400 + "\n```")
    page = client.get(thread.url).get_data(as_text=True)
    assert '<img class="avatar" src="/u/cody/avatar.svg?i=CO"' in page
    assert '<pre tabindex="0"' in page  # scrolls inside itself, reachable by keyboard
    assert "🔔" not in page


def test_pages_describe_themselves_for_search_engines_and_link_previews(client, app):
    board = make_board("Broadband", slug="broadband", description="Routers and outages.")
    thread = make_thread(
        board, title="Router drops every evening", body="Every evening at <8pm> the **wifi** drops."
    )
    page = client.get(thread.url).get_data(as_text=True)
    base = app.config["BASE_URL"].rstrip("/")
    assert f'<link rel="canonical" href="{base}{thread.url}">' in page
    assert '<meta name="description" content="Every evening at &lt;8pm&gt; the wifi drops.">' in page
    assert '<meta property="og:title" content="Router drops every evening">' in page
    assert '<meta property="og:type" content="article">' in page
    board_page = client.get(board.url + "?utm_source=x").get_data(as_text=True)
    assert '<meta name="description" content="Routers and outages.">' in board_page
    assert f'<link rel="canonical" href="{base}{board.url}">' in board_page
    long = make_thread(board, title="Long one", replies=21)
    second = client.get(long.url + "?page=2").get_data(as_text=True)
    assert f'<link rel="canonical" href="{base}{long.url}?page=2">' in second
    assert "Long one: page 2 of a thread in Broadband." in second


def test_robots_and_a_paginated_sitemap(client, app, monkeypatch):
    board = make_board("Broadband", slug="broadband")
    threads = [make_thread(board, title=f"Thread number {n}") for n in range(3)]
    gone = make_thread(board, title="Deleted thread")
    gone.deleted_at = gone.created_at
    hidden = make_thread(board, title="Hidden by a moderator")
    hidden.hidden_at = hidden.created_at
    db.session.commit()
    recount_counters()
    assert (
        client.get(hidden.url).status_code == 404
    )  # visitors cannot read it, so search engines are not told of it
    base = app.config["BASE_URL"].rstrip("/")
    robots = client.get("/robots.txt").get_data(as_text=True)
    assert f"Sitemap: {base}/sitemap.xml" in robots and "Disallow: /mod/" in robots
    monkeypatch.setattr(look_views, "SITEMAP_PAGE_SIZE", 2)
    index = client.get("/sitemap.xml").get_data(as_text=True)
    assert re.findall(r"<loc>([^<]+)</loc>", index) == [
        f"{base}/sitemap-pages.xml",
        f"{base}/sitemap-threads-1.xml",
        f"{base}/sitemap-threads-2.xml",
    ]
    listed = client.get("/sitemap-threads-1.xml").get_data(as_text=True) + client.get(
        "/sitemap-threads-2.xml"
    ).get_data(as_text=True)
    assert all(f"{base}{thread.url}</loc>" in listed for thread in threads)
    assert gone.url not in listed and hidden.url not in listed
    assert f"{base}/b/broadband</loc>" in client.get("/sitemap-pages.xml").get_data(as_text=True)
    assert client.get("/sitemap-threads-3.xml").status_code == 404
    assert client.get("/sitemap-threads-0.xml").status_code == 404


def test_responses_are_compressed_when_the_client_accepts_it(client):
    make_board("Broadband", slug="broadband", description="Routers " * 80)
    plain = client.get("/")
    assert "Content-Encoding" not in plain.headers
    packed = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    css = client.get("/static/css/site.css", headers={"Accept-Encoding": "br, gzip"})
    assert css.headers["Content-Encoding"] == "br" and len(css.get_data()) < 0.4 * len(
        (ROOT / "static/css/site.css").read_bytes()
    )
    css.close()


def test_wording_helpers():
    assert [plural(n, "post") for n in (0, 1, 2, 1234)] == ["0 posts", "1 post", "2 posts", "1,234 posts"]
    assert plural(1, "reply", "replies") == "1 reply" and plural(3, "reply", "replies") == "3 replies"
    assert [sentence(s) for s in ("Spam", "Spam.", "Really?", "Spam. ")] == [
        "Spam.",
        "Spam.",
        "Really?",
        "Spam.",
    ]
    assert excerpt("<p>Hello &amp; <b>welcome</b></p>") == "Hello & welcome"
    assert len(excerpt("word " * 100)) <= 155 and excerpt("word " * 100).endswith("…")


def test_a_reason_ending_in_a_full_stop_is_not_doubled(client):
    moderator = make_user("mod_mo", role="moderator")
    thread = make_thread(make_board("Broadband", slug="broadband"), title="Locked one")
    login(client, moderator)
    response = client.post(f"/t/{thread.id}/lock", data={"lock-reason": "Resolved by support."})
    assert response.status_code == 302
    page = client.get(thread.url).get_data(as_text=True)
    assert "locked: Resolved by support.</p>" in page and ".." not in page.replace("...", "")


def test_moderators_see_the_review_queue_count_and_an_admin_menu(client):
    admin = make_user("admin_al", role="admin")
    login(client, admin)
    page = client.get("/").get_data(as_text=True)
    assert 'aria-label="Review queue: 0 pending"' in page
    for address in ("/admin/boards", "/admin/roles", "/mod/queue", "/mod/log"):
        assert f'href="{address}"' in page
    thread = db.session.scalar(select(Thread).limit(1))
    assert thread is None  # nothing else needed: the menu is on every page


def test_base_url_follows_the_port_of_flask_run_unless_configured(monkeypatch):
    monkeypatch.delenv("FLASK_RUN_HOST", raising=False)
    monkeypatch.setenv("FLASK_RUN_PORT", "5001")
    assert default_base_url() == "http://127.0.0.1:5001"
    from forum import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k" * 40})
    assert app.config["BASE_URL"] == "http://127.0.0.1:5001"
    monkeypatch.setenv("FORUM_BASE_URL", "https://forum.example.org")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k" * 40})
    assert app.config["BASE_URL"] == "https://forum.example.org"


@pytest.mark.skipif(subprocess.run(["which", "make"], capture_output=True).returncode, reason="no make")
def test_make_run_serves_on_port_with_matching_links_and_employee_verification():
    """`make run PORT=5001`: flask run on 5001, links built for 5001, an example company domain."""
    dry = subprocess.run(
        ["make", "-n", "run", "PORT=5001"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    run_line = [line for line in dry.splitlines() if line.rstrip().endswith("flask --app forum run")][0]
    assert "FLASK_RUN_PORT=5001" in run_line and "FLASK_RUN_HOST=127.0.0.1" in run_line
    assert "FORUM_EMPLOYEE_EMAIL_DOMAINS=" in run_line and "example-telecom.com" in run_line
    assert "FLASK_RUN_PORT=5001" in [line for line in dry.splitlines() if "demo seed" in line][0]


def test_registration_shows_every_problem_at_once(client):
    make_user("taken_name")
    response = client.post("/register", data={"username": "taken_name", "email": "nope", "password": "short"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This username is taken." in page and "not a valid email address" in page and "at least 8" in page
