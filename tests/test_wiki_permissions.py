"""Who may do what in the wiki: every action for anonymous, new member, member, other member
and moderator, with the database unchanged after each refusal, and an audit row for each
moderator action."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.db import utcnow
from forum.extensions import db
from forum.moderation.models import AuditEntry
from forum.wiki import editing, permissions
from forum.wiki.models import WikiLink, WikiPage, WikiRedirect, WikiRevision
from tests.factories import login, make_thread, make_user
from tests.factories_wiki import make_editor, make_page

ROLES = ("anonymous", "new member", "member", "other member", "moderator")


def snapshot() -> tuple:
    """Every wiki row and the audit log, to compare before and after a refused request."""
    db.session.expire_all()
    pages = db.session.execute(
        select(
            WikiPage.id, WikiPage.slug, WikiPage.title, WikiPage.current_revision_id, WikiPage.revision_count,
            WikiPage.protected_at, WikiPage.deleted_at, WikiPage.board_id,
        ).order_by(WikiPage.id)
    ).all()  # fmt: skip
    revisions = db.session.execute(
        select(WikiRevision.id, WikiRevision.body_source).order_by(WikiRevision.id)
    ).all()
    links = db.session.execute(select(WikiLink.page_id, WikiLink.target_slug).order_by(WikiLink.id)).all()
    redirects = db.session.execute(select(WikiRedirect.old_slug, WikiRedirect.page_id)).all()
    audit = db.session.execute(select(AuditEntry.id)).all()
    return pages, revisions, links, redirects, audit


@pytest.fixture
def people(make_client):
    """A logged-in client per role ("member" wrote the page; "other member" did not)."""
    users = {
        "new member": make_user("newbie"),
        "member": make_editor("author"),
        "other member": make_editor("other"),
        "moderator": make_editor("moddy", role="moderator"),
    }
    clients = {"anonymous": make_client()}
    for role, user in users.items():
        clients[role] = make_client()
        login(clients[role], user)
    return users, clients


def check(clients, allowed: set[str], request, expect_ok=(302,)):  # noqa: ANN001, ANN201
    """Send `request(client)` per role: refused roles change nothing; allowed ones succeed."""
    results = {}
    for role in ROLES:
        if role in allowed:
            continue
        before = snapshot()
        response = request(clients[role])
        results[role] = response
        if role == "anonymous":
            assert response.status_code == 302 and "/login" in response.headers["Location"], role
        else:
            assert response.status_code == 403, (role, response.status_code)
        assert snapshot() == before, role
    for role in ROLES:
        if role not in allowed:
            continue
        response = request(clients[role])
        results[role] = response
        assert response.status_code in expect_ok, (
            role,
            response.status_code,
            response.get_data(as_text=True)[:500],
        )
    return results


def test_create(people, app):
    users, clients = people
    app.config["WIKI_MIN_POSTS"] = 3
    for editor in (users["member"], users["other member"]):
        make_thread(author=editor, replies=2)  # three real posts each
    counter = iter(range(100))

    def create(client):  # noqa: ANN001, ANN202
        n = next(counter)
        return client.post(
            "/wiki/new", data={"title": f"Page {n}", "board_id": 0, "body": "Text", "submit": "Save"}
        )

    results = check(clients, {"member", "other member", "moderator"}, create)
    message = results["new member"].get_data(as_text=True)
    assert "New accounts can edit the wiki once they are 4 days old and have written 3 posts" in message
    assert "after 3 more posts" in message and "You can edit from" in message


@pytest.mark.counter_drift  # sets a member's post count by hand, to test the predicate
def test_new_member_is_told_why_and_when(people, app):
    users, clients = people
    page = make_page(author=users["member"])
    app.config["WIKI_MIN_POSTS"] = 3
    html = clients["new member"].get(page.url).get_data(as_text=True)
    ready = (users["new member"].created_at + timedelta(days=4)).strftime("%d %B %Y")
    assert "New accounts can edit the wiki" in html and ready in html
    assert f'href="{page.url}/edit"' not in html
    # Old enough but without posts: only the posts are missing.
    newbie = users["new member"]
    newbie.created_at = utcnow() - timedelta(days=30)
    newbie.post_count = 2
    db.session.commit()
    assert permissions.why_cannot_edit_wiki(newbie).endswith("You can edit after 1 more post in the forum.")
    newbie.post_count = 3
    db.session.commit()
    assert permissions.can_edit_wiki(newbie)
    # The thresholds are configuration.
    app.config.update(WIKI_MIN_ACCOUNT_AGE_DAYS=0, WIKI_MIN_POSTS=0)
    assert permissions.can_edit_wiki(make_user("brandnew"))


def test_silenced_members_cannot_edit(people):
    users, clients = people
    page = make_page(author=users["member"])
    users["other member"].silenced_until = utcnow() + timedelta(days=1)
    db.session.commit()
    before = snapshot()
    response = clients["other member"].post(
        f"{page.url}/edit", data={"body": "New", "board_id": 0, "base_revision_id": page.current_revision_id}
    )
    assert response.status_code == 403 and "cannot write" in response.get_data(as_text=True)
    assert snapshot() == before


def test_edit_unprotected_and_protected(people):
    users, clients = people
    page = make_page(author=users["member"])
    counter = iter(range(100))

    def edit(client):  # noqa: ANN001, ANN202
        db.session.expire_all()
        current = db.session.get(WikiPage, page.id).current_revision_id
        return client.post(
            f"{page.url}/edit",
            data={"body": f"Edit {next(counter)}", "board_id": 0, "base_revision_id": current},
        )

    check(clients, {"member", "other member", "moderator"}, edit)
    assert clients["new member"].get(f"{page.url}/edit").status_code == 403
    editing.protect_page(page, actor=users["moderator"])
    db.session.commit()
    results = check(clients, {"moderator"}, edit)
    assert "protected" in results["member"].get_data(as_text=True)
    assert clients["other member"].get(f"{page.url}/edit").status_code == 403


def test_verified_employees_edit_protected_pages(people):
    from tests.factories_badges import make_badge

    users, clients = people
    page = make_page(author=users["member"])
    page.protected_at = utcnow()
    db.session.commit()
    assert not permissions.can_edit_page(users["other member"], page)
    make_badge(users["other member"])
    assert permissions.can_edit_page(users["other member"], page)
    assert not permissions.can_edit_page(users["member"], page)
    assert clients["other member"].get(f"{page.url}/edit").status_code == 200
    assert clients["member"].get(f"{page.url}/edit").status_code == 403


def test_revert(people):
    users, clients = people
    page = make_page(body="First", author=users["member"])
    editing.edit_page(page, "Second", actor=users["other member"], base_revision_id=page.current_revision_id)
    db.session.commit()

    def revert(client):  # noqa: ANN001, ANN202
        db.session.expire_all()
        fresh = db.session.get(WikiPage, page.id)
        current_body = db.session.get(WikiRevision, fresh.current_revision_id).body_source
        target = db.session.scalar(
            select(WikiRevision.id).where(
                WikiRevision.page_id == page.id, WikiRevision.body_source != current_body
            )
        )
        return client.post(
            f"{page.url}/revert", data={"revision_id": target, "base_revision_id": fresh.current_revision_id}
        )

    check(clients, {"member", "other member", "moderator"}, revert)
    editing.protect_page(page, actor=users["moderator"])
    db.session.commit()
    check(clients, {"moderator"}, revert)


def test_rename(people):
    users, clients = people
    page = make_page("Start title", author=users["member"])
    counter = iter(range(100))

    def rename(client):  # noqa: ANN001, ANN202
        db.session.expire_all()
        slug = db.session.get(WikiPage, page.id).slug
        return client.post(f"/wiki/{slug}/rename", data={"title": f"Renamed {next(counter)}"})

    check(clients, {"member", "other member", "moderator"}, rename)
    editing.protect_page(page, actor=users["moderator"])
    db.session.commit()
    check(clients, {"moderator"}, rename)


@pytest.mark.parametrize(
    ("action", "undo", "audit_action"),
    [
        ("protect", "unprotect", "protected wiki page"),
        ("delete", "restore", "deleted wiki page"),
    ],
)
def test_moderator_actions_are_audited(people, action, undo, audit_action):
    users, clients = people
    page = make_page("Moderated page", author=users["member"])
    slug = page.slug

    def act(client):  # noqa: ANN001, ANN202
        return client.post(f"/wiki/{slug}/{action}", data={"reason": "too many edits"})

    check(clients, {"moderator"}, act)
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert (entry.action, entry.actor_id, entry.target_type, entry.target_id, entry.reason) == (
        audit_action, users["moderator"].id, "wiki_page", page.id, "too many edits",
    )  # fmt: skip
    history = clients["anonymous"].get(f"/wiki/{slug}/history")
    if action == "protect":
        assert f"moddy</a> {audit_action} (too many edits)" in history.get_data(as_text=True)
    # Doing it twice is a conflict, not a second row.
    assert act(clients["moderator"]).status_code == 409

    def reverse(client):  # noqa: ANN001, ANN202
        return client.post(f"/wiki/{slug}/{undo}", data={"reason": "calmer now"})

    if action == "delete":
        # Members do not see deleted pages at all.
        for role in ("anonymous", "new member", "member", "other member"):
            before = snapshot()
            assert clients[role].post(f"/wiki/{slug}/{undo}").status_code in (302, 404)
            assert clients[role].get(f"/wiki/{slug}").status_code == 404
            assert snapshot() == before
        assert reverse(clients["moderator"]).status_code == 302
    else:
        check(clients, {"moderator"}, reverse)
    entry = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()))
    assert entry.action == audit_action.replace("protected", "unprotected").replace("deleted", "restored")
    db.session.expire_all()
    page = db.session.get(WikiPage, page.id)
    assert page.protected_at is None and page.deleted_at is None
    assert page.revision_count == 1  # moderation never touches the text


def test_promote(people):
    users, clients = people
    thread = make_thread(author=users["member"], title="Router keeps dropping", replies=1)
    counter = iter(range(100))

    def promote(client):  # noqa: ANN001, ANN202
        return client.post(
            f"/wiki/promote/{thread.id}",
            data={"title": f"Router guide {next(counter)}", "board_id": 0, "body": "Text", "submit": "Save"},
        )

    check(clients, {"member", "other member", "moderator"}, promote)
    assert clients["new member"].get(f"/wiki/promote/{thread.id}").status_code == 403
    assert "Turn this thread" not in clients["new member"].get(thread.url).get_data(as_text=True)
    assert "Turn this thread" in clients["other member"].get(thread.url).get_data(as_text=True)


def test_csrf_is_required(people):
    users, clients = people
    page = make_page(author=users["member"])
    before = snapshot()
    for url, data in [
        (f"{page.url}/edit", {"body": "x", "base_revision_id": page.current_revision_id}),
        (f"{page.url}/protect", {}),
        (f"{page.url}/revert", {"revision_id": page.current_revision_id}),
    ]:
        response = clients["moderator"].post(url, data=data, csrf=False)
        assert response.status_code in (400, 422)
    assert snapshot() == before


def test_get_never_changes_anything(people):
    users, clients = people
    page = make_page(author=users["member"])
    before = snapshot()
    for url in ("protect", "unprotect", "delete", "restore", "revert"):
        assert clients["moderator"].get(f"{page.url}/{url}").status_code == 405
    assert snapshot() == before
