"""Watching and notifications: each kind, its suppression cases, the bell and /notifications.

Posts are made through HTTP. Features built on other branches (Q&A votes and solutions,
wiki, moderation, badges) send their signals from forum.events; these tests send the same
signals with real rows, exactly as those services do inside their transactions.
"""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from forum import events
from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.moderation import audit
from forum.notifications.models import Notification, Watch
from tests.factories import login, make_board, make_reply, make_thread, make_user, recount_counters
from tests.factories_notifications import (
    edit_wiki_page,
    make_confirmed_user,
    make_wiki_page,
    notifications_of,
)


def reply(client, thread: Thread, body: str) -> int:
    response = client.post(f"/t/{thread.id}/reply", data={"body": body})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("-", 1)[1])


def start_thread(client, board, title: str, body: str = "Opening text") -> Thread:
    response = client.post(f"/b/{board.slug}/new", data={"title": title, "body": body})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return db.session.get(Thread, int(response.headers["Location"].split("/")[2]))


def bell(client) -> int:
    match = re.search(r'class="bell-count">(\d+)<', client.get("/").get_data(as_text=True))
    assert match
    return int(match.group(1))


@pytest.fixture
def people(make_client):
    """ann asks (logged in on `ann`), bob answers (on `bob`), carol watches from afar.

    Members of some weeks' standing: the new-account limits (moderation) are tested elsewhere.
    """
    weeks_ago = utcnow() - timedelta(days=21)
    ann, bob, carol = (make_user(name, created_at=weeks_ago) for name in ("ann", "bob", "carol"))
    clients = SimpleNamespace(ann=make_client(), bob=make_client(), carol=make_client())
    login(clients.ann, ann)
    login(clients.bob, bob)
    login(clients.carol, carol)
    return SimpleNamespace(ann=ann, bob=bob, carol=carol, c=clients, board=make_board("Broadband"))


def test_starting_and_replying_watch_the_thread_and_watchers_hear_of_new_posts(people):
    thread = start_thread(people.c.ann, people.board, "Router keeps dropping")
    assert notifications_of(people.ann) == []  # not about your own thread
    post_id = reply(people.c.bob, thread, "Try channel 6")
    [note] = notifications_of(people.ann)
    assert (note.kind, note.post_id, note.actor_id) == ("new_post", post_id, people.bob.id)
    assert notifications_of(people.bob) == []  # the author of the event is never told
    assert bell(people.c.ann) == 1 and bell(people.c.bob) == 0
    page = people.c.ann.get("/notifications").get_data(as_text=True)
    assert "bob replied in “Router keeps dropping”" in page and f'href="/p/{post_id}"' in page
    assert "Try channel 6" in page
    # bob watches now, by default: ann's answer reaches him.
    reply(people.c.ann, thread, "That fixed it")
    assert [n.kind for n in notifications_of(people.bob)] == ["new_post"]


def test_the_watch_by_default_preference_can_be_turned_off(people):
    response = people.c.bob.post("/notifications/settings", data={"notify_email": "immediate"})
    assert response.status_code == 302
    assert db.session.get(User, people.bob.id).watch_on_post is False
    thread = start_thread(people.c.ann, people.board, "A question about speed")
    reply(people.c.bob, thread, "A one-off answer")
    reply(people.c.ann, thread, "Thanks!")
    assert notifications_of(people.bob) == []


def test_board_watchers_hear_of_new_threads_and_posts_unless_they_mute_the_thread(people):
    response = people.c.carol.post(f"/watch/board/{people.board.id}", data={"level": "watching"})
    assert response.status_code == 302 and response.headers["Location"] == people.board.url
    thread = start_thread(people.c.ann, people.board, "Fibre install date")
    reply(people.c.bob, thread, "Mine took two weeks")
    assert [n.kind for n in notifications_of(people.carol)] == ["new_thread", "new_post"]
    people.c.carol.post(f"/watch/thread/{thread.id}", data={"level": "muted"})
    reply(people.c.bob, thread, "Ping @carol")  # muted: not even a mention gets through
    assert len(notifications_of(people.carol)) == 2
    other_board = make_board("TV")
    start_thread(people.c.ann, other_board, "Remote control broken")
    assert len(notifications_of(people.carol)) == 2


def test_normal_level_hears_only_mentions_and_quotes(people):
    thread = start_thread(people.c.ann, people.board, "Billing question here")
    people.c.ann.post(f"/watch/thread/{thread.id}", data={"level": "normal"})
    reply(people.c.bob, thread, "A plain reply")
    assert notifications_of(people.ann) == []
    reply(people.c.bob, thread, "@ann did you try this?")
    assert [n.kind for n in notifications_of(people.ann)] == ["mention"]


def test_mentions_link_to_the_profile_and_notify_once(people):
    thread = start_thread(people.c.ann, people.board, "Who knows routers?")
    post_id = reply(people.c.bob, thread, "Hi @Carol and @carol, and @nobody_here, not `@carol` and me @bob")
    [note] = notifications_of(people.carol)
    assert (note.kind, note.post_id) == ("mention", post_id)
    assert notifications_of(people.bob) == []  # mentioning yourself does nothing
    page = people.c.carol.get(thread.url).get_data(as_text=True)
    assert '<a class="mention" href="/u/carol" rel="nofollow ugc noopener">@Carol</a>' in page
    assert "<code>@carol</code>" in page
    # ann (watching) gets one notification for the post, not also a mention.
    reply(people.c.bob, thread, "@ann see above")
    assert [n.kind for n in notifications_of(people.ann)] == ["new_post", "mention"]


def test_an_edit_that_adds_a_mention_notifies_only_the_new_name(people):
    thread = start_thread(people.c.ann, people.board, "Edits and mentions")
    post_id = reply(people.c.bob, thread, "Thanks @ann")
    assert [n.kind for n in notifications_of(people.ann)] == ["mention"]
    response = people.c.bob.post(f"/p/{post_id}/edit", data={"body": "Thanks @ann and @carol"})
    assert response.status_code == 302
    assert [n.kind for n in notifications_of(people.carol)] == ["mention"]
    assert len(notifications_of(people.ann)) == 1


def test_a_reply_quoting_you(people):
    thread = start_thread(people.c.bob, people.board, "Quoting thread")
    reply(people.c.carol, thread, "> @ann wrote:\n> The modem light is red\n\nMine too.")
    [note] = notifications_of(people.ann)
    assert note.kind == "quote"
    assert "carol quoted you in" in people.c.ann.get("/notifications").get_data(as_text=True)


def test_no_notification_about_a_post_the_recipient_cannot_see(people):
    thread = make_thread(people.board, people.ann, title="Hidden thread test")
    thread.hidden_at = utcnow()
    db.session.commit()
    recount_counters()
    moderator = make_user("mia", role="moderator")
    make_reply(thread, moderator, "A moderator note for @carol and @mia")
    assert notifications_of(people.carol) == []


def test_notifications_for_content_hidden_later_do_not_leak_it(people):
    thread = start_thread(people.c.ann, people.board, "Secret title here")
    post_id = reply(people.c.bob, thread, "Private phone number 555-0100 @carol")
    post = db.session.get(Post, post_id)
    post.hidden_at = utcnow()
    db.session.commit()
    recount_counters()
    for client in (people.c.ann, people.c.carol):
        page = client.get("/notifications").get_data(as_text=True)
        assert "555-0100" not in page and f"/p/{post_id}" not in page
        assert "no longer available" in page
    thread.deleted_at = utcnow()
    db.session.commit()
    recount_counters()
    assert "Secret title here" not in people.c.ann.get("/notifications").get_data(as_text=True)


def test_your_reply_chosen_as_the_solution(people):
    thread = make_thread(people.board, people.ann, title="How to reset the box")
    answer = make_reply(thread, people.bob, "Hold the button for 10 s")
    own = make_reply(thread, people.ann, "Or unplug it")
    thread.solution_post_id = answer.id
    events.solution_marked.send(people.ann, thread=thread, post=answer)
    db.session.commit()
    recount_counters()
    [note] = notifications_of(people.bob, "solution")
    assert note.post_id == answer.id
    assert "ann chose your reply as the solution" in people.c.bob.get("/notifications").get_data(as_text=True)
    # The asker choosing their own reply, or unmarking (post None), tells nobody.
    events.solution_marked.send(people.ann, thread=thread, post=own)
    events.solution_marked.send(people.ann, thread=thread, post=None)
    db.session.commit()
    assert notifications_of(people.ann, "solution") == []


def test_helpful_votes_are_batched(people):
    thread = make_thread(people.board, people.ann, title="Helpful votes")
    post = make_reply(thread, people.bob, "A very helpful answer")
    voters = [people.ann, people.carol, make_user("dan")]
    for voter in voters:
        events.post_voted.send(voter, post=post, added=True)
        db.session.commit()
    events.post_voted.send(people.bob, post=post, added=True)  # own vote: nothing
    db.session.commit()
    [note] = notifications_of(people.bob, "helpful")
    assert note.count == 3
    assert bell(people.c.bob) == 1
    assert "3 people found your post in “Helpful votes” helpful" in people.c.bob.get(
        "/notifications"
    ).get_data(as_text=True)
    for voter in voters:
        events.post_voted.send(voter, post=post, added=False)
        db.session.commit()
    assert notifications_of(people.bob, "helpful") == [] and bell(people.c.bob) == 0


def test_an_edit_of_a_watched_wiki_page(people):
    page = make_wiki_page("Router setup guide", people.ann)
    assert people.c.carol.post(f"/watch/wiki/{page.id}", data={"level": "watching"}).status_code == 302
    people.c.bob.post(f"/watch/wiki/{page.id}", data={"level": "muted"})
    edit_wiki_page(page, people.ann, "Step one, then step two.")
    [note] = notifications_of(people.carol, "wiki_edit")
    assert (
        note.wiki_page_id == page.id
        and notifications_of(people.ann) == []
        and notifications_of(people.bob) == []
    )
    assert "ann edited the wiki page “Router setup guide”" in people.c.carol.get("/notifications").get_data(
        as_text=True
    )
    # The editor watches by default; a deleted page tells nobody.
    edit_wiki_page(page, people.carol, "Step one, two and three.")
    assert [n.kind for n in notifications_of(people.ann)] == ["wiki_edit"]
    page.deleted_at = utcnow()
    db.session.commit()
    edit_wiki_page(page, people.bob, "Vandalism")
    assert len(notifications_of(people.carol)) == 1
    assert people.c.carol.post(f"/watch/wiki/{page.id}", data={"level": "watching"}).status_code == 404


def test_a_moderator_action_on_your_content(people):
    moderator = make_user("mod_mia", role="moderator")
    thread = make_thread(people.board, people.ann, title="Moderated thread")
    post = make_reply(thread, people.bob, "Buy cheap watches at spam.example")
    post.hidden_at = utcnow()
    post.hidden_reason = "Advertising"
    audit.record(
        moderator, "hide_post", target_type="post", target_id=post.id, target_label=thread.title,
        reason="Advertising", affected_user=people.bob,
    )  # fmt: skip
    db.session.commit()
    recount_counters()
    [note] = notifications_of(people.bob, "moderation")
    page = people.c.bob.get("/notifications").get_data(as_text=True)
    assert "A moderator acted on your content in “Moderated thread”: hide post. Reason: Advertising" in page
    assert "spam.example" not in page
    # A moderator acting on their own content, or on no one's, is not notified.
    audit.record(moderator, "lock_thread", target_type="thread", target_id=thread.id, affected_user=moderator)
    audit.record(moderator, "create_board", target_type="board", target_id=people.board.id)
    db.session.commit()
    assert notifications_of(moderator) == [] and len(notifications_of(people.bob)) == 1


def test_an_employee_badge_about_to_expire(people):
    expires = utcnow() + timedelta(days=7)
    badge = SimpleNamespace(name="Acme employee")
    for _ in range(2):  # the badge job may run twice: one notification
        events.badge_expiring.send(None, user=people.carol, badge=badge, expires_at=expires)
        db.session.commit()
    [note] = notifications_of(people.carol, "badge_expiring")
    assert f"“Acme employee” expires on {expires:%Y-%m-%d}" in people.c.carol.get("/notifications").get_data(
        as_text=True
    )
    assert note.read_at is None


def test_mark_read_and_mark_all_read(people):
    for number in range(3):
        thread = start_thread(people.c.ann, people.board, f"Many replies here {number}")
        reply(people.c.bob, thread, f"Reply {number}")
    first, second, third = notifications_of(people.ann)
    assert bell(people.c.ann) == 3
    page = people.c.ann.get("/notifications").get_data(as_text=True)
    assert page.index("Reply 2") < page.index("Reply 1") < page.index("Reply 0")  # newest first
    # GET never changes anything.
    assert people.c.ann.get(f"/notifications/{first.id}/read").status_code == 405
    assert people.c.ann.post(f"/notifications/{first.id}/read", csrf=False).status_code == 400
    assert db.session.get(Notification, first.id).read_at is None
    response = people.c.ann.post(f"/notifications/{first.id}/read")
    assert response.status_code == 302 and db.session.get(Notification, first.id).read_at is not None
    assert bell(people.c.ann) == 2
    assert people.c.ann.post("/notifications/read-all").status_code == 302
    assert bell(people.c.ann) == 0
    assert all(n.read_at is not None for n in notifications_of(people.ann))
    assert second.id and third.id


def test_other_members_and_visitors_cannot_see_or_touch_your_notifications(people, make_client):
    thread = start_thread(people.c.ann, people.board, "Private notifications")
    reply(people.c.bob, thread, "Hello")
    [note] = notifications_of(people.ann)
    for other_id in range(note.id - 2, note.id + 3):
        assert people.c.carol.post(f"/notifications/{other_id}/read").status_code == 404
    assert db.session.get(Notification, note.id).read_at is None
    people.c.carol.post("/notifications/read-all")
    assert db.session.get(Notification, note.id).read_at is None
    assert "Private notifications" not in people.c.carol.get("/notifications").get_data(as_text=True)
    visitor = make_client()
    assert visitor.get("/notifications").status_code == 302
    assert visitor.post(f"/notifications/{note.id}/read").status_code == 302
    assert visitor.post(f"/watch/thread/{thread.id}", data={"level": "muted"}).status_code == 302
    assert db.session.get(Notification, note.id).read_at is None
    assert people.c.ann.get("/notifications").headers["Cache-Control"] == "private, no-store"


def test_watch_refuses_bad_levels_and_unknown_or_hidden_targets(people):
    thread = make_thread(people.board, people.ann, title="Watch edge cases")
    before = db.session.scalar(db.select(db.func.count(Watch.id)))
    assert people.c.carol.post(f"/watch/thread/{thread.id}", data={"level": "loud"}).status_code == 400
    assert people.c.carol.post("/watch/thread/999999", data={"level": "muted"}).status_code == 404
    assert people.c.carol.post(f"/watch/planet/{thread.id}", data={"level": "muted"}).status_code == 404
    assert (
        people.c.carol.post(f"/watch/thread/{thread.id}", data={"level": "muted"}, csrf=False).status_code
        == 400
    )
    thread.hidden_at = utcnow()
    db.session.commit()
    recount_counters()
    assert people.c.carol.post(f"/watch/thread/{thread.id}", data={"level": "watching"}).status_code == 404
    assert db.session.scalar(db.select(db.func.count(Watch.id))) == before


def test_thread_and_board_pages_show_the_watch_level(people):
    thread = start_thread(people.c.ann, people.board, "Watch form shows")
    page = people.c.ann.get(thread.url).get_data(as_text=True)
    assert f'action="/watch/thread/{thread.id}"' in page
    assert (
        'value="watching" checked>' in page and "<span>Watching</span>" in page
    )  # the menu's summary names the level
    board_page = people.c.carol.get(people.board.url).get_data(as_text=True)
    assert f'action="/watch/board/{people.board.id}"' in board_page


def test_notification_settings_page(people):
    client = people.c.carol
    assert client.get("/notifications/settings").status_code == 200
    bad = client.post("/notifications/settings", data={"notify_email": "hourly", "watch_on_post": "y"})
    assert bad.status_code == 422 and db.session.get(User, people.carol.id).notify_email == "immediate"
    client.post("/notifications/settings", data={"notify_email": "digest", "watch_on_post": "y"})
    user = db.session.get(User, people.carol.id)
    assert (user.notify_email, user.watch_on_post) == ("digest", True)


def test_pages_keep_their_query_budget_with_the_bell(people, count_queries, make_client):
    thread = make_thread(people.board, people.bob, title="Budget thread", replies=5)
    make_confirmed_user("budget")
    for number in range(3):
        reply(people.c.bob, thread, f"@ann number {number}")
    for url in ("/", people.board.url, thread.url):
        people.c.ann.get(url)  # warm up (session touch)
        with count_queries() as counter:
            response = people.c.ann.get(url)
        assert response.status_code == 200
        assert counter.count <= 8, counter.report()
    assert bell(people.c.ann) == 0  # visiting the thread read its (grouped) mentions


def test_notifications_page_has_a_query_bound(people, count_queries):
    for number in range(40):
        thread = make_thread(people.board, people.ann, title=f"Busy thread {number}")
        make_reply(thread, make_user(f"helper{number}"), f"Answer {number} for @ann")
    assert len(notifications_of(people.ann)) == 40
    people.c.ann.get("/notifications")
    with count_queries() as counter:
        response = people.c.ann.get("/notifications")
    assert (
        response.status_code == 200 and response.get_data(as_text=True).count('<li class="notification') == 30
    )
    assert counter.count <= 4, counter.report()  # issue #15: at most 4, whatever the number
    assert (
        people.c.ann.get("/notifications?page=2").get_data(as_text=True).count('<li class="notification')
        == 10
    )
    assert people.c.ann.get("/notifications?page=9").status_code == 404
    assert people.c.ann.get("/notifications?page=x").status_code == 400


def test_a_moderator_action_on_your_account(people):
    moderator = make_user("mod_max", role="moderator")
    audit.record(moderator, "silence_user", target_type="user", target_id=people.bob.id, reason="Rude",
                 affected_user=people.bob)  # fmt: skip
    db.session.commit()
    page = people.c.bob.get("/notifications").get_data(as_text=True)
    assert "A moderator took an action concerning you: silence user. Reason: Rude" in page


def test_deleting_or_hiding_a_post_takes_its_notifications_off_the_bell(people):
    thread = start_thread(people.c.ann, people.board, "Withdrawn notifications")
    post_id = reply(people.c.bob, thread, "Oops, wrong thread @carol")
    assert bell(people.c.ann) == 1 and bell(people.c.carol) == 1
    assert people.c.bob.post(f"/p/{post_id}/delete").status_code == 302
    assert bell(people.c.ann) == 0 and bell(people.c.carol) == 0
    assert notifications_of(people.ann) == []
    # A moderator hiding a post: readers' notices go, the author's moderation notice stays.
    moderator = make_user("mod_mo", role="moderator")
    post_id = reply(people.c.bob, thread, "Spam for @carol")
    post = db.session.get(Post, post_id)
    post.hidden_at = utcnow()
    audit.record(moderator, "hide_post", target_type="post", target_id=post.id, reason="Spam",
                 affected_user=people.bob)  # fmt: skip
    db.session.commit()
    recount_counters()
    assert bell(people.c.ann) == 0 and bell(people.c.carol) == 0
    assert [n.kind for n in notifications_of(people.bob)] == ["moderation"]


def test_pages_parse_as_html5_without_errors(people):
    import html5lib

    thread = start_thread(people.c.ann, people.board, "Parse me please")
    reply(people.c.bob, thread, "Hello @ann")
    for url in ("/notifications", "/notifications/settings", thread.url, people.board.url, "/"):
        parser = html5lib.HTMLParser()
        parser.parse(people.c.ann.get(url).get_data(as_text=True))
        assert parser.errors == [], url


def test_replying_keeps_a_level_chosen_before(people):
    thread = start_thread(people.c.ann, people.board, "Chosen level stays")
    people.c.carol.post(f"/watch/thread/{thread.id}", data={"level": "muted"})
    reply(people.c.carol, thread, "One remark, then I mute it")
    reply(people.c.bob, thread, "More talk")
    assert notifications_of(people.carol) == []
    level = db.session.scalar(
        db.select(Watch.level).where(Watch.user_id == people.carol.id, Watch.target_id == thread.id)
    )
    assert level == "muted"
