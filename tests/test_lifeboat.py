"""Lifeboat, the exchange-format side: origins, imported members, old addresses, redirect maps."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from forum.auth.models import User
from forum.extensions import db
from forum.lifeboat.models import ImportedMember, OldUrl, PostOrigin
from forum.lifeboat.oldurls import path_key
from forum.mail.models import OutgoingMail
from forum.search import engine, outbox, services
from forum.search.models import SearchOutbox
from tests.factories import PASSWORD
from tests.factories_exchange import empty_database, make_corpus, read_records, run, write_records

SOURCE = "Old Router Forum (routers.example)"
LICENSE = "CC BY-SA 4.0"


def records() -> list[dict]:
    """A small converted forum: two imported members (one with e-mail), a thread, a reply, old URLs."""
    user = {"type": "user", "is_employee": False, "is_moderator": False, "bio": ""}
    old = "https://routers.example"
    return [
        {"type": "meta", "format": "roundabout-corpus", "version": 1, "generator": "test"},
        {**user, "id": 1, "username": "jane_doe", "display_name": "Jane Doe", "joined_at": "2015-01-01T00:00:00Z"},
        {**user, "id": 2, "username": "old_bob", "display_name": "Bob", "joined_at": "2015-02-01T00:00:00Z",
         "email": "bob@example.org"},
        {"type": "category", "id": 2, "slug": "wifi", "name": "Wi-Fi", "position": 1},
        {"type": "thread", "id": 3, "category_id": 2, "user_id": 1, "title": "Router drops zanzibarwifi at night",
         "body": "Every night the **zanzibarwifi** network drops.", "created_at": "2016-03-01T10:00:00Z",
         "opening_post": {"id": 10}},
        {"type": "post", "id": 11, "thread_id": 3, "user_id": 2, "body": "Change the channel.",
         "created_at": "2016-03-01T11:00:00Z", "is_solution": True},
        {"type": "thread", "id": 4, "category_id": 2, "user_id": 2, "title": "Same question again",
         "body": "Drops at night", "created_at": "2016-03-02T10:00:00Z", "opening_post": {"id": 12}},
        {"type": "imported_member", "user_id": 1, "source": SOURCE, "original_name": "Jane D.",
         "profile_url": f"{old}/u/jane"},
        {"type": "imported_member", "user_id": 2, "source": SOURCE, "original_name": "Bob", "profile_url": None},
        {"type": "origin", "post_id": 10, "source": SOURCE, "author_name": "Jane D.",
         "created_at": "2016-03-01T10:00:00Z", "url": f"{old}/t/router-drops/77", "license": LICENSE},
        {"type": "origin", "post_id": 11, "source": SOURCE, "author_name": "Bob",
         "created_at": "2016-03-01T11:00:00Z", "url": f"{old}/t/router-drops/77/2", "license": None},
        {"type": "thread_duplicate", "thread_id": 4, "original_id": 3},
        {"type": "old_url", "url": f"{old}/t/router-drops/77", "target_type": "thread", "target_id": 3},
        {"type": "old_url", "url": f"{old}/t/router-drops/77/2", "target_type": "post", "target_id": 11},
        {"type": "old_url", "url": f"{old}/forum/viewtopic.php?f=2&t=77", "target_type": "thread", "target_id": 3},
        {"type": "old_url", "url": f"{old}/forum/viewtopic.php?p=501#p501", "target_type": "post", "target_id": 11},
        {"type": "old_url", "url": f"{old}/forum/viewforum.php?f=2", "target_type": "category", "target_id": 2},
        {"type": "old_url", "url": f"{old}/questions/900/router-drops", "target_type": "thread", "target_id": 3},
        {"type": "old_url", "url": f"{old}/a/901", "target_type": "post", "target_id": 11},
    ]  # fmt: skip


@pytest.fixture
def imported(runner, tmp_path):
    result = run(runner, "import", write_records(tmp_path / "old.jsonl", records()))
    assert result.exit_code == 0, result.output
    return tmp_path / "old.jsonl"


def test_old_address_keys_ignore_slugs_hosts_folders_and_argument_order():
    assert path_key("https://a.example/t/any-slug/77") == path_key("/t/other/77/1") == "/t/77"
    assert path_key("/t/slug/77/5") == "/t/77/5"
    assert (
        path_key("http://x/phpBB3/viewtopic.php?t=5&f=2")
        == path_key("/viewtopic.php?f=2&t=5")
        == "/viewtopic.php?t=5"
    )
    assert path_key("/viewtopic.php?t=5&p=9#p9") == "/viewtopic.php?p=9"  # the post wins
    assert path_key("/questions/12/a-title/34") == path_key("/a/34/777") == "/a/34"
    assert path_key("/q/12/5") == path_key("/questions/12/slug") == "/questions/12"
    assert path_key("/c/hardware/routers/8") == "/c/8"


def test_imported_post_shows_imported_mark_and_attribution(client, imported):
    thread_page = client.get("/t/3", follow_redirects=True).get_data(as_text=True)
    assert thread_page.count('class="imported-mark"') == 2
    assert "Imported from Old Router Forum (routers.example): written by Jane D." in thread_page
    assert (
        'href="https://routers.example/t/router-drops/77" rel="nofollow ugc noopener">original</a>'
        in thread_page
    )
    assert f"License: {LICENSE}" in thread_page
    assert thread_page.count("License:") == 1  # the reply's source stated none
    duplicate = client.get("/t/4", follow_redirects=True).get_data(as_text=True)
    assert "Closed as a duplicate" in duplicate and 'href="/t/3' in duplicate


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/t/router-drops/77", "/t/3/router-drops-zanzibarwifi-at-night"),
        ("/t/renamed-since/77/1", "/t/3/router-drops-zanzibarwifi-at-night"),
        ("/t/router-drops/77/2", "/p/11"),
        ("/viewtopic.php?t=77", "/t/3/router-drops-zanzibarwifi-at-night"),
        ("/forum/viewtopic.php?f=2&t=77", "/t/3/router-drops-zanzibarwifi-at-night"),
        ("/forum/viewtopic.php?p=501", "/p/11"),
        ("/phpBB3/viewforum.php?f=2", "/b/wifi"),
        ("/questions/900/router-drops", "/t/3/router-drops-zanzibarwifi-at-night"),
        ("/questions/900", "/t/3/router-drops-zanzibarwifi-at-night"),
        ("/q/900/12345", "/t/3/router-drops-zanzibarwifi-at-night"),
        ("/a/901", "/p/11"),
        ("/questions/900/router-drops/901", "/p/11"),
    ],
)
def test_old_addresses_answer_with_a_permanent_redirect(client, imported, old, new):
    response = client.get(old)
    assert response.status_code == 301, old
    assert response.headers["Location"] == new


@pytest.mark.parametrize("old", ["/t/unknown/5", "/viewtopic.php?t=78", "/viewtopic.php", "/a/1",
                                 "/viewforum.php?f=abc", "/questions/99999999999"])  # fmt: skip
def test_unknown_old_addresses_are_a_plain_404(client, imported, old):
    response = client.get(old)
    assert response.status_code == 404
    assert "old forum" in response.get_data(as_text=True) or old.startswith("/questions/9")


def test_imported_members_cannot_log_in_until_they_claim_by_password_reset(client, imported, smtp_server):
    assert db.session.scalar(select(func.count()).select_from(OutgoingMail)) == 0  # nothing mailed on import
    assert smtp_server.messages == []
    for name in ("jane_doe", "old_bob"):
        response = client.post("/login", data={"login": name, "password": PASSWORD})
        assert response.status_code == 422  # refused, as for a wrong password
    # Jane came without an e-mail address: a reset cannot reach her; Bob's came with the data.
    client.post("/reset-password", data={"email": "bob@example.org"}).close()
    [message] = smtp_server.messages_to("bob@example.org")
    link = re.search(r"https?://\S+/reset-password/\S+", smtp_server.text_of(message)).group(0)
    path = link.split("forum.test", 1)[1]
    assert client.post(path, data={"password": "a new long passphrase"}).status_code == 302
    assert (
        client.post("/login", data={"login": "old_bob", "password": "a new long passphrase"}).status_code
        == 302
    )
    assert db.session.scalar(select(User.password_hash).where(User.username == "jane_doe")) is None


def test_imported_content_is_searchable_at_once(client, imported):
    page = client.get("/search?q=zanzibarwifi").get_data(as_text=True)
    assert 'href="/t/3/router-drops-zanzibarwifi-at-night"' in page


def _import_without_drain(app, runner, *args) -> None:
    app.config["SEARCH_DRAIN_AFTER_COMMIT"] = False
    try:
        result = run(runner, "import", *args)
    finally:
        app.config["SEARCH_DRAIN_AFTER_COMMIT"] = True
    assert result.exit_code == 0, result.output


def _outbox_rows() -> list[tuple[str, int]]:
    return [tuple(row) for row in db.session.execute(select(SearchOutbox.kind, SearchOutbox.object_id))]


def test_import_into_an_empty_forum_is_indexed_by_one_rebuild(app, runner, tmp_path):
    """Not a row per thread: replaying them 500 at a time through the incremental writer cost
    ten times the import itself (make bench-l: 396 s instead of 38). A merge still queues its
    threads, and `flask search reindex` drops the rows its rebuild covers."""
    _import_without_drain(app, runner, make_corpus(tmp_path, users=30, threads=50, wiki_pages=2))
    assert _outbox_rows() == [(outbox.REBUILD, 0)]
    outbox.drain()
    assert outbox.backlog() == 0
    assert engine.backend().document_count() == services.count_documents() > 50  # wiki pages too

    second = records()
    for record in second:
        if record["type"] == "user":
            record["username"] += "_x"
            record.pop("email", None)
    _import_without_drain(app, runner, "--merge", write_records(tmp_path / "second.jsonl", second))
    assert sorted(kind for kind, _id in _outbox_rows()) == ["thread", "thread"]
    services.reindex(lambda _count: None)
    assert outbox.backlog() == 0
    assert engine.backend().document_count() == services.count_documents()


def test_lifeboat_records_survive_export_and_restore(runner, imported, tmp_path):
    exported = tmp_path / "public.jsonl"
    assert run(runner, "export", exported, "--public").exit_code == 0
    written = read_records(exported)
    kinds = [record["type"] for record in written]
    assert kinds.count("origin") == 2 and kinds.count("old_url") == 7 and kinds.count("imported_member") == 2
    assert {"type": "thread_duplicate", "thread_id": 4, "original_id": 3} in written
    empty_database()
    assert run(runner, "import", exported).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(PostOrigin)) == 2
    assert db.session.scalar(select(func.count()).select_from(ImportedMember)) == 2
    again = tmp_path / "again.jsonl"
    assert run(runner, "export", again, "--public").exit_code == 0
    assert again.read_bytes() == exported.read_bytes()


def test_merging_a_second_import_keeps_the_first_meaning_of_an_old_address(runner, imported, tmp_path):
    second = records()
    for record in second:
        if record["type"] == "user":
            record["username"] += "_x"
            record.pop("email", None)
    assert run(runner, "import", "--merge", write_records(tmp_path / "second.jsonl", second)).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(OldUrl)) == 7
    assert db.session.scalar(select(func.count()).select_from(PostOrigin)) == 4


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"type": "origin", "post_id": 99, "source": SOURCE}, "post_id 99 refers to no post"),
        (
            {"type": "origin", "post_id": 10, "source": SOURCE, "url": "javascript:alert(1)"},
            "must be an http(s)",
        ),
        (
            {"type": "old_url", "url": "https://x/a/1", "target_type": "wiki", "target_id": 1},
            "'target_type' must be",
        ),
        (
            {
                "type": "old_url",
                "url": "https://routers.example/t/x/77",
                "target_type": "thread",
                "target_id": 3,
            },
            "appears twice",
        ),
        ({"type": "thread_duplicate", "thread_id": 3, "original_id": 3}, "duplicate of itself"),
    ],
)
def test_bad_lifeboat_records_are_refused_with_their_line(runner, tmp_path, bad, message):
    result = run(runner, "import", write_records(tmp_path / "bad.jsonl", [*records(), bad]))
    assert result.exit_code != 0
    assert f"line {len(records()) + 1}" in result.output and message in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_redirect_maps_for_nginx_and_apache(runner, imported, tmp_path):
    nginx, apache = tmp_path / "old.nginx", tmp_path / "old.apache"
    result = runner.invoke(args=["lifeboat", "redirects", "--nginx", str(nginx), "--apache", str(apache),
                                 "--base-url", "https://new.example/"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 7 redirects" in result.output
    text = nginx.read_text()
    assert (
        text.count('"/t/router-drops/77" "https://new.example/t/3/router-drops-zanzibarwifi-at-night";') == 1
    )
    assert '"/forum/viewtopic.php?p=501" "https://new.example/p/11";' in text
    assert "map $request_uri $lifeboat_target" in text
    rules = apache.read_text()
    assert "RewriteCond %{QUERY_STRING} ^f=2&t=77$" in rules
    assert (
        r"RewriteRule ^/?forum/viewtopic\.php$ https://new.example/t/3/router-drops-zanzibarwifi-at-night? [R=301,L,NE]"
        in rules
    )
    assert "RewriteRule ^/?a/901$ https://new.example/p/11? [R=301,L,NE]" in rules
    assert runner.invoke(args=["lifeboat", "redirects"]).exit_code != 0
