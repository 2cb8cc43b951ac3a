"""Moderator actions through HTTP: threads, posts, edit history, members, roles, the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.auth.models import LoginSession, User
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.moderation.models import BoardModerator, PostRevision, UserNotice
from tests.factories import PASSWORD, login, make_board, make_reply, make_thread
from tests.factories_moderation import (
    audit_rows,
    make_admin,
    make_member,
    make_moderator,
    snapshot,
)  # fmt: skip


@pytest.fixture
def setup(client):
    board = make_board("Broadband")
    other_board = make_board("Billing")
    author = make_member("author")
    thread = make_thread(board, author, title="Router drops wifi", replies=2)
    mod = make_moderator("moddy")
    login(client, mod)
    return board, other_board, author, thread, mod


def test_lock_with_reason_blocks_replies_and_unlock(client, make_client, setup):
    board, _, author, thread, mod = setup
    response = client.post(f"/t/{thread.id}/lock", data={"lock-reason": "Answered; please open a new thread"})
    assert response.status_code == 302
    assert thread.is_locked and thread.lock_reason == "Answered; please open a new thread"
    (entry,) = audit_rows("locked thread")
    assert (entry.actor_id, entry.target_id, entry.reason, entry.board_id) == (
        mod.id,
        thread.id,
        thread.lock_reason,
        board.id,
    )
    page = client.get(thread.url).get_data(as_text=True)
    assert "This thread is locked: Answered; please open a new thread" in page
    member = make_client()
    login(member, make_member())
    before = snapshot()
    assert member.post(f"/t/{thread.id}/reply", data={"body": "late", "submit": "1"}).status_code == 409
    assert snapshot() == before
    assert client.post(f"/t/{thread.id}/lock", data={"lock-reason": "again"}).status_code == 409
    assert client.post(f"/t/{thread.id}/unlock", data={}).status_code == 302
    assert not thread.is_locked and audit_rows("unlocked thread")


def test_lock_needs_a_reason(client, setup):
    thread = setup[3]
    response = client.post(f"/t/{thread.id}/lock", data={"lock-reason": ""})
    assert response.status_code == 422 and "This field is required" in response.get_data(as_text=True)
    assert not thread.is_locked and not audit_rows()


def test_pin_and_unpin(client, setup):
    board, _, author, thread, _ = setup
    newer = make_thread(board, author, title="A newer thread")
    assert client.post(f"/t/{thread.id}/pin", data={"pinned": "1"}).status_code == 302
    page = client.get(board.url).get_data(as_text=True)
    assert page.index("Router drops wifi") < page.index(newer.title)
    assert client.post(f"/t/{thread.id}/pin", data={"pinned": "0"}).status_code == 302
    assert not thread.is_pinned
    assert [e.action for e in audit_rows()] == ["pinned thread", "unpinned thread"]


def test_move_keeps_counters_right_on_both_boards(client, setup):
    board, other, author, thread, _ = setup
    make_thread(board, author, title="Stays here")
    assert (board.thread_count, board.post_count) == (2, 4)
    response = client.post(
        f"/t/{thread.id}/move", data={"move-board": other.slug, "move-reason": "Billing topic"}
    )
    assert response.status_code == 302
    assert thread.board_id == other.id
    assert (board.thread_count, board.post_count) == (1, 1)
    assert (other.thread_count, other.post_count, other.last_thread_id) == (1, 3, thread.id)
    assert board.last_thread_id != thread.id
    (entry,) = audit_rows("moved thread")
    assert entry.reason == "Billing topic" and f"/b/{board.slug}" in entry.details
    assert "Router drops wifi" in client.get(other.url).get_data(as_text=True)


def test_rename(client, setup):
    thread = setup[3]
    response = client.post(f"/t/{thread.id}/rename", data={"rename-title": "Router drops wifi at night"})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/router-drops-wifi-at-night"
    )
    (entry,) = audit_rows("renamed thread")
    assert "Previous title: Router drops wifi" in entry.details
    assert client.post(f"/t/{thread.id}/rename", data={"rename-title": "ab"}).status_code == 422


def test_merge_interleaves_by_time_and_redirects(client, make_client, setup):
    board, _, author, thread, _ = setup
    other_author = make_member("other")
    source = make_thread(board, other_author, title="Wifi keeps dropping", replies=1)
    # Interleave: make the source's posts older than the target's replies.
    posts = db.session.scalars(select(Post).where(Post.thread_id == thread.id).order_by(Post.position)).all()
    source_posts = db.session.scalars(
        select(Post).where(Post.thread_id == source.id).order_by(Post.position)
    ).all()
    base = utcnow() - timedelta(hours=1)
    for minutes, post in zip((0, 10, 20), posts, strict=True):
        post.created_at = base + timedelta(minutes=minutes)
    for minutes, post in zip((5, 15), source_posts, strict=True):
        post.created_at = base + timedelta(minutes=minutes)
    db.session.commit()
    asked = client.post(f"/t/{source.id}/merge", data={"merge-target": f"http://forum.test{thread.url}"})
    assert asked.status_code == 200 and "Yes, merge" in asked.get_data(as_text=True)
    assert source.merged_into_id is None  # nothing happens before the moderator confirms
    response = client.post(
        f"/t/{source.id}/merge", data={"merge-target": f"http://forum.test{thread.url}", "confirmed": "yes"}
    )
    assert response.status_code == 302
    merged = db.session.scalars(select(Post).where(Post.thread_id == thread.id).order_by(Post.position)).all()
    assert [p.position for p in merged] == [1, 2, 3, 4, 5]
    assert [p.id for p in merged] == [
        posts[0].id,
        source_posts[0].id,
        posts[1].id,
        source_posts[1].id,
        posts[2].id,
    ]
    assert (thread.post_count, thread.reply_count) == (5, 4)
    assert (board.thread_count, board.post_count) == (1, 5)
    old = client.get(f"/t/{source.id}/{source.slug}")
    assert old.status_code == 301 and old.headers["Location"] == thread.url
    anonymous = make_client()
    old = anonymous.get(f"/t/{source.id}/{source.slug}")
    assert old.status_code == 301 and old.headers["Location"] == thread.url
    assert anonymous.get("/t/99999/nothing").status_code == 404
    assert audit_rows("merged thread")[0].target_id == source.id
    assert client.post(f"/t/{thread.id}/merge", data={"merge-target": "99999"}).status_code == 422
    # Beyond a database integer (PostgreSQL refused the lookup with a 500): "no such thread" too.
    for target in ("999999999999", "/t/99999999999/slug"):
        response = client.post(f"/t/{thread.id}/merge", data={"merge-target": target})
        assert response.status_code == 422 and "thread" in response.get_data(as_text=True).lower()
        response = client.post(f"/t/{thread.id}/duplicate", data={"duplicate-original": target})
        assert response.status_code == 422


def test_split_selected_posts_into_a_new_thread(client, setup):
    board, other, author, thread, _ = setup
    replier = make_member("replier")
    third = make_reply(thread, replier, "Third reply: a different problem")
    second = db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.position == 2))
    response = client.post(
        f"/t/{thread.id}/split",
        data={"split-posts": [str(second.id), str(third.id)], "split-title": "A different problem",
              "split-board": other.slug, "confirmed": "yes"},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    new = db.session.scalar(select(Thread).where(Thread.title == "A different problem"))
    assert response.headers["Location"] == new.url  # the moderator lands on the new thread
    assert new.board_id == other.id and new.author_id == second.author_id
    assert [p.id for p in db.session.scalars(select(Post).where(Post.thread_id == new.id).order_by(Post.position))] == [
        second.id, third.id,
    ]  # fmt: skip
    assert (new.post_count, new.reply_count, thread.post_count, thread.reply_count) == (2, 1, 2, 1)
    remaining = db.session.scalars(
        select(Post.position).where(Post.thread_id == thread.id).order_by(Post.position)
    ).all()
    assert remaining == [1, 2]
    assert (board.post_count, other.post_count, other.thread_count) == (2, 2, 1)
    assert audit_rows("split thread")
    opening = db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.position == 1))
    bad = client.post(f"/t/{thread.id}/split", data={"split-posts": [str(opening.id)], "split-title": "Nope nope",
                                                     "split-board": board.slug})  # fmt: skip
    assert bad.status_code == 422


def test_close_as_duplicate_links_the_original(client, setup):
    board, _, author, thread, _ = setup
    dup = make_thread(board, author, title="Wifi drops again")
    response = client.post(f"/t/{dup.id}/duplicate", data={"duplicate-original": str(thread.id)})
    assert response.status_code == 302
    assert dup.is_locked and dup.duplicate_of_id == thread.id
    page = client.get(dup.url).get_data(as_text=True)
    assert "Closed as a duplicate" in page and f'href="/t/{thread.id}"' in page
    assert audit_rows("closed as duplicate")[0].reason == f"Duplicate of thread /t/{thread.id}"


def test_hide_and_restore_keep_counters(client, make_client, setup):
    board, _, author, thread, _ = setup
    reply = db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.position == 3))
    counts = (board.post_count, thread.reply_count, author.post_count)
    response = client.post(f"/p/{reply.id}/hide", data={"reason": "Personal data"})
    assert response.status_code == 302
    assert reply.hidden_at and reply.hidden_reason == "Personal data"
    assert (board.post_count, thread.reply_count, author.post_count) == (
        counts[0] - 1,
        counts[1] - 1,
        counts[2] - 1,
    )
    assert thread.last_post_id != reply.id
    member = make_client()
    login(member, make_member())
    page = member.get(thread.url).get_data(as_text=True)
    assert "Hidden by a moderator: Personal data" in page and "Reply number 2" not in page
    assert "Reply number 2" in client.get(thread.url).get_data(as_text=True)
    assert client.post(f"/p/{reply.id}/restore", data={}).status_code == 302
    assert (
        board.post_count,
        thread.reply_count,
        author.post_count,
    ) == counts and thread.last_post_id == reply.id
    assert [e.action for e in audit_rows()] == ["hid post", "restored post"]


def test_edit_history_keeps_every_version_with_diffs(client, make_client, setup):
    board, _, author, thread, mod = setup
    post = db.session.scalar(select(Post).where(Post.thread_id == thread.id, Post.position == 2))
    owner = make_client()
    login(owner, author)
    assert (
        owner.post(
            f"/p/{post.id}/edit", data={"body": "Reply number 1\nwith more", "submit": "1"}
        ).status_code
        == 302
    )
    assert (
        client.post(f"/p/{post.id}/edit", data={"body": "Reply edited by mod", "submit": "1"}).status_code
        == 302
    )
    revisions = db.session.scalars(select(PostRevision).where(PostRevision.post_id == post.id)).all()
    assert [(r.number, r.body_source, r.editor_id) for r in revisions] == [
        (1, "Reply number 1", author.id), (2, "Reply number 1\nwith more", mod.id),
    ]  # fmt: skip
    assert [e.action for e in audit_rows()] == ["edited post"]  # only the moderator's edit
    for viewer in (client, owner):
        page = viewer.get(f"/p/{post.id}/history").get_data(as_text=True)
        assert "Version 3 (current)" in page and 'class="diff-add">+ with more' in page
        assert 'class="diff-del">- Reply number 1' in page
    stranger = make_client()
    login(stranger, make_member())
    assert stranger.get(f"/p/{post.id}/history").status_code == 403


def test_warn_silence_suspend_and_lift(client, make_client, setup):
    author = setup[2]
    victim_browser = make_client()
    login(victim_browser, author)
    thread = setup[3]
    assert client.post("/mod/users/author/warn", data={"warn-reason": "Be kind"}).status_code == 302
    assert "A moderator has warned you: Be kind" in victim_browser.get("/me/notices").get_data(as_text=True)
    response = client.post(
        "/mod/users/author/silence", data={"silence-duration": "1d", "silence-reason": "Spamming"}
    )
    assert response.status_code == 302
    assert author.silenced_until > utcnow() + timedelta(hours=23)
    refused = victim_browser.post(f"/t/{thread.id}/reply", data={"body": "still here", "submit": "1"})
    assert refused.status_code == 403
    assert "You cannot post until" in victim_browser.get(thread.url).get_data(as_text=True)
    assert "Reason: Spamming" in victim_browser.get(thread.url).get_data(as_text=True)
    assert client.post("/mod/users/author/lift", data={"lift-kind": "silence"}).status_code == 302
    assert author.silenced_until is None
    asked = client.post(
        "/mod/users/author/suspend", data={"suspend-duration": "forever", "suspend-reason": "Abuse"}
    )
    assert asked.status_code == 200 and "Yes, suspend" in asked.get_data(as_text=True)
    assert author.suspended_until is None
    response = client.post(
        "/mod/users/author/suspend",
        data={"suspend-duration": "forever", "suspend-reason": "Abuse", "confirmed": "yes"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(LoginSession.id).where(LoginSession.user_id == author.id)) is None
    assert victim_browser.get("/settings").status_code == 302  # logged out at once
    fresh = make_client()
    page = fresh.post("/login", data={"login": "author", "password": PASSWORD}).get_data(as_text=True)
    assert "suspended indefinitely" in page and "Abuse" in page
    assert client.post("/mod/users/author/lift", data={"lift-kind": "suspension"}).status_code == 302
    login(fresh, author)
    assert [e.action for e in audit_rows()] == [
        "warned user", "silenced user", "lifted silence", "suspended user", "lifted suspension",
    ]  # fmt: skip


def test_moderators_cannot_sanction_staff(client, setup):
    other_mod = make_moderator("othermod")
    admin = make_admin("boss")
    before = snapshot()
    for name in (other_mod.username, admin.username, "moddy"):
        assert client.post(f"/mod/users/{name}/warn", data={"warn-reason": "x"}).status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("remove_posts", [False, True])
def test_delete_account_at_the_members_request(client, make_client, setup, remove_posts):
    board, _, author, thread, _ = setup
    admin = make_admin("boss")
    browser = make_client()
    login(browser, author)
    client.post("/logout")
    login(client, admin)
    data = {"delete-reason": "Asked by mail", "delete-confirm": "author"}
    if remove_posts:
        data["delete-remove_posts"] = "y"
    assert client.post("/mod/users/author/delete", data=data).status_code == 302
    user = db.session.get(User, author.id)
    assert user.email is None and user.password_hash is None and user.username == f"deleted_{user.id}"
    assert user.deleted_at is not None
    assert browser.get("/settings").status_code == 302
    page = client.get(f"/t/{thread.id}/{thread.slug}")
    if remove_posts:
        assert board.post_count == 0 and board.thread_count == 0
    else:
        assert "Former member" in page.get_data(as_text=True) and board.post_count == 3
    assert audit_rows("deleted account")[0].target_label == "author"


def test_set_role_admin_page_and_board_scopes(client, make_client, setup):
    board, other, author, thread, mod = setup
    admin = make_admin("boss")
    client.post("/logout")
    login(client, admin)
    helper = make_member("helper")
    response = client.post(
        "/admin/roles", data={"username": "helper", "role": "moderator", "board": board.slug}
    )
    assert response.status_code == 302
    assert (
        db.session.scalar(select(BoardModerator.board_id).where(BoardModerator.user_id == helper.id))
        == board.id
    )
    browser = make_client()
    login(browser, helper)
    assert browser.post(f"/t/{thread.id}/pin", data={"pinned": "1"}).status_code == 302
    elsewhere = make_thread(other, author, title="Billing question")
    before = snapshot()
    assert browser.post(f"/t/{elsewhere.id}/pin", data={"pinned": "1"}).status_code == 403
    assert snapshot() == before
    assert browser.get("/mod/queue").status_code == 200
    assert (
        client.post(
            "/admin/roles", data={"username": "helper", "role": "member", "board": board.slug}
        ).status_code
        == 302
    )
    assert helper.moderated_board_count == 0
    assert (
        client.post("/admin/roles", data={"username": "helper", "role": "moderator", "board": ""}).status_code
        == 302
    )
    assert helper.role == "moderator"
    assert [e.details for e in audit_rows("changed role")] == [
        f"helper now moderates /b/{board.slug}", f"helper no longer moderates /b/{board.slug}",
        "helper: member → moderator",
    ]  # fmt: skip
    assert client.post("/admin/roles", data={"username": "nobody", "role": "moderator"}).status_code == 422
    assert (
        client.post("/admin/roles", data={"username": "boss", "role": "member"}).status_code == 422
    )  # last admin
    login(make_client(), mod)
    mod_browser = make_client()
    login(mod_browser, mod)
    assert mod_browser.get("/admin/roles").status_code == 403


def test_set_role_cli(runner, app):
    board = make_board("Broadband")
    user = make_member("helper")
    result = runner.invoke(args=["users", "set-role", "helper", "moderator", "--board", board.slug])
    assert result.exit_code == 0, result.output
    assert f"helper now moderates /b/{board.slug}" in result.output
    result = runner.invoke(args=["users", "set-role", "helper", "admin"])
    assert result.exit_code == 0 and db.session.get(User, user.id).role == "admin"
    entries = audit_rows("changed role")
    assert len(entries) == 2 and all(e.actor_id is None for e in entries)
    result = runner.invoke(args=["users", "set-role", "ghost", "admin"])
    assert result.exit_code == 1 and "no member called" in result.output
    result = runner.invoke(args=["users", "set-role", "helper", "emperor"])
    assert result.exit_code == 2


def test_mod_log_filters_and_public_log(app, client, make_client, setup):
    board, other, author, thread, mod = setup
    client.post(f"/t/{thread.id}/lock", data={"lock-reason": "Solved"})
    client.post("/mod/users/author/warn", data={"warn-reason": "Private matter"})
    page = client.get("/mod/log").get_data(as_text=True)
    assert "locked thread" in page and "warned user" in page and "Private matter" in page
    filtered = client.get("/mod/log?action=locked+thread").get_data(as_text=True)
    assert "locked thread" in filtered and "Private matter" not in filtered
    assert "warned user" in client.get("/mod/log?user=author&action=warned+user").get_data(as_text=True)
    anonymous = make_client()
    assert anonymous.get("/mod/log/public").status_code == 404
    assert "/mod/log/public" not in anonymous.get("/").get_data(as_text=True)
    app.config["PUBLIC_MOD_LOG"] = True
    assert "/mod/log/public" in anonymous.get("/").get_data(as_text=True)
    public = anonymous.get("/mod/log/public").get_data(as_text=True)
    assert "locked thread" in public and "Solved" in public
    assert "warned user" in public and "Private matter" not in public and "author" not in public
    member = make_client()
    login(member, make_member())
    assert member.get("/mod/log").status_code == 403


def test_notices_can_be_marked_read(client, setup):
    author = setup[2]
    client.post("/mod/users/author/warn", data={"warn-reason": "Be kind"})
    client.post("/logout")
    login(client, author)
    assert client.post("/me/notices/read").status_code == 302
    assert db.session.scalar(select(UserNotice.read_at).where(UserNotice.user_id == author.id)) is not None


def test_delete_thread(client, setup):
    board, _, author, thread, _ = setup
    assert client.post(f"/t/{thread.id}/delete", data={"delete-reason": ""}).status_code == 422
    asked = client.post(f"/t/{thread.id}/delete", data={"delete-reason": "Spam thread"})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Yes, delete the thread" in page and "button-danger" in page
    assert 'name="delete-reason" value="Spam thread"' in page and thread.deleted_at is None
    response = client.post(
        f"/t/{thread.id}/delete", data={"delete-reason": "Spam thread", "confirmed": "yes"}
    )
    assert response.status_code == 302 and response.headers["Location"] == board.url
    assert thread.deleted_at is not None and (board.thread_count, board.post_count) == (0, 0)
    assert audit_rows("deleted thread")[0].reason == "Spam thread"
    client.post("/logout")
    assert client.get(thread.url).status_code == 404
