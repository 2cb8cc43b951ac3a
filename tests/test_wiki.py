"""The wiki as people use it: create, edit, history, diffs, revert, conflicts, rename, links."""

from __future__ import annotations

import re

import html5lib
from sqlalchemy import func, select

from forum import events
from forum.extensions import db
from forum.wiki.models import WikiLink, WikiPage, WikiRedirect, WikiRevision
from tests.factories import login, make_board, make_thread
from tests.factories_wiki import edit, make_editor, make_page


def revisions_of(page: WikiPage) -> list[WikiRevision]:
    return list(
        db.session.scalars(
            select(WikiRevision).where(WikiRevision.page_id == page.id).order_by(WikiRevision.number)
        )
    )


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def text(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


# -- create ------------------------------------------------------------------------------------


def test_create_page_with_summary_and_topic(client):
    editor = make_editor("alice")
    board = make_board("Broadband")
    login(client, editor)
    received = []

    def receiver(sender, **kwargs):  # noqa: ANN001, ANN003, ANN202
        received.append((sender.username, kwargs["page"].title, kwargs["revision"].number))

    with events.wiki_page_edited.connected_to(receiver):
        response = client.post(
            "/wiki/new",
            data={
                "title": "Reset  your router",
                "board_id": board.id,
                "body": "Unplug it for **ten** seconds.",
                "summary": "First draft",
                "submit": "Save page",
            },  # fmt: skip
        )
    assert response.status_code == 302
    assert response.headers["Location"] == "/wiki/reset-your-router"
    page = db.session.scalar(select(WikiPage))
    assert (page.title, page.board_id, page.revision_count, page.created_by_id) == (
        "Reset your router", board.id, 1, editor.id,
    )  # fmt: skip
    [revision] = revisions_of(page)
    assert page.current_revision_id == revision.id
    assert (revision.summary, revision.author_id, revision.size) == ("First draft", editor.id, 30)
    assert received == [("alice", "Reset your router", 1)]
    shown = text(client.get(page.url))
    assert "<strong>ten</strong>" in shown and "alice" in shown and "1 revision" in shown
    assert "Broadband" in text(client.get("/wiki")) and "Reset your router" in text(
        client.get("/wiki?topic=broadband")
    )


def test_new_page_form_prefills_title_from_red_link(client):
    login(client, make_editor())
    response = client.get("/wiki/new?title=Refunds+for+outages")
    assert response.status_code == 200
    assert 'value="Refunds for outages"' in text(response)


def test_preview_saves_nothing(client):
    login(client, make_editor())
    response = client.post(
        "/wiki/new",
        data={
            "title": "Preview me",
            "board_id": 0,
            "body": "Some _text_ and [[Nowhere]]",
            "preview": "Preview",
        },
    )
    assert response.status_code == 200
    page = text(response)
    assert "<em>text</em>" in page and "wikilink-missing" in page
    assert "Some _text_ and [[Nowhere]]" in page  # the typed text is kept in the form
    assert count(WikiPage) == 0 and count(WikiRevision) == 0


def test_bad_titles_and_duplicates_answer_with_messages(client):
    make_page("Reset your router")
    login(client, make_editor())
    cases = [
        ("", 422, "This field is required"),
        ("   ", 422, "This field is required"),
        ("!!!", 422, "at least one letter or digit"),
        ("Links [[inside]]", 422, "cannot contain"),
        ("Changes", 422, "reserved"),
        ("x" * 151, 422, "150 characters"),
        ("RESET your router!", 409, "exists already"),
    ]
    for title, status, message in cases:
        response = client.post(
            "/wiki/new", data={"title": title, "board_id": 0, "body": "Text", "submit": "Save"}
        )
        assert response.status_code == status, title
        assert message in text(response), title
        assert "Text</textarea>" in text(response)  # the text is kept
    response = client.post(
        "/wiki/new", data={"title": "Fine", "board_id": 99999, "body": "Text", "submit": "Save"}
    )
    assert response.status_code == 422 and "Not a valid choice" in text(response)
    for body, message in [
        ("   ", "required"),
        ("x\x00y", "NUL"),
        ("[" * 20000, "characters outside code"),
        ("y" * 40000, ""),
    ]:
        response = client.post(
            "/wiki/new", data={"title": "Body test", "board_id": 0, "body": body, "submit": "Save"}
        )
        assert response.status_code == 422 and message in text(response)
    assert count(WikiPage) == 1


def test_unknown_addresses_are_404_with_a_message(client):
    page = make_page()
    other = make_page("Other page")
    for url, message in [
        ("/wiki/no-such-page", "no wiki page"),
        ("/wiki/no-such-page/history", "no wiki page"),
        (f"{page.url}/revisions/999999", "has no revision"),
        (f"{page.url}/revisions/{other.current_revision_id}", "has no revision"),
        (f"{page.url}/diff?to=999999", "has no revision"),
        (f"{page.url}/diff", "first one"),
        ("/wiki?topic=nope", "no topic"),
        ("/wiki?page=9", "no page 9"),
    ]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert message in text(response), url
    for url in [f"{page.url}/diff?from=abc", f"{page.url}/diff?to=-1", "/wiki?page=x"]:
        assert client.get(url).status_code == 400, url


# -- edit, history, old revisions, diff ---------------------------------------------------------


def test_edit_history_old_revision_and_diff(client):
    alice, bob = make_editor("alice"), make_editor("bob")
    page = make_page(body="Unplug the router for ten seconds.\nThen wait.", author=alice)
    first_id = page.current_revision_id
    login(client, bob)
    form = text(client.get(f"{page.url}/edit"))
    assert f'name="base_revision_id" type="hidden" value="{first_id}"' in form
    response = client.post(
        f"{page.url}/edit",
        data={
            "body": "Unplug the modem for thirty seconds.\nThen wait.\nDone.",
            "board_id": 0,
            "summary": "Modem, not router",
            "base_revision_id": first_id,
            "submit": "Save",
        },  # fmt: skip
    )
    assert response.status_code == 302
    first, second = revisions_of(page)
    assert first.body_source.startswith("Unplug the router")  # never edited
    assert (second.number, second.author_id, second.summary) == (2, bob.id, "Modem, not router")

    history = text(client.get(f"{page.url}/history"))
    assert "Modem, not router" in history and "alice" in history and "bob" in history
    assert "+8</span>" in history and "+45</span>" in history  # size changes, shown as text

    old = text(client.get(f"{page.url}/revisions/{first.id}"))
    assert "This is an old revision" in old and "Unplug the router for ten seconds." in old

    diff = text(client.get(f"{page.url}/diff?from={first.id}&to={second.id}"))
    assert re.search(r"<del><span class=\"visually-hidden\">\[removed: </span>router<span", diff)
    assert re.search(r"<ins><span class=\"visually-hidden\">\[added: </span>modem<span", diff)
    assert "removed text is struck through" in diff
    # "diff to previous" is the same page; CSRF tokens carry a timestamp, so they may differ.
    token = re.compile(r"<input[^>]*csrf_token[^>]*>")
    previous = text(client.get(f"{page.url}/diff?to={second.id}"))
    assert token.sub("TOKEN", diff) == token.sub("TOKEN", previous)
    # Any two, in either order.
    assert client.get(f"{page.url}/diff?from={second.id}&to={first.id}").status_code == 200


def test_editing_without_changes_is_refused(client):
    page = make_page(body="Same text")
    login(client, make_editor())
    response = client.post(
        f"{page.url}/edit",
        data={"body": "Same text", "board_id": 0, "base_revision_id": page.current_revision_id},
    )
    assert response.status_code == 422 and "not changed anything" in text(response)
    assert page.revision_count == 1


def test_edit_conflict_shows_both_texts_and_never_overwrites(client, make_client):
    page = make_page(body="Step one.\nStep two.")
    base = page.current_revision_id
    alice, bob = make_editor("alice"), make_editor("bob")
    other = make_client()
    login(client, alice)
    login(other, bob)
    assert client.get(f"{page.url}/edit").status_code == 200
    assert other.get(f"{page.url}/edit").status_code == 200
    saved = other.post(
        f"{page.url}/edit",
        data={"body": "Step one.\nStep two, carefully.", "board_id": 0, "base_revision_id": base},
    )
    assert saved.status_code == 302
    response = client.post(
        f"{page.url}/edit",
        data={
            "body": "Step one.\nStep two.\nStep three.",
            "board_id": 0,
            "base_revision_id": base,
            "summary": "mine",
        },
    )
    assert response.status_code == 409
    conflict = text(response)
    assert "Edit conflict" in conflict and "bob saved this page after you started editing" in conflict
    assert "Step two, carefully.</textarea>" in conflict  # their text
    assert "Step three.</textarea>" in conflict  # your text, kept
    assert "<ins>" in conflict and "<del>" in conflict
    assert page.revision_count == 2 and revisions_of(page)[-1].author_id == bob.id
    # The conflict form now starts from their revision, so saving again (after merging) works.
    assert f'value="{page.current_revision_id}"' in conflict
    response = client.post(
        f"{page.url}/edit",
        data={
            "body": "Step one.\nStep two, carefully.\nStep three.",
            "board_id": 0,
            "base_revision_id": page.current_revision_id,
        },  # fmt: skip
    )
    assert response.status_code == 302 and page.revision_count == 3


def test_edit_without_a_base_revision_is_a_conflict_not_an_overwrite(client):
    page = make_page()
    login(client, make_editor())
    for base in ("", "abc", "999999"):
        response = client.post(
            f"{page.url}/edit", data={"body": "Overwrite!", "board_id": 0, "base_revision_id": base}
        )
        assert response.status_code == 409
    assert page.revision_count == 1


# -- revert ------------------------------------------------------------------------------------


def test_revert_adds_a_revision_with_an_automatic_summary(client):
    alice = make_editor("alice")
    page = make_page(body="Good advice.", author=alice)
    first = page.current_revision_id
    edit(page, "Vandalism!")
    login(client, make_editor("carol"))
    response = client.post(
        f"{page.url}/revert",
        data={"revision_id": first, "base_revision_id": page.current_revision_id, "reason": "spam"},
    )
    assert response.status_code == 302
    revisions = revisions_of(page)
    assert [r.body_source for r in revisions] == ["Good advice.", "Vandalism!", "Good advice."]
    assert revisions[-1].summary.startswith("Reverted to revision #1 by alice (")
    assert revisions[-1].summary.endswith(": spam")
    assert page.current_revision_id == revisions[-1].id
    assert "Reverted to revision #1" in text(client.get(f"{page.url}/history"))


def test_revert_refuses_bad_revisions(client):
    page = make_page(body="One.")
    first = page.current_revision_id
    edit(page, "Two.")
    other = make_page("Another page", body="Other.")
    login(client, make_editor())
    current = page.current_revision_id
    cases = [
        (
            {"revision_id": other.current_revision_id, "base_revision_id": current},
            422,
            "belongs to another page",
        ),
        ({"revision_id": 999999, "base_revision_id": current}, 404, "no revision"),
        ({"revision_id": first, "base_revision_id": first}, 409, "changed since"),
        ({"revision_id": current, "base_revision_id": current}, 409, "already the current"),
        ({"revision_id": "abc"}, 400, "Choose a revision"),
    ]
    for data, status, message in cases:
        response = client.post(f"{page.url}/revert", data=data)
        assert response.status_code == status, data
        assert message in text(response), data
    assert page.revision_count == 2 and other.revision_count == 1


# -- rename ------------------------------------------------------------------------------------


def test_rename_redirects_and_is_in_the_history(client):
    page = make_page("Router reset", body="Unplug it.")
    linking = make_page("Modem lights", body="If red, see [[Router reset]].")
    login(client, make_editor("dave"))
    response = client.post(f"{page.url}/rename", data={"title": "Reset your router", "reason": "clearer"})
    assert response.status_code == 302 and response.headers["Location"] == "/wiki/reset-your-router"
    assert page.slug == "reset-your-router" and page.title == "Reset your router"
    old = client.get("/wiki/router-reset")
    assert old.status_code == 302 and old.headers["Location"].startswith("/wiki/reset-your-router")
    followed = text(client.get(old.headers["Location"]))
    assert "Redirected from /wiki/router-reset" in followed
    history = text(client.get(f"{page.url}/history"))
    assert "Renamed from “Router reset” to “Reset your router”: clearer" in history
    redirect = db.session.scalar(select(WikiRedirect))
    assert (redirect.old_slug, redirect.page_id) == ("router-reset", page.id)
    assert revisions_of(page)[-1].title == "Reset your router"
    # The old link still works (blue) and counts under "what links here".
    assert 'class="wikilink" href="/wiki/router-reset"' in text(client.get(linking.url))
    assert "Modem lights" in text(client.get(f"{page.url}/links"))
    # Renaming back frees the old address again.
    assert client.post(f"{page.url}/rename", data={"title": "Router reset"}).status_code == 302
    assert client.get("/wiki/router-reset").status_code == 200
    assert client.get("/wiki/reset-your-router").status_code == 302


def test_rename_onto_another_page_or_address_is_a_conflict(client):
    page = make_page("First page")
    make_page("Second page")
    third = make_page("Third page")
    login(client, make_editor())
    assert client.post(f"{third.url}/rename", data={"title": "Fourth page"}).status_code == 302
    for title, status, message in [
        ("Second page", 409, "exists already"),
        ("Third page", 409, "redirects there"),
        ("First page", 422, "current title"),
        ("", 422, "required"),
    ]:
        response = client.post(f"{page.url}/rename", data={"title": title})
        assert response.status_code == status, title
        assert message in text(response), title
    assert page.slug == "first-page" and page.revision_count == 1


# -- links -------------------------------------------------------------------------------------


def test_links_red_links_and_what_links_here(client):
    page = make_page(
        "Guide", body="See [[Modem lights]], [[Refunds|how to get money back]] and `[[not a link]]`."
    )
    login(client, make_editor())
    shown = text(client.get(page.url))
    assert '<a class="wikilink wikilink-missing" href="/wiki/new?title=Modem%20lights"' in shown
    assert ">how to get money back</a>" in shown and "<code>[[not a link]]</code>" in shown
    targets = set(db.session.scalars(select(WikiLink.target_slug).where(WikiLink.page_id == page.id)))
    assert targets == {"modem-lights", "refunds"}
    # Following the red link creates the page; the link turns blue.
    assert 'value="Modem lights"' in text(client.get("/wiki/new?title=Modem%20lights"))
    client.post(
        "/wiki/new", data={"title": "Modem lights", "board_id": 0, "body": "Green is good.", "submit": "Save"}
    )
    shown = text(client.get(page.url))
    assert '<a class="wikilink" href="/wiki/modem-lights" title="Modem lights">Modem lights</a>' in shown
    modem = text(client.get("/wiki/modem-lights"))
    assert re.search(r'What links here</h2>\s*<ul><li><a href="/wiki/guide">Guide</a>', modem)
    # Editing the links away updates "what links here".
    edit(page, "No links now.")
    assert "No other page links here yet." in text(client.get("/wiki/modem-lights"))


# -- sanitizing ----------------------------------------------------------------------------------


XSS_BODY = """<script>alert(1)</script>
<img src=x onerror=alert(2)>
[click](javascript:alert(3)) [x](JaVaScRiPt:alert(4)) ![i](data:image/svg+xml,<svg onload=alert(5)>)
[[<img src=x onerror=alert(6)>]] [[Safe|<b onclick=alert(7)>label</b>]]
![[[<script>alert(8)</script>]]](https://example.org/a.png)
{{ 7*7 }}"""


def test_page_content_and_titles_are_sanitized(client):
    title = "<img src=x onerror=alert(1)>"
    page = make_page(title, body=XSS_BODY)
    login(client, make_editor())
    edit(page, XSS_BODY + "\nmore")
    for url in [page.url, "/wiki", "/wiki/changes", f"{page.url}/history", f"{page.url}/diff",
                f"{page.url}/revisions/{page.current_revision_id}", f"{page.url}/edit", f"{page.url}/links"]:  # fmt: skip
        html = text(client.get(url))
        assert "<script>alert" not in html and "<img src=x" not in html, url
        document = html5lib.parse(html, namespaceHTMLElements=False)
        assert not [e for e in document.iter() if e.tag == "script" and "alert" in (e.text or "")], url
        for element in document.iter():
            for name, value in element.attrib.items():
                assert not name.lower().startswith("on"), (url, element.tag, name)
                assert not value.lower().lstrip().startswith(("javascript:", "data:")), (url, name, value)
        assert "&lt;img src=x onerror=alert(1)&gt;" in html, url
    body = text(client.get(page.url))
    article = body[body.index('class="post-body wiki-body"') :]
    article = article[: article.index("</div>")]
    assert "{{ 7*7 }}" in article and "49" not in article


# -- index, recent changes, CLI ------------------------------------------------------------------


def test_index_and_recent_changes(client):
    board = make_board("Billing")
    page = make_page("Refunds", body="Ask.", board_id=board.id)
    make_page("Alpha guide", body="A.")
    edit(page, "Ask nicely.", summary="tone")
    index = text(client.get("/wiki"))
    assert index.index("Alpha guide") < index.index("Refunds")  # by title
    assert "Billing</a> (1)" in index  # by topic
    assert "tone" in index  # recently changed
    changes = text(client.get("/wiki/changes"))
    assert changes.index("tone") < changes.index("Alpha guide")


def test_deleted_pages_leave_lists(client):
    page = make_page("Gone page")
    moderator = make_editor("moddy", role="moderator")
    from forum.wiki import editing

    editing.delete_page(page, actor=moderator, reason="duplicate")
    db.session.commit()
    assert "Gone page" not in text(client.get("/wiki"))
    assert "Gone page" not in text(client.get("/wiki/changes"))
    assert client.get(page.url).status_code == 404
    # Links to it turn red, and creating it again is refused while it can be restored.
    make_page("Linking page", body="See [[Gone page]].")
    assert "wikilink-missing" in text(client.get("/wiki/linking-page"))
    login(client, make_editor("writer"))
    response = client.post(
        "/wiki/new", data={"title": "Gone page", "board_id": 0, "body": "x", "submit": "Save"}
    )
    assert response.status_code == 409 and "a moderator can restore it" in text(response)
    client.post("/logout")
    login(client, moderator)
    assert "Deleted pages (moderators)" in text(client.get("/wiki"))
    assert "was deleted" in text(client.get(page.url))


def test_cli_rerender_rebuilds_html_and_links(runner):
    page = make_page("Guide", body="See [[Other]].")
    db.session.execute(WikiLink.__table__.delete())
    revision = db.session.get(WikiRevision, page.current_revision_id)
    revision.body_html = "stale"
    db.session.commit()
    result = runner.invoke(args=["wiki", "rerender"])
    assert result.exit_code == 0 and "Rendered 1 revision" in result.output
    db.session.expire_all()
    assert "wikilink" in db.session.get(WikiRevision, page.current_revision_id).body_html
    assert db.session.scalar(select(WikiLink.target_slug)) == "other"


def test_a_save_read_before_someone_elses_commit_is_still_a_conflict(app):
    """The base check runs after locking the row, so a stale in-memory page cannot overwrite."""
    from sqlalchemy.orm import Session

    from forum.wiki import editing

    page = make_page(body="Original")
    base = page.current_revision_id
    alice, bob = make_editor("alice"), make_editor("bob")
    # Bob saves through another connection while this session still holds the old page.
    with Session(db.engine) as other:
        services_page = other.get(WikiPage, page.id)
        revision = WikiRevision(
            page_id=page.id, number=2, author_id=bob.id, title=page.title, summary="bob",
            body_source="Bob's text", body_html="<p>Bob's text</p>", size=10,
        )  # fmt: skip
        other.add(revision)
        other.flush()
        services_page.current_revision_id = revision.id
        services_page.revision_count = 2
        other.commit()
    assert page.current_revision_id == base  # stale, as a real concurrent request would be
    try:
        editing.edit_page(page, "Alice's text", actor=alice, base_revision_id=base)
    except editing.EditConflict as conflict:
        assert conflict.current.body_source == "Bob's text"
    else:
        raise AssertionError("a stale save overwrote Bob's revision")
    db.session.rollback()
    assert [r.body_source for r in revisions_of(page)] == ["Original", "Bob's text"]


def test_odd_addresses_and_numbers_never_500(client):
    page = make_page()
    login(client, make_editor())
    for url in [
        "/wiki/%00", "/wiki/%00/history", "/wiki/a%20b", "/wiki/" + "x" * 300, "/wiki?topic=%00",
        f"{page.url}/revisions/99999999999999999999", f"{page.url}/diff?to=%C2%B2", f"{page.url}/diff?from=999999999999",
        "/wiki/promote/99999999999999999999", "/wiki?page=%C2%B2", "/wiki/new?title=%00",
    ]:  # fmt: skip
        assert client.get(url).status_code in (200, 400, 404), url
    for data in [
        {"revision_id": "99999999999999999999"}, {"revision_id": "-5", "base_revision_id": "-1"},
        {"revision_id": "²"}, {"revision_id": "1", "base_revision_id": "99999999999999999999"},
    ]:  # fmt: skip
        assert client.post(f"{page.url}/revert", data=data).status_code in (400, 404, 409, 422), data
    for base in ("²", "99999999999999999999", "-1"):
        response = client.post(
            f"{page.url}/edit", data={"body": "New", "board_id": 0, "base_revision_id": base}
        )
        assert response.status_code == 409, base
    for board_id in ("99999999999999999999", "x", "-1"):
        response = client.post(
            f"{page.url}/edit",
            data={"body": "New", "board_id": board_id, "base_revision_id": page.current_revision_id},
        )
        assert response.status_code == 422, board_id
    assert page.revision_count == 1


def test_every_saved_revision_is_announced(app):
    """wiki_page_edited goes out once per new revision (notifications and feeds listen)."""
    from forum.wiki import editing, promotion

    editor = make_editor("alice")
    thread = make_thread(title="Thread to promote", replies=1)
    seen = []

    def receiver(sender, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen.append(
            (sender.username, kwargs["page"].slug, kwargs["revision"].number, kwargs["revision"].summary)
        )

    with events.wiki_page_edited.connected_to(receiver):
        page = editing.create_page("Signals", "One", actor=editor)
        first = page.current_revision_id
        editing.edit_page(page, "Two", actor=editor, base_revision_id=first, summary="two")
        editing.revert_page(page, first, actor=editor, base_revision_id=page.current_revision_id)
        editing.rename_page(page, "Signals renamed", actor=editor)
        editing.protect_page(make_page("Other", author=editor), actor=make_editor("moddy", role="moderator"))
        promotion.promote_thread(thread.id, None, actor=editor, title="Promoted", body="Text")
        db.session.commit()
    assert [(number, summary.split(" ")[0]) for _, _, number, summary in seen] == [
        (1, "Created"), (2, "two"), (3, "Reverted"), (4, "Renamed"), (1, "Created"), (1, "Promoted"),
    ]  # fmt: skip
