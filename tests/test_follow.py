"""Following a conversation (issue #15): grouped notifications read by visiting, unread counts,
/latest, the accepted answer under the question, quotes, drafts, bookmarks, idea wording,
statement bounds and who may do what."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from forum.db import utcnow
from forum.extensions import db
from forum.follow.models import Bookmark, Draft, ThreadRead
from forum.moderation import services as moderation
from forum.moderation import users as sanctions
from forum.notifications.models import Notification
from tests.factories import login, make_board, make_reply, make_thread, make_user
from tests.factories_qa import make_idea, make_ideas_board, make_question, mark, set_status, vote_idea


def bell(client) -> int:
    page = client.get("/notifications").get_data(as_text=True)
    return int(re.search(r'class="bell-count">(\d+)<', page).group(1))


def page_text(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


@pytest.fixture
def busy(app, client):
    """Ann asks; Tom, Priya and four others answer 28 times; Ann is logged in on `client`."""
    ann = make_user("ann")
    board = make_board("Broadband")
    thread = make_thread(board, ann, title="Router keeps dropping wifi")
    people = [make_user(name) for name in ("priya", "tom", "kim", "lee", "max")]
    replies = [
        make_reply(thread, people[index % 5], f"Reply **number** {index + 1} with `code`")
        for index in range(28)
    ]
    login(client, ann)
    return thread, replies, people, ann, board


# -- grouped notifications ------------------------------------------------------------------------


def test_28_replies_make_one_grouped_notification_read_by_visiting_the_thread(busy, client):
    thread, replies, _, ann, _ = busy
    rows = list(db.session.scalars(select(Notification).where(Notification.user_id == ann.id)))
    assert len(rows) == 1 and rows[0].count == 28
    page = page_text(client, "/notifications")
    assert "28 new replies in “Router keeps dropping wifi” by kim, tom and 3 others" in page
    assert f'href="/p/{replies[0].id}"' in page  # lands on the first unread reply
    assert "Reply number 28 with code" in page and "**" not in page  # plain text from the HTML
    assert bell(client) == 1
    client.get(thread.url)
    assert bell(client) == 0
    assert 'class="notification unread' not in page_text(client, "/notifications")
    # One more reply after the visit starts a new group: a visit reads only what it saw.
    make_reply(thread, make_user("zoe"), "Later")
    assert bell(client) == 1
    assert "zoe replied in “Router keeps dropping wifi”" in page_text(client, "/notifications")


def test_clicking_a_notification_lands_on_the_first_unread_post_and_reads_it(busy, client):
    _, replies, _, _, _ = busy
    response = client.get(f"/p/{replies[0].id}")
    assert response.status_code == 302 and response.location.endswith(f"#post-{replies[0].id}")
    client.get(response.location)
    assert bell(client) == 0


def test_newest_group_first_and_open_marks_read(app, client):
    ann, bob = make_user("ann"), make_user("bob")
    board = make_board("Broadband")
    older = make_thread(board, ann, title="The older thread")
    newer = make_thread(board, ann, title="The newer thread")
    make_reply(older, bob, "first")
    make_reply(newer, bob, "second")
    make_reply(older, bob, "third: the older thread's group moves up")
    login(client, ann)
    page = page_text(client, "/notifications")
    assert page.index("The older thread") < page.index("The newer thread")
    group = db.session.scalar(select(Notification).where(Notification.thread_id == newer.id))
    response = client.post(f"/notifications/{group.id}/open")
    assert response.status_code == 302 and response.location.endswith(f"/p/{group.first_post_id}")
    assert db.session.get(Notification, group.id).read_at is not None
    other = make_client_for(app, bob)
    assert other.post(f"/notifications/{group.id}/open").status_code == 404


def make_client_for(app, user):
    from tests.conftest import ForumClient

    app.test_client_class = ForumClient
    client = app.test_client()
    login(client, user)
    return client


def test_moderator_notices_arrive_in_the_inbox_and_stay_on_their_page(app, client):
    bob = make_user("bob")
    moderator = make_user("mod_max", role="moderator")
    sanctions.warn_user(bob, "Please stay on topic.", actor=moderator)
    db.session.commit()
    login(client, bob)
    inbox = page_text(client, "/notifications")
    assert "A notice from the moderators: A moderator has warned you: Please stay on topic." in inbox
    assert "A moderator took an action" not in inbox  # one item, not two
    assert "Please stay on topic." in page_text(client, "/me/notices")


def test_idea_voters_hear_of_a_status_change_in_plain_words(app, client):
    author, voter = make_user("ann"), make_user("vic")
    moderator = make_user("mod_max", role="moderator")
    idea = make_idea(make_ideas_board(), author, title="Dark mode for the app")
    vote_idea(idea, voter)
    set_status(idea, "planned", moderator, note="Coming in the spring release.")
    login(client, voter)
    page = page_text(client, "/notifications")
    assert "“Dark mode for the app”, an idea you voted for, is planned. Coming in the spring release." in page
    author_client = make_client_for(app, author)
    page = page_text(author_client, "/notifications")
    assert "Good news: your idea “Dark mode for the app” is planned." in page
    assert "A moderator acted on your content" not in page


def test_prune_deletes_old_read_notifications_only(app, busy, client):
    thread, _, _, ann, _ = busy
    other = make_thread(busy[4], ann, title="Another thread of hers")
    make_reply(other, make_user("zed"), "unread and old")
    client.get(thread.url)  # reads the 28-reply group
    old = utcnow() - timedelta(days=200)
    db.session.execute(Notification.__table__.update().values(updated_at=old))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["notifications", "prune"])
    assert result.exit_code == 0 and "read notification(s) older than 90 day(s)." in result.output
    [left] = db.session.scalars(select(Notification).where(Notification.user_id == ann.id)).all()
    assert left.thread_id == other.id  # the unread one stays, however old
    bad = app.test_cli_runner().invoke(args=["notifications", "prune", "--days", "0"])
    assert bad.exit_code != 0


# -- unread tracking --------------------------------------------------------------------------------


def test_unread_counts_the_first_unread_jump_latest_and_mark_all_read(busy, client):
    thread, replies, people, ann, board = busy
    client.get(thread.url)  # ann reads page 1: posts 1-20
    assert db.session.get(ThreadRead, (ann.id, thread.id)).last_read_position == 20
    board_page = page_text(client, board.url)
    assert f'href="{thread.url}?page=2#unread">9 new</a>' in board_page
    latest = page_text(client, "/latest")
    assert "9 new" in latest and "Broadband" in latest
    # Opening the thread without a page starts at the first unread post, below the divider.
    page = page_text(client, thread.url)
    assert "New since your last visit" in page
    assert page.index('id="unread"') < page.index(f'id="post-{replies[19].id}"')  # post #21
    assert f'id="post-{replies[0].id}"' not in page  # page 2
    assert "9 new" not in page_text(client, board.url)
    make_reply(thread, people[0], "One more")
    assert "1 new" in page_text(client, board.url)
    assert client.post(f"{board.url}/read").status_code == 302
    assert "1 new" not in page_text(client, board.url)
    assert "new</a>" not in page_text(client, "/latest")


def test_never_opened_threads_are_new_until_read(app, client):
    reader = make_user("reader")
    board = make_board("Broadband")
    login(client, reader)
    thread = make_thread(board, make_user("asker"), title="A brand new question")
    assert 'tag-new">New<' in page_text(client, board.url)
    client.get(thread.url)
    assert 'tag-new">New<' not in page_text(client, board.url)


# -- the accepted answer under the question -------------------------------------------------------


def test_the_accepted_answer_shows_under_the_question(app, client):
    asker = make_user("asker")
    thread, replies = make_question(asker, answerers=3)
    answer = make_reply(
        thread, make_user("helper"), "Reset the router.\n\nThen wait a minute.\n\nThird paragraph."
    )
    mark(answer, asker)
    page = page_text(client, thread.url)
    block = re.search(r'<aside class="accepted-answer".*?</aside>', page, re.DOTALL).group(0)
    assert "Helper" in block or "helper" in block
    assert "Reset the router." in block and "Then wait a minute." in block and "Third paragraph." not in block
    assert f'href="/p/{answer.id}">Read the whole answer in context' in block
    assert (
        page.index('id="post-')
        < page.index('class="accepted-answer"')
        < page.index(f'id="post-{replies[0].id}"')
    )


# -- quotes, the reply button and the in-page preview ----------------------------------------------


def test_quote_without_javascript_fills_the_reply_box_and_renders_with_author_and_link(busy, client):
    thread, replies, people, ann, _ = busy
    quoted = replies[20]  # post #22, by priya's turn in the rotation
    page = page_text(client, f"{thread.url}?page=2&quote={quoted.id}")
    expected = (
        f"&gt; @{quoted.author.username} [wrote](/p/{quoted.id}):\n&gt; Reply **number** 21 with `code`"
    )
    assert expected in page
    assert '<a class="button thread-reply-jump" href="#reply">Reply</a>' in page
    body = f"> @{quoted.author.username} [wrote](/p/{quoted.id}):\n> Reply number 21\n\nI agree."
    response = client.post(f"/t/{thread.id}/reply", data={"body": body})
    assert response.status_code == 302
    shown = page_text(client, response.location)
    assert f'<a href="/p/{quoted.id}"' in shown or f'href="/p/{quoted.id}"' in shown
    kinds = db.session.scalars(
        select(Notification.kind).where(
            Notification.user_id == quoted.author_id, Notification.thread_id == thread.id
        )
    ).all()
    assert "quote" in kinds


def test_quoting_a_post_you_cannot_see_is_refused_clearly(busy, client):
    thread, replies, _, _, _ = busy
    moderator = make_user("mod_max", role="moderator")
    moderation.hide_post(replies[1], "spam", actor=moderator)
    db.session.commit()
    response = client.get(f"{thread.url}?page=1&quote={replies[1].id}")
    assert response.status_code == 404
    assert "You cannot quote that post" in response.get_data(as_text=True)
    assert client.get(f"{thread.url}?page=1&quote=99999").status_code == 404
    assert client.get(f"{thread.url}?page=1&quote=abc").status_code == 404


def test_preview_renders_inside_the_thread_page(busy, client):
    thread, _, _, _, _ = busy
    response = client.post(f"/t/{thread.id}/reply", data={"body": "**Bold** idea", "preview": "Preview"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "<strong>Bold</strong> idea" in page
    assert 'class="posts"' in page and "**Bold** idea</textarea>" in page


# -- drafts -----------------------------------------------------------------------------------------


def test_reply_drafts_are_kept_offered_and_cleared_on_posting(busy, client):
    thread, _, _, ann, _ = busy
    response = client.post(
        f"/t/{thread.id}/reply", data={"body": "Half a thought", "save_draft": "Save draft"}
    )
    assert response.status_code == 302
    page = page_text(client, f"{thread.url}?page=2")
    assert "Half a thought</textarea>" in page and "Your unsent draft is back" in page
    client.post(f"/t/{thread.id}/reply", data={"body": "Half a thought, finished."})
    assert db.session.scalar(select(Draft).where(Draft.user_id == ann.id)) is None
    assert "Half a thought</textarea>" not in page_text(client, f"{thread.url}?page=2")


def test_autosave_and_new_thread_drafts(busy, client):
    thread, _, _, ann, board = busy
    response = client.post(
        f"/t/{thread.id}/draft", data={"body": "typed"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200 and response.get_json() == {"saved": True}
    client.post(
        f"{board.url}/new", data={"title": "My unfinished question", "body": "So far", "save_draft": "1"}
    )
    page = page_text(client, f"{board.url}/new")
    assert 'value="My unfinished question"' in page and "So far</textarea>" in page
    client.post(f"{board.url}/new", data={"title": "My unfinished question", "body": "So far, done."})
    assert db.session.scalar(select(Draft).where(Draft.board_id == board.id)) is None
    assert db.session.scalar(select(Draft).where(Draft.thread_id == thread.id)) is not None


def test_an_over_long_draft_is_refused_with_a_message(busy, client):
    thread, _, _, _, _ = busy
    response = client.post(f"/t/{thread.id}/draft", data={"body": "x" * 40_000})
    assert response.status_code == 422 and "A draft holds at most 32,000 characters" in response.get_data(
        as_text=True
    )
    response = client.post(f"/t/{thread.id}/reply", data={"body": "x" * 40_000, "save_draft": "1"})
    assert response.status_code == 422


# -- bookmarks --------------------------------------------------------------------------------------


def test_bookmarks_with_notes(busy, client):
    thread, replies, _, ann, _ = busy
    response = client.post(f"/p/{replies[3].id}/bookmark", data={"bookmarked": "1", "note": "the fix"})
    assert response.status_code == 302
    page = page_text(client, "/bookmarks")
    assert (
        "Router keeps dropping wifi" in page
        and 'value="the fix"' in page
        and "Reply number 4 with code" in page
    )
    assert "Bookmarked ✓" in page_text(client, f"{thread.url}?page=1")
    bookmark = db.session.scalar(select(Bookmark))
    client.post(f"/bookmarks/{bookmark.id}/note", data={"note": "the real fix"})
    assert db.session.get(Bookmark, bookmark.id).note == "the real fix"
    too_long = client.post(f"/bookmarks/{bookmark.id}/note", data={"note": "n" * 501})
    assert too_long.status_code == 422 and "Keep the note to 500 characters" in too_long.get_data(
        as_text=True
    )
    client.post(f"/p/{replies[3].id}/bookmark", data={"bookmarked": "0"})
    assert db.session.scalar(select(Bookmark)) is None


def test_bookmarking_a_hidden_post_is_refused_and_hidden_bookmarks_show_no_text(busy, client):
    thread, replies, _, ann, _ = busy
    client.post(f"/p/{replies[5].id}/bookmark", data={"bookmarked": "1"})
    moderator = make_user("mod_max", role="moderator")
    moderation.hide_post(replies[5], "spam", actor=moderator)
    moderation.hide_post(replies[6], "spam", actor=moderator)
    db.session.commit()
    response = client.post(f"/p/{replies[6].id}/bookmark", data={"bookmarked": "1"})
    assert response.status_code == 404 and "You cannot bookmark that post" in response.get_data(as_text=True)
    page = page_text(client, "/bookmarks")
    assert "This post is no longer available." in page and "Reply number 6" not in page


# -- who may do what --------------------------------------------------------------------------------


def test_authorization_matrix(app, busy, client, make_client):
    thread, replies, people, ann, board = busy
    client.post(f"/p/{replies[0].id}/bookmark", data={"bookmarked": "1", "note": "mine"})
    bookmark = db.session.scalar(select(Bookmark))
    visitor = make_client()
    for url, data in (
        (f"/p/{replies[0].id}/bookmark", {"bookmarked": "1"}),
        (f"/t/{thread.id}/draft", {"body": "x"}),
        (f"{board.url}/read", {}),
        (f"/bookmarks/{bookmark.id}/note", {"note": "theirs"}),
    ):
        response = visitor.post(url, data=data)
        assert response.status_code == 302 and "/login" in response.location, url
        assert client.post(url, data=data, csrf=False).status_code == 400, url
    assert visitor.get("/bookmarks").status_code == 302
    assert visitor.get("/latest").status_code == 200
    other = make_client_for(app, people[0])
    assert other.post(f"/bookmarks/{bookmark.id}/note", data={"note": "theirs"}).status_code == 404
    assert "mine" not in page_text(other, "/bookmarks")
    assert db.session.get(Bookmark, bookmark.id).note == "mine"
    silenced = make_user("quiet", silenced_until=utcnow() + timedelta(days=3))
    quiet = make_client_for(app, silenced)
    assert quiet.post(f"/t/{thread.id}/draft", data={"body": "x"}).status_code == 403
    assert quiet.post(f"/p/{replies[0].id}/bookmark", data={"bookmarked": "maybe"}).status_code == 400


# -- statement bounds -------------------------------------------------------------------------------


def test_statement_bounds(app, busy, client, count_queries):
    thread, replies, people, ann, board = busy
    for number in range(40):
        other = make_thread(board, ann, title=f"Side thread {number}")
        make_reply(other, people[number % 5], f"Side reply {number} for @ann")
    mark_thread, answers = make_question(ann, board=make_board("Questions", kind="questions"), answerers=25)
    mark(answers[24], ann)  # the accepted answer is on page 2: it comes with page 1's posts
    client.get("/notifications")
    for url, bound in (
        (thread.url, 4), (f"{thread.url}?page=2", 4), (mark_thread.url, 4), (f"{mark_thread.url}?page=2", 4),
        ("/latest", 5), ("/latest?page=2", 5), (board.url, 5), ("/notifications", 4), ("/notifications?page=2", 4),
    ):  # fmt: skip
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200, url
        assert counter.count <= bound, f"{url}: {counter.count}\n{counter.report()}"
