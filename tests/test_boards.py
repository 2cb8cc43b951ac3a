"""Boards, threads and posts through HTTP: reading, writing, permissions and counters."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.boards import services
from forum.boards.models import Board, Post, Thread
from forum.db import utcnow
from forum.extensions import db
from tests.factories import login, make_board, make_reply, make_thread, make_user


def test_index_shows_boards_in_order_with_counts_and_latest(client):
    tv = make_board("TV", slug="tv", description="Boxes and channels")
    broadband = make_board("Broadband", slug="broadband")
    services.move_board(broadband, -1)
    db.session.commit()
    author = make_user("nina", display_name="Nina N.")
    make_thread(tv, author, title="Old question about channels")
    latest = make_thread(tv, title="Recordings vanished", replies=2)
    make_reply(latest, author, "Same here")
    page = client.get("/").get_data(as_text=True)
    assert page.index("Broadband") < page.index("TV")
    row = page[page.index('href="/b/tv"') :]
    assert re.search(
        r"<td class=\"num\"[^>]*>2 threads</td>\s*<td class=\"num\"[^>]*>5 posts</td>", row
    )  # 2 threads, 5 posts: counts with their words, "1 post" in the singular
    assert re.search(r"<td class=\"num\"[^>]*>0 threads</td>", page)  # Broadband
    assert "Recordings vanished" in row and "Nina N." in row
    assert "<time datetime=" in row and 'title="20' in row  # relative time, exact on hover


def test_board_page_sorts_by_activity_pinned_first_and_paginates(client):
    board = make_board("Billing", slug="billing")
    author = make_user()
    threads = [
        services.start_thread(board, f"Billing question {i:02d}", "Body", actor=author) for i in range(33)
    ]
    start = utcnow() - timedelta(days=40)
    for index, thread in enumerate(threads):
        thread.last_post_at = start + timedelta(hours=index)
    threads[0].is_pinned = True
    db.session.commit()
    first = client.get("/b/billing").get_data(as_text=True)
    titles = re.findall(r'class="thread-title" href="[^"]+">([^<]+)<', first)
    assert len(titles) == 30
    assert titles[0] == "Billing question 00"  # pinned, although oldest
    assert titles[1] == "Billing question 32"  # then most recent activity
    assert 'aria-current="page" href="/b/billing?page=1"' in first
    second = client.get("/b/billing?page=2").get_data(as_text=True)
    assert re.findall(r'class="thread-title" href="[^"]+">([^<]+)<', second) == [
        "Billing question 03", "Billing question 02", "Billing question 01",
    ]  # fmt: skip


def test_start_a_thread_and_reply(client):
    board = make_board("Phone", slug="phone")
    user = make_user("olga")
    login(client, user)
    response = client.post(
        "/b/phone/new",
        data={"title": "  Porting my   number  ", "body": "How long does it take?", "submit": "1"},
    )
    assert response.status_code == 302
    thread = db.session.scalars(select(Thread)).one()
    assert response.headers["Location"] == f"/t/{thread.id}/porting-my-number"
    assert thread.title == "Porting my number"
    response = client.post(f"/t/{thread.id}/reply", data={"body": "Took two days for me.", "submit": "1"})
    reply = db.session.scalars(select(Post).where(Post.position == 2)).one()
    assert response.headers["Location"] == f"{thread.url}?page=1#post-{reply.id}"
    assert (board.thread_count, board.post_count, board.last_thread_id) == (1, 2, thread.id)
    assert (thread.reply_count, thread.last_post_id, thread.last_poster_id) == (1, reply.id, user.id)
    assert (user.post_count, user.thread_count) == (2, 1)
    page = client.get(thread.url).get_data(as_text=True)
    assert "Took two days for me." in page and f'id="post-{reply.id}"' in page


def test_preview_renders_without_saving(client):
    make_board("Phone", slug="phone")
    login(client, make_user())
    response = client.post(
        "/b/phone/new", data={"title": "Preview title", "body": "Some **bold** text", "preview": "1"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<section class="preview"' in page and "<strong>bold</strong>" in page
    assert 'value="Preview title"' in page and "Some **bold** text" in page
    assert db.session.scalars(select(Thread)).first() is None


def test_slug_redirects_and_bare_id(client):
    thread = make_thread(title="Router lights blinking red")
    assert thread.slug == "router-lights-blinking-red"
    response = client.get(f"/t/{thread.id}/old-wrong-slug?page=1")
    assert response.status_code == 301 and response.headers["Location"] == f"{thread.url}?page=1"
    assert client.get(f"/t/{thread.id}").headers["Location"] == thread.url
    assert client.get(thread.url).status_code == 200


def test_thread_pages_and_post_anchors(client):
    thread = make_thread(title="A very long thread", replies=44)  # 45 posts: 3 pages of 20
    assert thread.page_count == 3
    page1 = client.get(thread.url).get_data(as_text=True)
    assert page1.count('class="post"') == 20
    page3 = client.get(f"{thread.url}?page=3").get_data(as_text=True)
    assert page3.count('class="post"') == 5
    post = db.session.scalars(select(Post).where(Post.thread_id == thread.id, Post.position == 25)).one()
    response = client.get(f"/p/{post.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{thread.url}?page=2#post-{post.id}"
    assert f'id="post-{post.id}"' in client.get(f"{thread.url}?page=2").get_data(as_text=True)
    first = db.session.scalars(select(Post).where(Post.thread_id == thread.id, Post.position == 1)).one()
    assert client.get(f"/p/{first.id}").headers["Location"] == f"{thread.url}#post-{first.id}"


def test_edit_own_post_shows_edited(client):
    author = make_user("pat")
    thread = make_thread(author=author, title="Original title here")
    post = db.session.scalars(select(Post).where(Post.thread_id == thread.id)).one()
    login(client, author)
    form = client.get(f"/p/{post.id}/edit").get_data(as_text=True)
    assert "Opening post text." in form and 'value="Original title here"' in form
    response = client.post(
        f"/p/{post.id}/edit", data={"title": "Better title here", "body": "New _text_", "submit": "1"}
    )
    assert response.status_code == 302
    assert (thread.title, thread.slug, post.body_source) == (
        "Better title here",
        "better-title-here",
        "New _text_",
    )
    assert post.edited_at is not None and post.edited_by_id == author.id
    page = client.get(thread.url).get_data(as_text=True)
    assert "<em>text</em>" in page and 'class="edited">edited' in page


def test_soft_delete_keeps_the_row_and_fixes_counters(client):
    author = make_user("quinn")
    thread = make_thread(title="Counters after delete", replies=1)
    reply = make_reply(thread, author, "Regrettable reply")
    board = thread.board
    assert (board.post_count, thread.reply_count, author.post_count) == (3, 2, 1)
    login(client, author)
    response = client.post(f"/p/{reply.id}/delete")
    assert response.status_code == 302
    assert reply.deleted_at is not None and reply.deleted_by_id == author.id
    assert (board.post_count, thread.reply_count, author.post_count) == (2, 1, 0)
    assert thread.last_post_id != reply.id
    page = client.get(thread.url).get_data(as_text=True)
    assert "Deleted by its author" in page and "Regrettable reply" not in page
    assert f'id="post-{reply.id}"' in page  # the row and its anchor stay


@pytest.mark.parametrize("who", ["anonymous", "other member"])
def test_others_cannot_edit_or_delete(client, who):
    author = make_user("rosa")
    thread = make_thread(author=author, title="Someone else's thread")
    post = db.session.scalars(select(Post).where(Post.thread_id == thread.id)).one()
    if who == "other member":
        login(client, make_user("sly"))
    edit_page = client.get(f"/p/{post.id}/edit")
    edit = client.post(
        f"/p/{post.id}/edit", data={"title": "Hijacked title", "body": "hijacked", "submit": "1"}
    )
    delete = client.post(f"/p/{post.id}/delete")
    if who == "anonymous":
        assert edit_page.status_code == edit.status_code == delete.status_code == 302
        assert "/login" in edit.headers["Location"]
    else:
        assert edit_page.status_code == edit.status_code == delete.status_code == 403
    db.session.refresh(post)
    assert post.body_source == "Opening post text." and post.deleted_at is None
    assert thread.title == "Someone else's thread"


def test_anonymous_cannot_post(client):
    thread = make_thread()
    make_board("Open", slug="open")
    assert client.get("/b/open/new").status_code == 302
    assert client.post("/b/open/new", data={"title": "Anonymous thread", "body": "x"}).status_code == 302
    assert client.post(f"/t/{thread.id}/reply", data={"body": "Anonymous reply"}).status_code == 302
    assert db.session.scalar(select(db.func.count()).select_from(Post)) == 1


def test_requests_without_csrf_token_change_nothing(client):
    user = make_user("tess")
    thread = make_thread(author=user)
    post = db.session.scalars(select(Post)).one()
    login(client, user)
    reply = client.post(f"/t/{thread.id}/reply", data={"body": "no token"}, csrf=False)
    delete = client.post(f"/p/{post.id}/delete", csrf=False)
    assert reply.status_code == delete.status_code == 400
    assert thread.reply_count == 0 and post.deleted_at is None
    assert "form had expired" in reply.get_data(as_text=True) or "CSRF" in reply.get_data(as_text=True)


def test_locked_threads_and_archived_boards_refuse_replies(client):
    user = make_user("uma")
    thread = make_thread(title="Locked for a reason")
    thread.locked_at, thread.lock_reason = utcnow(), "Resolved by the provider"
    db.session.commit()
    login(client, user)
    response = client.post(f"/t/{thread.id}/reply", data={"body": "Late reply", "submit": "1"})
    assert response.status_code == 409
    assert "This thread is locked" in response.get_data(as_text=True)
    assert "Resolved by the provider" in client.get(thread.url).get_data(as_text=True)
    archived = make_board("Old board", slug="old-board")
    archived.archived_at = utcnow()
    db.session.commit()
    assert (
        client.post(
            "/b/old-board/new", data={"title": "New thread here", "body": "x", "submit": "1"}
        ).status_code
        == 403
    )
    assert thread.reply_count == 0


def test_profile_lists_recent_threads_and_replies(client):
    user = make_user("vera", display_name="Vera V.")
    thread = make_thread(author=user, title="Vera's own question")
    other = make_thread(title="Somebody else's question")
    make_reply(other, user, "Vera answers")
    page = client.get("/u/vera").get_data(as_text=True)
    assert (
        "Vera V." in page and "Vera&#39;s own question" in page and "Re: Somebody else&#39;s question" in page
    )
    assert thread.url in page


def test_admin_manages_boards(client, runner):
    admin = make_user("root_admin", role="admin")
    login(client, admin)
    response = client.post(
        "/admin/boards", data={"name": "Moving home", "slug": "", "description": "Moves", "kind": "questions"}
    )
    assert response.status_code == 302
    board = db.session.scalars(select(Board)).one()
    assert (board.slug, board.position) == ("moving-home", 1)
    response = client.post(
        f"/admin/boards/{board.id}",
        data={
            "name": "Moving house",
            "slug": "moving",
            "description": "Moves and installs",
            "kind": "discussion",
        },
    )
    assert response.status_code == 302
    assert (board.name, board.slug, board.kind) == ("Moving house", "moving", "discussion")
    result = runner.invoke(args=["boards", "create", "Billing", "--description", "Bills"])
    assert result.exit_code == 0 and "/b/billing" in result.output
    billing = db.session.scalars(select(Board).where(Board.slug == "billing")).one()
    assert billing.position == 2
    client.post(f"/admin/boards/{billing.id}/move", data={"direction": "up"})
    assert [b.slug for b in services.list_boards()] == ["billing", "moving"]
    duplicate = client.post(
        "/admin/boards", data={"name": "Billing again", "slug": "billing", "kind": "questions"}
    )
    assert duplicate.status_code == 422 and "exists already" in duplicate.get_data(as_text=True)
    again = runner.invoke(args=["boards", "create", "Billing"])
    assert again.exit_code == 1 and "exists already" in again.output


@pytest.mark.parametrize("who", ["anonymous", "member", "moderator"])
def test_only_admins_manage_boards(client, who):
    board = make_board("Fixed", slug="fixed")
    if who != "anonymous":
        login(client, make_user(role=who if who == "moderator" else "member"))
    expected = 302 if who == "anonymous" else 403
    assert client.get("/admin/boards").status_code == expected
    assert client.post("/admin/boards", data={"name": "Sneaky", "kind": "questions"}).status_code == expected
    assert (
        client.post(
            f"/admin/boards/{board.id}", data={"name": "Renamed", "slug": "fixed", "kind": "questions"}
        ).status_code
        == expected
    )
    assert [b.name for b in services.list_boards()] == ["Fixed"]


def test_posts_rerender_cli(runner, app):
    thread = make_thread(body="**bold**")
    post = db.session.scalars(select(Post)).one()
    post.body_html = "<p>stale</p>"
    db.session.commit()
    result = runner.invoke(args=["posts", "rerender"])
    assert result.exit_code == 0 and "Rendered 1 posts." in result.output
    db.session.refresh(post)
    assert post.body_html == "<p><strong>bold</strong></p>"
    assert thread.id
