"""The authorization matrix (SECURITY 12, 14, 16, 17, 10): who may do what, and refusals change nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db
from forum.moderation.models import Flag
from tests.factories import PASSWORD, login, make_board, make_reply, make_thread
from tests.factories_badges import make_employee
from tests.factories_exchange import empty_database
from tests.factories_moderation import (
    audit_rows,
    make_admin,
    make_board_moderator,
    make_member,
    make_moderator,
    make_new_member,
    snapshot,
)  # fmt: skip

ACTORS = ["anonymous", "owner", "other", "newbie", "employee", "board_mod", "other_board_mod", "moderator",
          "admin", "silenced", "suspended"]  # fmt: skip
MODERATORS = {"board_mod", "moderator", "admin"}
STAFF = {"moderator", "admin"}


class World:
    def __init__(self, make_client: Any) -> None:
        self.board = make_board("Broadband")
        self.other_board = make_board("Billing")
        self.users = {
            "owner": make_member("owner"),
            "other": make_member("other"),
            "newbie": make_new_member("newbie"),
            "employee": make_employee("employee_one"),  # a verified badge gives no moderator power
            "board_mod": make_board_moderator(self.board, "board_mod"),
            "other_board_mod": make_board_moderator(self.other_board, "other_board_mod"),
            "moderator": make_moderator("moderator_one"),
            "admin": make_admin("admin_one"),
            "silenced": make_member("silenced_one", silenced_until=utcnow() + timedelta(days=3)),
            "suspended": make_member("suspended_one"),
        }
        owner = self.users["owner"]
        self.thread = make_thread(self.board, owner, title="Router drops wifi")
        self.post = make_reply(self.thread, owner, "The owner's reply")
        self.other_thread = make_thread(self.board, self.users["other"], title="Another wifi thread")
        # "other" has flagged the post already: flagging again is refused (409) like any refusal.
        db.session.add(Flag(post_id=self.post.id, flagger_id=self.users["other"].id, reason="spam"))
        db.session.commit()
        self.clients = {"anonymous": make_client()}
        for name, user in self.users.items():
            self.clients[name] = make_client()
            login(self.clients[name], user)
        # Suspended after logging in, without ending the session: the check must still refuse it.
        self.users["suspended"].suspended_until = utcnow() + timedelta(days=3)
        db.session.commit()


@dataclass
class Action:
    name: str
    method: str
    url: str  # formatted with the world: {t} thread, {p} post, {o} other thread
    data: dict[str, Any]
    allowed: set[str]
    refusals: tuple[int, ...] = (403, 404)


ACTIONS = [
    Action("lock", "POST", "/t/{t}/lock", {"lock-reason": "Done"}, MODERATORS),
    Action("pin", "POST", "/t/{t}/pin", {"pinned": "1"}, MODERATORS),
    Action("rename", "POST", "/t/{t}/rename", {"rename-title": "A better title"}, MODERATORS),
    Action("move", "POST", "/t/{t}/move", {"move-board": "billing"}, STAFF),
    Action("merge", "POST", "/t/{t}/merge", {"merge-target": "{o}", "confirmed": "yes"}, MODERATORS),
    Action(
        "split",
        "POST",
        "/t/{t}/split",
        {"split-posts": "{p}", "split-title": "Split thread", "split-board": "broadband", "confirmed": "yes"},
        MODERATORS,
    ),  # fmt: skip
    Action("duplicate", "POST", "/t/{t}/duplicate", {"duplicate-original": "{o}"}, MODERATORS),
    Action(
        "delete_thread", "POST", "/t/{t}/delete", {"delete-reason": "Spam", "confirmed": "yes"}, MODERATORS
    ),
    Action("tools", "GET", "/t/{t}/moderate", {}, MODERATORS),
    Action("hide", "POST", "/p/{p}/hide", {"reason": "Rude"}, MODERATORS),
    Action("resolve", "POST", "/mod/queue/{p}/resolve", {"outcome": "hide", "reason": "Spam"}, MODERATORS),
    Action("solution", "POST", "/p/{p}/solution", {}, MODERATORS | {"owner"}),
    Action("edit", "POST", "/p/{p}/edit", {"body": "Changed text", "submit": "1"}, MODERATORS | {"owner"}),
    Action("delete", "POST", "/p/{p}/delete", {}, MODERATORS | {"owner"}),
    Action("history", "GET", "/p/{p}/history", {}, MODERATORS | {"owner"}),
    Action("queue", "GET", "/mod/queue", {}, MODERATORS | {"other_board_mod"}),
    Action("log", "GET", "/mod/log", {}, MODERATORS | {"other_board_mod"}),
    Action("warn", "POST", "/mod/users/owner/warn", {"warn-reason": "Be kind"}, STAFF),
    Action(
        "silence",
        "POST",
        "/mod/users/owner/silence",
        {"silence-duration": "1d", "silence-reason": "Spam"},
        STAFF,
    ),
    Action(
        "suspend",
        "POST",
        "/mod/users/owner/suspend",
        {"suspend-duration": "7d", "suspend-reason": "Abuse", "confirmed": "yes"},
        STAFF,
    ),
    Action(
        "delete_account",
        "POST",
        "/mod/users/owner/delete",
        {"delete-reason": "Asked", "delete-confirm": "owner"},
        {"admin"},
    ),  # fmt: skip
    Action(
        "set_role", "POST", "/admin/roles", {"username": "other", "role": "moderator", "board": ""}, {"admin"}
    ),
    Action("create_board", "POST", "/admin/boards", {"name": "Secret board", "kind": "questions"}, {"admin"}),
    Action(
        "flag",
        "POST",
        "/p/{p}/flag",
        {"reason": "spam"},
        {"newbie", "employee", "board_mod", "other_board_mod", "moderator", "admin"},
        (403, 409),
    ),  # fmt: skip
]


def fill(world: World, text: str) -> str:
    return text.format(t=world.thread.id, p=world.post.id, o=world.other_thread.id)


@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.name)
def test_authorization_matrix(make_client, action):
    world = World(make_client)
    url = fill(world, action.url)
    data = {key: fill(world, value) for key, value in action.data.items()}
    refused = [actor for actor in ACTORS if actor not in action.allowed]
    audit_before = len(audit_rows())
    for actor in refused:
        before = snapshot()
        response = world.clients[actor].open(url, method=action.method, data=data or None)
        if actor in ("anonymous", "suspended"):
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), actor
        else:
            assert response.status_code in action.refusals, f"{actor}: {response.status_code}"
        assert snapshot() == before, f"{action.name} refused to {actor} still changed the database"
    # Every allowed actor, each in a fresh world (the first one's action changes the target).
    for number, allowed in enumerate(sorted(action.allowed)):
        if number:
            empty_database()
            world = World(make_client)
            url = fill(world, action.url)
            data = {key: fill(world, value) for key, value in action.data.items()}
            audit_before = len(audit_rows())
        response = world.clients[allowed].open(url, method=action.method, data=data or None)
        assert response.status_code in (200, 302), (
            f"{allowed} should be able to {action.name}: {response.status_code}"
        )
        # Moderators' actions are audited; an asker choosing their own solution is not moderation.
        audited = allowed != "owner" and action.name not in ("edit", "delete", "flag", "create_board")
        if action.method == "POST" and audited:
            assert len(audit_rows()) > audit_before, f"{action.name} by {allowed} wrote no audit row"


def test_extra_fields_cannot_grant_roles(client):
    """SECURITY 16: role=moderator or is_employee=1 in a form is ignored."""
    data = {"username": "sneaky", "email": "sneaky@example.org", "password": PASSWORD,
            "role": "admin", "is_employee": "1", "moderated_board_count": "5"}  # fmt: skip
    assert client.post("/register", data=data).status_code == 302
    user = db.session.scalar(select(User).where(User.username == "sneaky"))
    assert (user.role, user.moderated_board_count) == ("member", 0)
    response = client.post(
        "/settings", data={"profile-display_name": "Sneaky", "role": "admin", "profile-submit": "1"}
    )
    assert response.status_code == 302 and user.role == "member"


def test_locked_threads_and_archived_boards_refuse_replies(client):
    """SECURITY 17."""
    board = make_board()
    thread = make_thread(board, make_member(), title="Locked thread")
    thread.locked_at, thread.lock_reason = utcnow(), "Closed"
    archived = make_board("Old board")
    old_thread = make_thread(archived, make_member(), title="Archived thread")
    archived.archived_at = utcnow()
    db.session.commit()
    login(client, make_member("replier"))
    before = snapshot()
    assert client.post(f"/t/{thread.id}/reply", data={"body": "hi", "submit": "1"}).status_code == 409
    assert client.post(f"/t/{old_thread.id}/reply", data={"body": "hi", "submit": "1"}).status_code == 403
    assert (
        client.post(
            f"/b/{archived.slug}/new", data={"title": "New thread", "body": "x", "submit": "1"}
        ).status_code
        == 403
    )
    assert snapshot() == before


def test_suspension_ends_sessions_at_once(make_client):
    """SECURITY 10: the suspended member's very next request is anonymous."""
    victim = make_member("victim")
    browser = make_client()
    login(browser, victim)
    assert browser.get("/settings").status_code == 200
    moderator = make_client()
    login(moderator, make_moderator("moddy"))
    response = moderator.post(
        "/mod/users/victim/suspend",
        data={"suspend-duration": "1d", "suspend-reason": "Abuse", "confirmed": "yes"},
    )
    assert response.status_code == 302
    assert browser.get("/settings").status_code == 302
    assert browser.post("/login", data={"login": "victim", "password": PASSWORD}).status_code == 422
