"""Flags, the review queue, automatic hiding, and the new-account limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.boards.models import Post
from forum.db import utcnow
from forum.extensions import db
from forum.moderation.models import Flag, UserNotice
from tests.factories import login, make_board, make_thread
from tests.factories_moderation import audit_rows, make_member, make_moderator, make_new_member, snapshot


@pytest.fixture
def flagged(client, make_client):
    board = make_board("Broadband")
    author = make_member("spammer")
    thread = make_thread(board, make_member("asker"), title="Router drops wifi")
    from tests.factories import make_reply

    post = make_reply(thread, author, "Buy cheap routers at example.com")
    return board, thread, post


def flag(make_client, post, reason="spam", note="", user=None):
    browser = make_client()
    user = user or make_member()
    login(browser, user)
    return browser.post(f"/p/{post.id}/flag", data={"reason": reason, "note": note}), user


def test_one_flag_per_member_per_post(make_client, flagged):
    post = flagged[2]
    browser = make_client()
    login(browser, make_member("careful"))
    assert browser.get(f"/p/{post.id}/flag").status_code == 200
    assert browser.post(f"/p/{post.id}/flag", data={"reason": "spam", "note": "ads"}).status_code == 302
    before = snapshot()
    again = browser.post(f"/p/{post.id}/flag", data={"reason": "abusive"})
    assert again.status_code == 409 and "flagged this post already" in again.get_data(as_text=True)
    assert snapshot() == before
    assert browser.post(f"/p/{post.id}/flag", data={"reason": "bogus"}).status_code == 422
    own = make_client()
    login(own, post.author)
    assert own.post(f"/p/{post.id}/flag", data={"reason": "spam"}).status_code == 403


def test_queue_groups_by_post_oldest_first_and_resolves_in_one_step(client, make_client, flagged):
    board, thread, post = flagged
    from tests.factories import make_reply

    newer = make_reply(thread, make_member("rude"), "You are all idiots")
    _, first_flagger = flag(make_client, newer, "abusive")
    _, second_flagger = flag(make_client, post, "spam", note="link farm")
    _, third_flagger = flag(make_client, post, "off_topic")
    db.session.execute(
        Flag.__table__.update()
        .where(Flag.post_id == post.id)
        .values(created_at=utcnow() - timedelta(hours=2))
    )
    db.session.commit()
    mod = make_moderator("moddy")
    login(client, mod)
    page = client.get("/mod/queue").get_data(as_text=True)
    assert page.index("Buy cheap routers") < page.index("You are all idiots")  # oldest first
    assert "link farm" in page and page.count('class="queue-item"') == 2
    response = client.post(f"/mod/queue/{post.id}/resolve", data={"outcome": "hide", "reason": "Advertising"})
    assert response.status_code == 302
    assert post.hidden_at and post.hidden_reason == "Advertising"
    flags = db.session.scalars(select(Flag).where(Flag.post_id == post.id)).all()
    assert {(f.outcome, f.resolved_by_id) for f in flags} == {("hide", mod.id)}
    for flagger in (second_flagger, third_flagger):
        (notice,) = db.session.scalars(select(UserNotice).where(UserNotice.user_id == flagger.id)).all()
        assert "a moderator hid the post" in notice.message
    assert {e.action for e in audit_rows()} == {"hid post", "resolved flags: hide"}
    assert "Buy cheap routers" not in client.get("/mod/queue").get_data(as_text=True)
    # Warn: hides and sends the author a private warning.
    response = client.post(f"/mod/queue/{newer.id}/resolve", data={"outcome": "warn", "reason": "Be civil"})
    assert response.status_code == 302
    assert db.session.scalar(
        select(UserNotice).where(UserNotice.user_id == newer.author_id, UserNotice.kind == "warning")
    )
    assert "Nothing to review" in client.get("/mod/queue").get_data(as_text=True)
    assert client.post(f"/mod/queue/{newer.id}/resolve", data={"outcome": "dismiss"}).status_code == 409


def test_resolve_by_editing_and_dismissing(client, make_client, flagged):
    _, thread, post = flagged
    flag(make_client, post)
    login(client, make_moderator("moddy"))
    missing = client.post(f"/mod/queue/{post.id}/resolve", data={"outcome": "hide", "reason": ""})
    assert missing.status_code == 422 and "Give a reason" in missing.get_data(as_text=True)
    response = client.post(f"/mod/queue/{post.id}/resolve", data={"outcome": "edit", "body": "Try a reboot."})
    assert response.status_code == 302
    assert post.body_source == "Try a reboot." and post.hidden_at is None
    assert {"edited post", "resolved flags: edit"} <= {e.action for e in audit_rows()}
    flag(make_client, post, "moderator")
    assert client.post(f"/mod/queue/{post.id}/resolve", data={"outcome": "dismiss"}).status_code == 302
    notices = db.session.scalars(select(UserNotice.message).where(UserNotice.kind == "flag_outcome")).all()
    assert any("left it as it is" in message for message in notices)


def test_three_members_in_good_standing_hide_a_post(client, make_client, flagged):
    board, thread, post = flagged
    silenced = make_member("silenced", silenced_until=utcnow() + timedelta(days=1))
    flag(make_client, post, user=make_member())
    flag(make_client, post, user=make_member())
    browser = make_client()
    login(browser, silenced)
    browser.post(f"/p/{post.id}/flag", data={"reason": "spam"})  # refused: silenced members cannot flag
    assert post.hidden_at is None
    before = board.post_count
    flag(make_client, post, user=make_member())
    assert post.hidden_at is not None and post.hidden_by_id is None and board.post_count == before - 1
    (entry,) = audit_rows("auto-hid post")
    assert entry.actor_id is None
    login(client, make_moderator("moddy"))
    assert "Hidden after members&#39; flags, awaiting review" in client.get("/mod/queue").get_data(
        as_text=True
    )
    assert client.post(f"/mod/queue/{post.id}/resolve", data={"outcome": "dismiss"}).status_code == 302
    assert post.hidden_at is None and board.post_count == before


def test_auto_hide_threshold_is_configurable(app, make_client, flagged):
    app.config["FLAGS_TO_HIDE"] = 1
    post = flagged[2]
    flag(make_client, post)
    assert post.hidden_at is not None


# -- new accounts --------------------------------------------------------------------------------


@pytest.fixture
def newcomer(client):
    board = make_board("Broadband")
    thread = make_thread(board, make_member("asker"), title="Router drops wifi")
    user = make_new_member("newbie")
    login(client, user)
    return board, thread, user


def reply(client, thread, body):
    return client.post(f"/t/{thread.id}/reply", data={"body": body, "submit": "Post reply"})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("![a](https://img.example/a.png) ![b](https://img.example/b.png)", "at most 1 image"),
        ("@alice @bob @carol look", "mention at most 2 people"),
    ],
)
def test_new_accounts_are_limited_per_post(client, newcomer, body, message):
    thread = newcomer[1]
    before = snapshot()
    response = reply(client, thread, body)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    assert body.split()[0].replace("!", "")[:5] in page  # the typed text is kept
    assert snapshot() == before


@pytest.mark.antispam
def test_new_accounts_reply_and_thread_rates(client, newcomer):
    board, thread, user = newcomer
    assert reply(client, thread, "first").status_code == 302
    before = snapshot()
    response = reply(client, thread, "second, too soon")
    assert response.status_code == 422 and "once every 30 seconds" in response.get_data(as_text=True)
    assert snapshot() == before
    first = db.session.scalar(select(Post).where(Post.author_id == user.id))
    first.created_at = utcnow() - timedelta(seconds=31)
    db.session.commit()
    assert reply(client, thread, "second, later").status_code == 302
    new = {"title": "My own question", "body": "How do I?", "submit": "1"}
    assert client.post(f"/b/{board.slug}/new", data=new).status_code == 302
    response = client.post(f"/b/{board.slug}/new", data={**new, "title": "Another question"})
    assert response.status_code == 422 and "once every 120 seconds" in response.get_data(as_text=True)


def test_a_new_accounts_link_heavy_post_waits_for_review(client, make_client, newcomer):
    board, thread, user = newcomer
    body = "See https://a.example https://b.example and https://c.example"
    response = reply(client, thread, body)
    assert response.status_code == 302
    post = db.session.scalar(select(Post).where(Post.author_id == user.id))
    assert post.body_source == body and post.hidden_at is not None
    assert "Waiting for a moderator" in client.get(thread.url).get_data(as_text=True)
    assert thread.reply_count == 0 and board.post_count == 1
    moderator = make_client()
    login(moderator, make_moderator("moddy"))
    assert "https://c.example" in moderator.get("/mod/queue").get_data(as_text=True)
    assert moderator.post(f"/mod/queue/{post.id}/resolve", data={"outcome": "dismiss"}).status_code == 302
    assert post.hidden_at is None and thread.reply_count == 1 and board.post_count == 2


def test_established_members_have_no_new_account_limits(client):
    board = make_board()
    thread = make_thread(board, make_member())
    login(client, make_member("regular"))
    body = "@a_1 @b_2 @c_3 https://a.example https://b.example https://c.example"
    assert reply(client, thread, body).status_code == 302
    assert reply(client, thread, body + " again").status_code == 302
    assert db.session.scalar(select(Post).where(Post.position == 2)).hidden_at is None


def test_queue_and_log_pages_have_bounded_queries(client, count_queries):
    board = make_board()
    from tests.factories import make_reply

    thread = make_thread(board, make_member(), title="Busy thread")
    flaggers = [make_member() for _ in range(2)]
    for index in range(12):
        post = make_reply(thread, make_member(), f"Reply {index}")
        for flagger in flaggers:
            db.session.add(Flag(post_id=post.id, flagger_id=flagger.id, reason="spam"))
    db.session.commit()
    login(client, make_moderator("moddy"))
    for index in range(3):
        client.post(f"/t/{thread.id}/pin", data={"pinned": "1" if index % 2 == 0 else "0"})
    with count_queries() as counter:
        page = client.get("/mod/queue").get_data(as_text=True)
    assert page.count('class="queue-item"') == 12
    assert counter.count <= 8, counter.report()
    with count_queries() as counter:
        assert client.get("/mod/log").status_code == 200
    assert counter.count <= 8, counter.report()


def test_a_new_accounts_link_heavy_thread_is_held_too(client, make_client, newcomer):
    board, _, user = newcomer
    body = "Deals: https://a.example https://b.example https://c.example"
    response = client.post(
        f"/b/{board.slug}/new", data={"title": "Great deals here", "body": body, "submit": "1"}
    )
    assert response.status_code == 302
    opening = db.session.scalar(select(Post).where(Post.author_id == user.id))
    assert opening.hidden_at is not None and opening.body_source == body
    assert "https://a.example" not in client.get(response.headers["Location"]).get_data(as_text=True)
    moderator = make_client()
    login(moderator, make_moderator("moddy"))
    assert (
        moderator.post(
            f"/mod/queue/{opening.id}/resolve", data={"outcome": "hide", "reason": "Spam"}
        ).status_code
        == 302
    )
    assert opening.hidden_reason == "Spam"
