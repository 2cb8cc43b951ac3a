"""The authorization matrix's second axis: the state of what is acted on (issue #13).

tests/test_security_matrix.py asks who may act on an open thread and tries the first allowed
actor only, so rules that depend on the target's state went untested: an author could edit a
post a moderator hid, and nothing said what an archived board allows. Here every action is
tried on a post or thread in each state (open, hidden by a moderator, held for review, deleted,
in a locked thread, in an archived board) by every actor: each refused actor is refused and
changes nothing, and each allowed actor, in a world of their own, succeeds and changes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from forum.boards import services as boards
from forum.db import utcnow
from forum.extensions import db
from forum.moderation import services as moderation
from forum.moderation.flags import hold_for_review
from tests.factories import login, make_board, make_reply, make_thread
from tests.factories_exchange import empty_database
from tests.factories_moderation import make_admin, make_board_moderator, make_member, make_moderator, snapshot

ACTORS = ("anonymous", "owner", "other", "board_mod", "other_board_mod", "moderator", "admin", "silenced",
          "suspended")  # fmt: skip
MODS = frozenset({"board_mod", "moderator", "admin"})
MEMBERS = frozenset({"owner", "other", "other_board_mod"}) | MODS  # in good standing
NOBODY: frozenset[str] = frozenset()
STATES = ("open", "hidden", "held", "deleted", "locked", "archived")


class World:
    """A board with the owner's thread and reply; the reply (or the thread) put in `state`."""

    def __init__(self, make_client: Any, state: str, actors: tuple[str, ...]) -> None:
        self.board = make_board("Broadband")
        other_board = make_board("Billing")
        makers = {
            "owner": lambda: make_member("owner"),
            "other": lambda: make_member("other"),
            "board_mod": lambda: make_board_moderator(self.board, "board_mod"),
            "other_board_mod": lambda: make_board_moderator(other_board, "other_board_mod"),
            "moderator": lambda: make_moderator("moderator_one"),
            "admin": lambda: make_admin("admin_one"),
            "silenced": lambda: make_member("silenced_one", silenced_until=utcnow() + timedelta(days=3)),
            "suspended": lambda: make_member("suspended_one"),
        }
        self.users = {name: makers[name]() for name in {"owner", "moderator", *actors} - {"anonymous"}}
        owner = self.users["owner"]
        self.thread = make_thread(self.board, owner, title="Router drops wifi")
        self.post = make_reply(self.thread, owner, "The owner's reply")
        self.clients = {}
        for name in actors:
            self.clients[name] = make_client()
            if name != "anonymous":
                login(self.clients[name], self.users[name])
        if "suspended" in self.users:  # suspended after logging in: the session must not help
            self.users["suspended"].suspended_until = utcnow() + timedelta(days=3)
        moderator = self.users["moderator"]
        if state == "hidden":
            moderation.hide_post(self.post, "Rude", actor=moderator)
        elif state == "held":
            hold_for_review(self.post, "Waiting for a moderator")
        elif state == "deleted":
            boards.delete_post(self.post, actor=owner)
        elif state == "locked":
            moderation.lock_thread(self.thread, "Solved elsewhere", actor=moderator)
        elif state == "archived":
            self.board.archived_at = utcnow()
        db.session.commit()


@dataclass(frozen=True)
class Action:
    name: str
    url: str  # {t}: the thread, {p}: the owner's reply
    data: dict[str, str]
    allowed: dict[str, frozenset[str]]  # by state


OWNER_OR_MODS = MODS | {"owner"}
ACTIONS = (
    Action("reply", "/t/{t}/reply", {"body": "Another reply", "submit": "Post reply"}, {
        "open": MEMBERS, "hidden": MEMBERS, "held": MEMBERS, "deleted": MEMBERS, "locked": MODS,
        "archived": NOBODY}),
    Action("edit", "/p/{p}/edit", {"body": "Changed text", "submit": "1"}, {
        "open": OWNER_OR_MODS, "hidden": MODS, "held": MODS, "deleted": NOBODY, "locked": MODS,
        "archived": MODS}),
    Action("delete", "/p/{p}/delete", {}, {
        "open": OWNER_OR_MODS, "hidden": OWNER_OR_MODS, "held": OWNER_OR_MODS, "deleted": NOBODY,
        "locked": MODS, "archived": MODS}),
    Action("hide", "/p/{p}/hide", {"reason": "Rude"}, {
        "open": MODS, "hidden": NOBODY, "held": NOBODY, "deleted": NOBODY, "locked": MODS, "archived": MODS}),
    Action("restore", "/p/{p}/restore", {"reason": "Fine after all"}, {
        "open": NOBODY, "hidden": MODS, "held": MODS, "deleted": NOBODY, "locked": NOBODY, "archived": NOBODY}),
)  # fmt: skip


def _cases() -> list[Any]:
    return [
        pytest.param(action, state, id=f"{action.name}-{state}") for action in ACTIONS for state in STATES
    ]


def _send(world: World, actor: str, action: Action) -> Any:
    url = action.url.format(t=world.thread.id, p=world.post.id)
    return world.clients[actor].post(url, data=action.data or None)


@pytest.mark.parametrize("action, state", _cases())
def test_every_actor_on_every_state(make_client, action, state):
    allowed = action.allowed[state]
    refused = tuple(actor for actor in ACTORS if actor not in allowed)
    world = World(make_client, state, refused)
    assert refused and allowed <= set(ACTORS)
    for actor in refused:
        before = snapshot()
        response = _send(world, actor, action)
        if actor in ("anonymous", "suspended"):
            assert response.status_code == 302 and response.headers["Location"].startswith("/login"), actor
        else:
            assert response.status_code in (403, 404, 409, 422), f"{actor}: {response.status_code}"
        assert snapshot() == before, (
            f"{action.name} on a {state} post, refused to {actor}, changed the database"
        )
    for actor in sorted(allowed):
        empty_database()  # a world of their own: the same names again
        world = World(make_client, state, (actor,))
        before = snapshot()
        response = _send(world, actor, action)
        assert response.status_code in (200, 302), (
            f"{actor} should be able to {action.name}: {response.status_code}"
        )
        assert snapshot() != before, f"{action.name} on a {state} post by {actor} changed nothing"
