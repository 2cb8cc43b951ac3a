"""Notification mail over a real SMTP server: batching, digests, unsubscribe, a server that is down."""

from __future__ import annotations

import re
from datetime import timedelta

from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db
from forum.mail.models import OutgoingMail
from forum.mail.services import send_pending
from forum.notifications import delivery
from tests.factories import login, make_board, make_reply, make_thread, make_user, recount_counters
from tests.factories_notifications import age_notifications, make_confirmed_user, notifications_of


def send_batches(runner) -> str:
    result = runner.invoke(args=["notifications", "send-pending"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_busy_thread_sends_one_mail_after_the_batching_delay(client, runner, smtp_server):
    ann = make_confirmed_user("ann")
    thread = make_thread(author=ann, title="Router <script>alert(1)</script> drops")
    for number in range(5):
        make_reply(thread, make_user(), f"Reply number {number}")
    # One grouped notification, not five (issue #15).
    assert [(row.kind, row.count) for row in notifications_of(ann)] == [("new_post", 5)]
    send_batches(runner)
    assert smtp_server.messages == []  # still inside the batching window
    age_notifications(ann, minutes=4)
    assert "Queued 1 notification mail(s)" in send_batches(runner)
    [message] = smtp_server.messages_to("ann@example.org")
    assert message["Subject"].startswith(
        "[Roundabout] 5 new replies in “Router <script>alert(1)</script> drops” by "
    )
    text, html = smtp_server.text_of(message), smtp_server.html_of(message)
    assert "5 new replies" in text and "5 new replies" in html
    assert "Reply number 4" in text and "Reply number 4" in html  # the latest reply's words
    assert "Router <script>alert(1)</script> drops" in text
    assert "<script>" not in html and "Router &lt;script&gt;alert(1)&lt;/script&gt; drops" in html
    links = re.findall(r"https?://[^\s\"<>]+", text + html)
    assert links and all(link.startswith("http://forum.test/") for link in links)
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://forum.test/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in text and unsubscribe in html
    # Nothing is mailed twice; the next post starts a new batch.
    send_batches(runner)
    make_reply(thread, make_user(), "One more")
    age_notifications(ann, minutes=4)
    send_batches(runner)
    assert len(smtp_server.messages_to("ann@example.org")) == 2
    assert "One more" in smtp_server.text_of(smtp_server.messages_to("ann@example.org")[1])


def test_notifications_read_on_the_site_are_not_mailed(client, runner, smtp_server):
    ann = make_confirmed_user("ann")
    thread = make_thread(author=ann, title="Read before mail")
    make_reply(thread, make_user(), "Quick answer")
    login(client, ann)
    client.post("/notifications/read-all")
    age_notifications(ann, minutes=10)
    send_batches(runner)
    assert smtp_server.messages == []


def test_hidden_content_is_not_mailed(client, runner, smtp_server):
    ann = make_confirmed_user("ann")
    thread = make_thread(author=ann, title="Hidden before mail")
    post = make_reply(thread, make_user(), "Spam link spam.example")
    post.hidden_at = utcnow()
    db.session.commit()
    recount_counters()
    age_notifications(ann, minutes=10)
    send_batches(runner)
    assert smtp_server.messages == []


def test_daily_digest(client, runner, smtp_server):
    ann = make_confirmed_user("ann", notify_email="digest")
    thread = make_thread(author=ann, title="Digest thread")
    make_reply(thread, make_user(), "First answer")
    make_reply(thread, make_user(), "Second answer")
    age_notifications(ann, minutes=60)
    send_batches(runner)
    assert smtp_server.messages == []  # digest readers get no immediate mail
    result = runner.invoke(args=["notifications", "send-digests"])
    assert "Queued 1 digest(s)" in result.output
    [digest] = smtp_server.messages_to("ann@example.org")
    # The two replies are one grouped notification (issue #15), with the latest reply's words.
    assert digest["Subject"] == "[Roundabout] Your daily digest: 1 notification"
    assert "2 new replies" in smtp_server.text_of(digest) and "Second answer" in smtp_server.html_of(digest)
    assert digest["List-Unsubscribe"] and digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # A new notification waits for tomorrow's digest...
    make_reply(thread, make_user(), "Third answer")
    runner.invoke(args=["notifications", "send-digests"])
    assert len(smtp_server.messages) == 1
    # ...which comes once a day has passed (shift time: the last digest went out yesterday).
    user = db.session.get(User, ann.id)
    user.last_digest_at -= timedelta(days=1)
    db.session.commit()
    runner.invoke(args=["notifications", "send-digests"])
    assert len(smtp_server.messages) == 2
    assert "Third answer" in smtp_server.text_of(smtp_server.messages[1])
    assert "First answer" not in smtp_server.text_of(smtp_server.messages[1])


def test_never_means_no_mail(client, runner, smtp_server):
    ann = make_confirmed_user("ann", notify_email="never")
    thread = make_thread(author=ann, title="Quiet please")
    make_reply(thread, make_user(), "An answer")
    age_notifications(ann, minutes=60)
    send_batches(runner)
    runner.invoke(args=["notifications", "send-digests"])
    assert smtp_server.messages == [] and len(notifications_of(ann)) == 1


def test_one_click_unsubscribe(client, runner, smtp_server, make_client):
    ann = make_confirmed_user("ann")
    thread = make_thread(author=ann, title="Unsubscribe me")
    make_reply(thread, make_user(), "An answer")
    age_notifications(ann, minutes=5)
    send_batches(runner)
    [message] = smtp_server.messages_to("ann@example.org")
    path = message["List-Unsubscribe"].strip("<>").removeprefix("http://forum.test")
    # The link in the mail opens a page: GET changes nothing.
    page = client.get(path)
    assert page.status_code == 200 and "Stop all notification mail" in page.get_data(as_text=True)
    assert db.session.get(User, ann.id).notify_email == "immediate"
    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click", with no session and no form token.
    response = make_client().post(path, data={"List-Unsubscribe": "One-Click"}, csrf=False)
    assert response.status_code == 200 and "gets no more notification mail" in response.get_data(as_text=True)
    assert db.session.get(User, ann.id).notify_email == "never"
    make_reply(thread, make_user(), "Another answer")
    age_notifications(ann, minutes=5)
    send_batches(runner)
    assert len(smtp_server.messages_to("ann@example.org")) == 1
    # Forged or altered tokens do nothing.
    bob = make_confirmed_user("bob")
    token = path.rsplit("/", 1)[1]
    for bad in (token[:-2] + "xx", "garbage", token.replace(token[1], "Z", 1)):
        assert client.post(f"/notifications/unsubscribe/{bad}", csrf=False).status_code == 400
    assert db.session.get(User, bob.id).notify_email == "immediate"


def test_a_reply_succeeds_and_its_mail_waits_while_the_smtp_server_is_down(app, client, runner, smtp_server):
    ann = make_confirmed_user("ann")
    thread = make_thread(author=ann, title="Outage thread")
    app.config["MAIL_PORT"] = 1  # nothing listens there: the mail server is down
    login(client, make_user("bob"))
    response = client.post(f"/t/{thread.id}/reply", data={"body": "Posting during the outage"})
    response.close()
    assert response.status_code == 302
    age_notifications(ann, minutes=5)
    send_batches(runner)
    mail = db.session.scalars(
        db.select(OutgoingMail).where(OutgoingMail.recipient == "ann@example.org")
    ).one()
    assert mail.sent_at is None and mail.attempts >= 1 and mail.last_error
    assert delivery.send_immediate_batches() == 0  # not queued twice
    # The server is back; the retry is due later (shift time) and nothing was lost.
    app.config["MAIL_PORT"] = smtp_server.port
    mail.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert send_pending() == (1, 0)
    [message] = smtp_server.messages_to("ann@example.org")
    assert "Posting during the outage" in smtp_server.text_of(message)


def test_the_drain_runs_after_a_post_request(app, client, smtp_server):
    """Without cron, the app sends due batches after a later POST (at most once a minute)."""
    ann = make_confirmed_user("ann")
    thread = make_thread(author=ann, title="Drained by a request")
    make_reply(thread, make_user(), "Waiting answer")
    age_notifications(ann, minutes=5)
    login(client, make_user("bob"))
    response = client.post(f"/watch/thread/{thread.id}", data={"level": "watching"})
    response.close()
    assert [m["To"] for m in smtp_server.messages] == ["ann@example.org"]


def test_board_watch_mail_with_make_board(client, runner, smtp_server):
    carol = make_confirmed_user("carol")
    board = make_board("Phones")
    login(client, carol)
    client.post(f"/watch/board/{board.id}", data={"level": "watching"})
    make_thread(board, make_user(), title="New phone thread")
    age_notifications(carol, minutes=5)
    send_batches(runner)
    [message] = smtp_server.messages_to("carol@example.org")
    assert "started “New phone thread” in Phones" in message["Subject"]


def test_a_display_name_with_a_line_break_cannot_add_mail_headers(client, runner, smtp_server):
    ann = make_confirmed_user("ann")
    thread = make_thread(author=ann, title="Header injection")
    make_reply(thread, make_user("eve", display_name="Eve\r\nBcc: victim@example.org"), "Hello")
    age_notifications(ann, minutes=5)
    send_batches(runner)
    [message] = smtp_server.messages
    assert message["Bcc"] is None and "victim" not in str(message["To"])
    assert message["Subject"] == "[Roundabout] Eve Bcc: victim@example.org replied in “Header injection”"
