"""Rules that survived mutation testing (issue #13): each test fails if its condition is removed.

- an author cannot edit their post once a moderator hid it;
- an admin cannot sanction another admin;
- the last administrator cannot be demoted, and the refusal says so (not a form error);
- flags from members sanctioned after flagging do not count toward hiding a post;
- restoring a post that was hidden and then deleted does not bring it back into the counts
  (tests/test_counters.py).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forum.auth.models import User
from forum.boards.models import Post
from forum.db import utcnow
from forum.extensions import db
from forum.moderation import services as moderation
from forum.moderation import users as members
from tests.factories import login, make_board, make_reply, make_thread
from tests.factories_moderation import make_admin, make_member, make_moderator, snapshot


def test_an_author_cannot_edit_a_post_a_moderator_hid(client):
    author = make_member("author")
    thread = make_thread(make_board(), make_member(), title="Router drops wifi")
    post = make_reply(thread, author, "My phone number is 555-0100")
    login(client, author)
    assert (
        client.post(
            f"/p/{post.id}/edit", data={"body": "Edited before the hiding", "submit": "1"}
        ).status_code
        == 302
    )
    moderation.hide_post(post, "Personal data", actor=make_moderator())
    db.session.commit()
    before = snapshot()
    response = client.post(f"/p/{post.id}/edit", data={"body": "Sneaked back in", "submit": "1"})
    assert response.status_code == 403
    assert snapshot() == before
    assert db.session.get(Post, post.id).body_source == "Edited before the hiding"


def test_an_admin_cannot_sanction_another_admin(client):
    login(client, make_admin("boss"))
    other = make_admin("deputy")
    before = snapshot()
    for action, data in (
        ("warn", {"warn-reason": "Be kind"}),
        ("silence", {"silence-duration": "1d", "silence-reason": "Spam"}),
        ("suspend", {"suspend-duration": "7d", "suspend-reason": "Abuse"}),
    ):
        assert client.post(f"/mod/users/{other.username}/{action}", data=data).status_code == 403, action
    assert snapshot() == before
    db.session.expire_all()
    assert other.silenced_until is None and other.suspended_until is None
    # The same admin may sanction a moderator: the refusal above is about the target's role.
    moderator = make_moderator("moddy")
    assert client.post("/mod/users/moddy/warn", data={"warn-reason": "Be kind"}).status_code == 302
    assert moderator.role == "moderator"


def test_the_last_administrator_cannot_be_demoted_and_is_told_why(client):
    boss = make_admin("boss")
    login(client, boss)
    response = client.post("/admin/roles", data={"username": "boss", "role": "member", "board": ""})
    assert response.status_code in (409, 422)
    assert "This is the last administrator; make someone else admin first." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, boss.id).role == "admin"
    # With a second administrator the same request succeeds: the form was valid all along.
    make_admin("deputy")
    response = client.post("/admin/roles", data={"username": "boss", "role": "member", "board": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, boss.id).role == "member"


def test_flags_of_members_sanctioned_after_flagging_do_not_hide_a_post(app, make_client):
    app.config["FLAGS_TO_HIDE"] = 3
    thread = make_thread(make_board(), make_member(), title="Router drops wifi")
    post = make_reply(thread, make_member("spammer"), "Buy cheap routers")
    flaggers = [make_member(f"flagger{i}") for i in range(4)]

    def flag(user: User) -> None:
        browser = make_client()
        login(browser, user)
        assert browser.post(f"/p/{post.id}/flag", data={"reason": "spam"}).status_code in (200, 302)

    flag(flaggers[0])
    flag(flaggers[1])
    members.silence_user(flaggers[0], utcnow() + timedelta(days=3), "Flag abuse", actor=make_moderator())
    db.session.commit()
    flag(flaggers[2])  # three flags, but one flagger is no longer in good standing
    db.session.expire_all()
    assert db.session.get(Post, post.id).hidden_at is None
    flag(flaggers[3])  # a third flagger in good standing
    db.session.expire_all()
    assert db.session.get(Post, post.id).hidden_at is not None
    assert db.session.scalar(select(Post.hidden_by_id).where(Post.id == post.id)) is None
