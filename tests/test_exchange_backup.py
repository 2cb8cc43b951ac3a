"""Backups, public archives, the byte-identical round trip, the static site and flat memory (issue 8)."""

from __future__ import annotations

import re
import tracemalloc
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest
from sqlalchemy import func, select

from forum.auth.models import User
from forum.boards import services as boards
from forum.boards.models import POSTS_PER_PAGE, Board, Post, Thread
from forum.counters import add_to
from forum.db import utcnow
from forum.exchange.importer import import_file
from forum.extensions import db
from forum.moderation import audit
from forum.moderation.models import BoardModerator, Flag, PostRevision, UserNotice
from forum.moderation.services import recount_board
from forum.qa import services as qa
from forum.search import engine, outbox
from forum.wiki.models import WikiPage, WikiRevision
from tests.factories import PASSWORD, login, make_user
from tests.factories_exchange import empty_database, make_corpus, read_records, run, write_records

SECRET_POST = "my account number is 5555-SECRET"
SECRET_THREAD = "Deleted thread with a private title"
SANCTION = "spamming the billing board (private note)"
DETAILS = "previous text: call me on 07700 900123"
FLAG_NOTE = "he posted my street address (private note to the moderators)"
WARNING = "Please keep personal remarks out of the thread"
FIRST_EDIT = "Edited: try channel 6."
MOD_EDIT = "Try channel 6 (moderator: removed a link)."


def build_forum_through_the_ui(make_client, runner) -> dict[str, object]:
    """Admin, members, boards, threads, replies, an edit, a deletion, a solution, a wiki page, a log."""
    admin = make_user("ada_admin", role="admin")
    # Boards through the operator's command line (the admin form's SelectField warns under the
    # installed WTForms, and warnings are errors in this suite).
    for name, slug, kind in (("Broadband", "broadband", "questions"), ("Ideas", "ideas", "ideas")):
        result = runner.invoke(
            args=[
                "boards",
                "create",
                name,
                "--slug",
                slug,
                "--description",
                f"All about {name}",
                "--kind",
                kind,
            ]
        )
        assert result.exit_code == 0, result.output
    members = {}
    for username in ("maria", "tom_h"):
        browser = make_client()
        response = browser.post(
            "/register", data={"username": username, "email": f"{username}@example.org", "password": PASSWORD}
        )
        assert response.status_code == 302
        members[username] = browser
    maria, tom = members["maria"], members["tom_h"]
    response = maria.post(
        "/b/broadband/new",
        data={"title": "Router drops wifi every evening", "body": "Lights stay **green**."},
    )
    assert response.status_code == 302
    thread_url = response.headers["Location"]
    thread_id = int(thread_url.split("/")[2])
    for number in range(POSTS_PER_PAGE + 3):  # two pages
        client = tom if number % 2 else maria
        assert (
            client.post(f"/t/{thread_id}/reply", data={"body": f"Reply *{number}* with `code`"}).status_code
            == 302
        )
    assert tom.post(f"/t/{thread_id}/reply", data={"body": SECRET_POST}).status_code == 302
    response = maria.post(
        "/b/ideas/new", data={"title": SECRET_THREAD, "body": "Will be deleted by a moderator."}
    )
    secret_thread_id = int(response.headers["Location"].split("/")[2])
    posts = list(db.session.scalars(select(Post).where(Post.thread_id == thread_id).order_by(Post.position)))
    assert tom.post(f"/p/{posts[2].id}/edit", data={"body": FIRST_EDIT}).status_code == 302
    assert maria.post(f"/p/{posts[3].id}/delete").status_code == 302
    # The asker accepts a reply (the Q&A service keeps solution counts and reputation).
    thread = db.session.get(Thread, thread_id)
    qa.mark_solution(posts[2], actor=thread.author)
    # Moderation through its pages: a moderator of Broadband only, who edits tom's reply again
    # (two revisions) and dismisses one flag while another stays open; tom reads the outcome
    # notice, then gets a warning he has not read yet.
    make_user("bo_mod")
    ada, bo = make_client(), make_client()
    login(ada, "ada_admin")
    login(bo, "bo_mod")
    response = ada.post(
        "/admin/roles", data={"username": "bo_mod", "role": "moderator", "board": "broadband"}
    )
    assert response.status_code == 302
    assert bo.post(f"/p/{posts[2].id}/edit", data={"body": MOD_EDIT}).status_code == 302
    flagged, dismissed = posts[4], posts[5]  # by tom, by maria
    assert (
        maria.post(f"/p/{flagged.id}/flag", data={"reason": "abusive", "note": FLAG_NOTE}).status_code == 302
    )
    assert tom.post(f"/p/{dismissed.id}/flag", data={"reason": "off_topic"}).status_code == 302
    response = bo.post(f"/mod/queue/{dismissed.id}/resolve", data={"outcome": "dismiss", "reason": ""})
    assert response.status_code == 302
    assert tom.post("/me/notices/read").status_code == 302
    assert ada.post("/mod/users/tom_h/warn", data={"warn-reason": WARNING}).status_code == 302
    # No moderation pages yet: set what they would, as they would.
    now = utcnow()
    hidden = posts[-1]
    hidden.hidden_at, hidden.hidden_reason, hidden.hidden_by_id = now, "Personal data", admin.id
    boards.post_left_view(hidden)  # the counters, as the moderation services keep them
    secret = db.session.get(Thread, secret_thread_id)
    secret.deleted_at = now
    add_to(secret.author, thread_count=-1)
    recount_board(secret.board)
    tom_user = db.session.scalar(select(User).where(User.username == "tom_h"))
    tom_user.silenced_until, tom_user.sanction_reason = now + timedelta(days=3), SANCTION
    tom_user.last_seen_at = now
    audit.record(admin, "hid a post", target_type="post", target_id=hidden.id, reason="Personal data",
                 affected_user=tom_user, details=DETAILS)  # fmt: skip
    db.session.flush()
    page = WikiPage(slug="reset-your-router", title="Reset your router", board_id=thread.board_id,
                    created_by_id=admin.id, created_at=now, updated_at=now)  # fmt: skip
    db.session.add(page)
    db.session.flush()
    for number, body in enumerate(("Hold **reset**.", "Hold **reset** for 10 s."), start=1):
        revision = WikiRevision(page_id=page.id, number=number, author_id=admin.id, created_at=now,
                                title=page.title, summary=f"v{number}", body_source=body, body_html=body, size=len(body))  # fmt: skip
        db.session.add(revision)
        db.session.flush()
        page.current_revision_id, page.revision_count = revision.id, number
    db.session.commit()
    return {"thread_url": thread_url, "thread_id": thread_id, "secret_thread_id": secret_thread_id,
            "edited_post_id": posts[2].id, "flagged_post_id": flagged.id}  # fmt: skip


def anonymous_pages(client, thread_url: str) -> dict[str, str]:
    pages = {}
    for url in ("/", "/b/broadband", "/b/ideas", thread_url, f"{thread_url}?page=2"):
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.get_data(as_text=True)
    return pages


# -- the byte-identical round trip -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["--full", "--public"])
def test_round_trip_of_a_generated_corpus_is_byte_identical(runner, tmp_path, kind):
    corpus = make_corpus(tmp_path, users=50, threads=60)
    assert run(runner, "import", corpus).exit_code == 0
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run(runner, "export", first, kind).exit_code == 0
    empty_database()
    result = run(runner, "import", first)
    assert result.exit_code == 0, result.output
    assert run(runner, "export", second, kind).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    # Importing the corpus itself again gives the same forum, byte for byte.
    empty_database()
    assert run(runner, "import", corpus).exit_code == 0
    assert run(runner, "export", second, kind).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    # Nothing of the corpus was lost on the way: same users, threads, replies and wiki texts.
    original, exported = read_records(corpus), read_records(first)
    for kind_name in ("user", "thread", "post", "wiki_page"):
        assert sum(r["type"] == kind_name for r in original) == sum(r["type"] == kind_name for r in exported)
    source_bodies = sorted(r["body"] for r in original if r["type"] in ("thread", "post"))
    assert source_bodies == sorted(r["body"] for r in exported if r["type"] in ("thread", "post"))


def test_full_backup_of_a_forum_built_through_the_ui_restores_pages_logins_and_bytes(
    make_client, runner, tmp_path
):
    built = build_forum_through_the_ui(make_client, runner)
    before = anonymous_pages(make_client(), built["thread_url"])
    backup, again = tmp_path / "backup.jsonl", tmp_path / "again.jsonl"
    assert run(runner, "export", backup, "--full").exit_code == 0
    assert backup.stat().st_mode & 0o077 == 0  # private data: readable by the owner only
    empty_database()
    assert db.session.scalar(select(User.id)) is None
    result = run(runner, "import", backup)
    assert result.exit_code == 0, result.output
    # Every page looks the same, at the same address.
    assert anonymous_pages(make_client(), built["thread_url"]) == before
    # Export again (before anyone logs in, which changes last_seen_at): the same bytes.
    assert run(runner, "export", again, "--full").exit_code == 0
    assert backup.read_bytes() == again.read_bytes()
    # Everyone logs in with their old password; sanctions and the log came back too.
    for username in ("ada_admin", "maria", "tom_h"):
        login(make_client(), username)
    tom = db.session.scalar(select(User).where(User.username == "tom_h"))
    assert tom.sanction_reason == SANCTION and tom.silenced_until is not None
    assert db.session.get(Thread, built["secret_thread_id"]).deleted_at is not None
    # New posts after a restore get fresh ids (sequences moved past the restored ids).
    maria = make_client()
    login(maria, "maria")
    assert maria.post(f"/t/{built['thread_id']}/reply", data={"body": "After the restore"}).status_code == 302


# -- moderation: board scopes, flags, edit history and notices (full backups only) -------------

MODERATION_TABLES = {"board_moderator": BoardModerator, "flag": Flag, "post_revision": PostRevision,
                     "user_notice": UserNotice}  # fmt: skip


def moderation_rows() -> dict[str, int]:
    return {
        name: db.session.scalar(select(func.count()).select_from(model)) or 0
        for name, model in MODERATION_TABLES.items()
    }


def signed_in(make_client, username: str):
    client = make_client()
    login(client, username)
    return client


def test_full_backup_restores_moderation_for_the_right_people(make_client, runner, tmp_path):
    built = build_forum_through_the_ui(make_client, runner)
    rows = moderation_rows()
    assert rows["board_moderator"] == 1 and rows["flag"] == 2 and rows["post_revision"] == 2
    assert rows["user_notice"] >= 2
    backup, again = tmp_path / "backup.jsonl", tmp_path / "again.jsonl"
    assert run(runner, "export", backup, "--full").exit_code == 0
    assert {name: read_records(backup)[0]["counts"][name] for name in MODERATION_TABLES} == rows
    empty_database()
    result = run(runner, "import", backup)
    assert result.exit_code == 0, result.output
    assert moderation_rows() == rows
    assert run(runner, "export", again, "--full").exit_code == 0
    assert backup.read_bytes() == again.read_bytes()
    edited, flagged = built["edited_post_id"], built["flagged_post_id"]
    bo, tom, maria = (signed_in(make_client, name) for name in ("bo_mod", "tom_h", "maria"))
    # The board moderator: the queue link, the open flag with its note (not the dismissed one),
    # the tools of their own board only.
    assert "Review queue" in bo.get("/").get_data(as_text=True)
    queue = bo.get("/mod/queue")
    assert queue.status_code == 200
    html = queue.get_data(as_text=True)
    assert f'id="queue-{flagged}"' in html and "Abusive or rude" in html and FLAG_NOTE in html
    assert html.count('class="queue-item"') == 1
    assert bo.get(f"/t/{built['thread_id']}/moderate").status_code == 200
    assert bo.get(f"/t/{built['secret_thread_id']}/moderate").status_code == 403
    assert maria.get("/mod/queue").status_code == 403
    # The edit history: the author and the moderator see every version; another member does not.
    for client in (tom, bo):
        history = client.get(f"/p/{edited}/history")
        assert history.status_code == 200
        html = history.get_data(as_text=True)
        assert "Version 3 (current)" in html and "Reply *1* with `code`" in html and FIRST_EDIT in html
        assert "Edited by bo_mod" in html and "Edited by tom_h" in html
    assert maria.get(f"/p/{edited}/history").status_code == 403
    # Notices: tom's warning is unread, the flag's outcome read; nobody else sees them.
    notices = tom.get("/me/notices").get_data(as_text=True)
    assert WARNING in notices and 'class="notice-warning unread"' in notices
    assert 'class="notice-flag_outcome"' in notices and "left it as it is" in notices
    assert WARNING not in maria.get("/me/notices").get_data(as_text=True)


def test_merge_import_maps_moderation_ids(make_client, runner, tmp_path):
    built = build_forum_through_the_ui(make_client, runner)
    backup = tmp_path / "backup.jsonl"
    assert run(runner, "export", backup, "--full").exit_code == 0
    before = moderation_rows()
    offset = db.session.scalar(select(func.max(Post.id)))
    result = run(runner, "import", "--merge", backup)
    assert result.exit_code == 0, result.output
    after = moderation_rows()
    # The same people (same e-mail addresses) on new copies of the posts: flags, revisions and
    # notices are doubled; the board scope (same member, same board slug) is not.
    assert after == {
        name: count if name == "board_moderator" else 2 * count for name, count in before.items()
    }
    bo_user = db.session.scalar(select(User).where(User.username == "bo_mod"))
    assert bo_user.moderated_board_count == 1
    copy = built["edited_post_id"] + offset
    revisions = db.session.scalars(select(PostRevision).where(PostRevision.post_id == copy)
                                   .order_by(PostRevision.number)).all()  # fmt: skip
    assert [r.body_source for r in revisions] == ["Reply *1* with `code`", FIRST_EDIT]
    assert revisions[1].editor_id == bo_user.id
    flag = db.session.scalar(select(Flag).where(Flag.post_id == built["flagged_post_id"] + offset))
    assert flag.note == FLAG_NOTE and flag.resolved_at is None
    tom, bo = signed_in(make_client, "tom_h"), signed_in(make_client, "bo_mod")
    assert FIRST_EDIT in tom.get(f"/p/{copy}/history").get_data(as_text=True)
    queue = bo.get("/mod/queue").get_data(as_text=True)
    assert f'id="queue-{built["flagged_post_id"]}"' in queue and f'id="queue-{flag.post_id}"' in queue


def test_bad_moderation_records_stop_the_import_with_their_line(runner, tmp_path):
    at = "2022-01-01T00:00:00Z"
    head = [
        {"type": "meta", "format": "roundabout-corpus", "version": 1},
        {"type": "user", "id": 1, "username": "maria", "joined_at": at},
        {"type": "category", "id": 1, "slug": "broadband", "name": "Broadband"},
        {"type": "thread", "id": 1, "category_id": 1, "user_id": 1, "title": "Wifi", "body": "Drops.",
         "created_at": at, "opening_post": {"id": 1}},
    ]  # fmt: skip
    revision = {"type": "post_revision", "id": 1, "post_id": 1, "number": 1, "editor_id": 1, "created_at": at,
                "body": "Drops!"}  # fmt: skip
    cases = [
        ([{"type": "flag", "id": 1, "post_id": 9, "flagger_id": 1, "reason": "spam", "created_at": at}],
         "post_id 9 refers to no post"),
        ([{"type": "flag", "id": 1, "post_id": 1, "flagger_id": 1, "reason": "spam", "created_at": at,
           "outcome": "dismiss"}], "a resolved flag has both"),
        ([{"type": "board_moderator", "id": 1, "user_id": 1, "category_id": 2, "created_at": at}],
         "category_id 2 refers to no category"),
        ([revision, dict(revision, id=2)], "post revision (post, number) '1:1' appears twice"),
        ([{"type": "user_notice", "id": 1, "user_id": 7, "kind": "warning", "message": "x", "created_at": at}],
         "user_id 7 refers to no user"),
    ]  # fmt: skip
    for number, (records, message) in enumerate(cases):
        path = write_records(tmp_path / f"bad{number}.jsonl", head + records)
        result = run(runner, "import", path)
        line = len(head) + len(records)
        assert result.exit_code != 0 and f"line {line}: {message}" in result.output, result.output
        assert db.session.scalar(select(User.id)) is None and moderation_rows()["post_revision"] == 0
    # Merged into a forum with content, a bad flag leaves that forum as it was.
    make_user("ada_admin", role="admin")
    result = run(runner, "import", "--merge", tmp_path / "bad0.jsonl")
    assert result.exit_code != 0 and "line 5: post_id 9 refers to no post" in result.output
    assert db.session.scalars(select(User.username)).all() == ["ada_admin"] and moderation_rows()["flag"] == 0


# -- the public archive holds nothing private --------------------------------------------------


def test_public_export_has_no_email_hash_ip_or_private_data(make_client, runner, tmp_path):
    build_forum_through_the_ui(make_client, runner)
    archive = tmp_path / "public.jsonl"
    result = run(runner, "export", archive, "--public")
    assert result.exit_code == 0, result.output
    content = archive.read_text(encoding="utf-8")
    assert "@example.org" not in content and '"email"' not in content
    assert "$argon2" not in content and "password" not in content
    assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", content)  # no IP address
    for private in (
        SECRET_POST,
        SECRET_THREAD,
        SANCTION,
        DETAILS,
        "last_seen_at",
        "silenced_until",
        '"type":"audit_entry"',
        FLAG_NOTE,
        WARNING,
        FIRST_EDIT,
        "Reply *1* with `code`",  # the edited reply's first text: only in its edit history
        "granted_by_id",
    ):
        assert private not in content, private
    records = read_records(archive)
    assert records[0]["kind"] == "public"
    assert {r["type"] for r in records} == {"meta", "user", "category", "thread", "post", "wiki_page"}
    hidden = next(r for r in records if r["type"] == "post" and r["hidden_at"])
    assert (
        hidden["body"] == "" and hidden["hidden_reason"] == "Personal data" and "hidden_by_id" not in hidden
    )
    # The archive imports into a new forum, where nobody can log in (no passwords in it).
    empty_database()
    assert run(runner, "import", archive).exit_code == 0
    assert all(user.password_hash is None and user.email is None for user in db.session.scalars(select(User)))


def test_export_needs_a_kind(runner, tmp_path):
    result = run(runner, "export", tmp_path / "x.jsonl")
    assert result.exit_code == 2 and "--public" in result.output


# -- the static site ---------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def test_static_site_has_every_page_valid_links_and_nothing_private(make_client, runner, tmp_path):
    built = build_forum_through_the_ui(make_client, runner)
    site = tmp_path / "site"
    result = run(runner, "static-site", site)
    assert result.exit_code == 0, result.output
    # Every public page is there.
    assert (site / "index.html").exists() and (site / "titles.html").exists()
    for board in db.session.scalars(select(Board)):
        assert (site / "b" / board.slug / "index.html").exists()
    thread_dir = site / "t" / str(built["thread_id"])
    assert (thread_dir / "index.html").exists() and (thread_dir / "page-2.html").exists()
    assert not (site / "t" / str(built["secret_thread_id"])).exists()
    assert (site / "wiki" / "reset-your-router.html").exists()
    titles = (site / "titles.html").read_text(encoding="utf-8")
    assert "Router drops wifi every evening" in titles and "Reset your router" in titles
    # Every link points at a file of the site; no page holds private data.
    pages = list(site.rglob("*.html"))
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for private in ("@example.org", "$argon2", SECRET_POST, SECRET_THREAD, SANCTION, DETAILS, FLAG_NOTE,
                        WARNING, FIRST_EDIT):  # fmt: skip
            assert private not in html, (page, private)
        parser = _Links()
        parser.feed(html)
        for link in parser.links:
            target, _fragment = urldefrag(link)
            if urlsplit(link).scheme or not target:
                continue
            assert (page.parent / target).resolve().is_file(), (page, link)
    thread_page = (thread_dir / "index.html").read_text(encoding="utf-8")
    assert "Lights stay <strong>green</strong>." in thread_page and "Accepted solution" in thread_page


def test_static_site_of_a_generated_corpus_has_all_thread_pages(runner, tmp_path):
    corpus = make_corpus(tmp_path, users=30, threads=40)
    assert run(runner, "import", corpus).exit_code == 0
    site = tmp_path / "site"
    assert run(runner, "static-site", site).exit_code == 0
    for thread in db.session.scalars(select(Thread)):
        for page in range(1, thread.page_count + 1):
            assert (
                site / "t" / str(thread.id) / ("index.html" if page == 1 else f"page-{page}.html")
            ).is_file()
        assert not (site / "t" / str(thread.id) / f"page-{thread.page_count + 1}.html").exists()


# -- memory stays flat, whatever the size of the file --------------------------------------------


def _peak_of(work) -> int:
    tracemalloc.start()
    try:
        work()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak


def _import_peak(app, path: Path) -> tuple[int, int]:
    """The import's peak, then the search drain's peak after it (measured apart: the drain's
    Whoosh merges are the index's business, bounded by the writer's memory limit)."""
    empty_database()
    app.config["SEARCH_DRAIN_AFTER_COMMIT"] = False
    try:
        import_peak = _peak_of(lambda: import_file(path))
    finally:
        app.config["SEARCH_DRAIN_AFTER_COMMIT"] = True
    drain_peak = _peak_of(outbox.drain)
    assert outbox.backlog() == 0
    return import_peak, drain_peak


def test_import_memory_does_not_grow_with_the_file(app, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("memory use does not depend on the database; measured once")
    small = make_corpus(tmp_path, users=100, threads=60, wiki_pages=2)
    large = make_corpus(tmp_path, users=100, threads=600, wiki_pages=2)
    assert large.stat().st_size > 8 * small.stat().st_size
    _import_peak(app, small)  # warm-up: templates, renderers and caches are built once
    small_peak, _ = _import_peak(app, small)
    large_peak, large_drain_peak = _import_peak(app, large)
    assert db.session.scalar(select(db.func.count()).select_from(Post)) > 5000
    print("tracemalloc peaks", small_peak, large_peak, "drain", large_drain_peak)
    # A bound that does not scale with the file: 10x the posts, at most 1.5x the memory + 4 MB (one batch of rows).
    assert large_peak < small_peak * 1.5 + 4_000_000, (small_peak, large_peak)
    assert large_peak < 16_000_000
    # The index catches up in batches with an 8 MB pool (it was 35 MB with Whoosh's default 128 MB).
    assert large_drain_peak < 24_000_000, large_drain_peak
    assert engine.backend().document_count() > 5000


def test_import_with_two_rendering_processes_gives_the_same_forum(runner, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the rendering pool does not depend on the database")
    corpus = make_corpus(tmp_path, users=30, threads=40)
    single, pooled = tmp_path / "single.jsonl", tmp_path / "pooled.jsonl"
    assert run(runner, "import", corpus).exit_code == 0
    assert run(runner, "export", single, "--full").exit_code == 0
    single_html = sorted(db.session.scalars(select(Post.body_html)))
    empty_database()
    result = run(runner, "import", "--jobs", "2", corpus)
    assert result.exit_code == 0, result.output
    assert run(runner, "export", pooled, "--full").exit_code == 0
    assert single.read_bytes() == pooled.read_bytes()
    assert sorted(db.session.scalars(select(Post.body_html))) == single_html
