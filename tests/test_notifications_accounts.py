"""Email confirmation and password reset, through HTTP and a real SMTP server."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from forum.auth.models import LoginSession, User
from forum.extensions import db
from forum.notifications.models import PasswordResetToken
from tests.factories import PASSWORD, login, make_thread, make_user
from tests.factories_notifications import make_confirmed_user, notifications_of

NEW_PASSWORD = "a brand new passphrase for testing"


def link_in(text: str, path: str) -> str:
    match = re.search(r"(https?://\S+" + re.escape(path) + r"\S+)", text)
    assert match, text
    return match.group(1)


def register(client, name: str = "newbie"):
    response = client.post(
        "/register", data={"username": name, "email": f"{name}@example.org", "password": PASSWORD}
    )
    response.close()  # the app sends queued mail once the response is closed (after it went out)
    return response


def test_registration_sends_a_confirmation_link_that_confirms_the_address(client, smtp_server):
    assert register(client).status_code == 302
    [message] = smtp_server.messages_to("newbie@example.org")
    text, html = smtp_server.text_of(message), smtp_server.html_of(message)
    url = link_in(text, "/confirm-email/")
    assert url.startswith("http://forum.test/confirm-email/")
    assert url in html
    assert message["List-Unsubscribe"].startswith("<http://forum.test/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    user = db.session.scalar(db.select(User).where(User.username == "newbie"))
    assert user.email_confirmed_at is None

    # Reminded on every page until confirmed.
    assert "Please confirm your email address" in client.get("/").get_data(as_text=True)
    path = url.removeprefix("http://forum.test")
    page = client.get(path)  # GET only shows a button: mail scanners follow links
    assert page.status_code == 200 and "Confirm my address" in page.get_data(as_text=True)
    assert db.session.get(User, user.id).email_confirmed_at is None
    response = client.post(path)
    assert response.status_code == 302
    assert db.session.get(User, user.id).email_confirmed_at is not None
    assert "Please confirm your email address" not in client.get("/").get_data(as_text=True)


def test_confirmation_links_that_are_forged_expired_or_stale_are_refused(app, client):
    user = make_user("dora")
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="confirm-email")

    class SignedLongAgo(TimestampSigner):
        def get_timestamp(self) -> int:  # shift time: the link was mailed a minute too long ago
            return int(time.time()) - app.config["CONFIRM_EMAIL_MAX_AGE"] - 60

    expired = URLSafeTimedSerializer(
        app.config["SECRET_KEY"], salt="confirm-email", signer=SignedLongAgo
    ).dumps({"u": user.id, "e": user.email})
    forged = URLSafeTimedSerializer("another-secret-key", salt="confirm-email").dumps(
        {"u": user.id, "e": user.email}
    )
    stale = serializer.dumps({"u": user.id, "e": "old-address@example.org"})
    for token in (expired, forged, stale, "garbage"):
        assert client.get(f"/confirm-email/{token}").status_code == 400
        response = client.post(f"/confirm-email/{token}")
        assert response.status_code == 400
        assert "invalid or has expired" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).email_confirmed_at is None
    good = serializer.dumps({"u": user.id, "e": user.email})
    assert client.post(f"/confirm-email/{good}", csrf=False).status_code == 400  # CSRF still applies
    assert db.session.get(User, user.id).email_confirmed_at is None


def test_unconfirmed_members_get_notifications_but_no_mail(client, smtp_server, runner):
    unconfirmed = make_user("uma")
    thread = make_thread(author=unconfirmed, title="Unconfirmed asks")
    login(client, make_confirmed_user("replier"))
    client.post(f"/t/{thread.id}/reply", data={"body": "An answer for you"})
    assert len(notifications_of(unconfirmed)) == 1
    [notification] = notifications_of(unconfirmed)
    notification.created_at -= timedelta(hours=1)
    db.session.commit()
    runner.invoke(args=["notifications", "send-pending"])
    assert smtp_server.messages_to("uma@example.org") == []


def test_resend_confirmation(client, smtp_server):
    user = make_user("resender")
    login(client, user)
    assert client.get("/confirm-email/resend").status_code == 400  # GET never sends (it is not a link)
    response = client.post("/confirm-email/resend")
    response.close()
    assert response.status_code == 302
    assert len(smtp_server.messages_to("resender@example.org")) == 1
    assert client.post("/confirm-email/resend", csrf=False).status_code == 400
    assert len(smtp_server.messages_to("resender@example.org")) == 1


def test_login_page_links_to_password_reset(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/reset-password"' in page and "Forgot your password?" in page


def request_reset(client, address: str, **kwargs):
    response = client.post("/reset-password", data={"email": address}, **kwargs)
    response.close()
    return response


def test_reset_answers_the_same_for_every_address_and_mails_only_real_accounts(
    client, smtp_server, make_client
):
    make_user("rita", email="rita@example.org")
    known = request_reset(client, "rita@example.org")
    other = make_client()
    unknown = request_reset(other, "nobody@example.org")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert client.get(known.headers["Location"]).get_data(as_text=True).count("If an account exists") == 1
    assert other.get(unknown.headers["Location"]).get_data(as_text=True).count("If an account exists") == 1
    assert [m["To"] for m in smtp_server.messages] == ["rita@example.org"]


def test_reset_link_uses_the_base_url_even_with_a_hostile_host_header(app, client, smtp_server):
    make_user("hana", email="hana@example.org")
    # The test client keeps cookies per host, so a request for evil.example carries no
    # session; CSRF is beside the point here (an attacker has a session of their own).
    app.config["WTF_CSRF_ENABLED"] = False
    request_reset(client, "hana@example.org", headers={"Host": "evil.example"})
    [message] = smtp_server.messages_to("hana@example.org")
    text, html = smtp_server.text_of(message), smtp_server.html_of(message)
    assert "evil.example" not in text and "evil.example" not in html
    url = link_in(text, "/reset-password/")
    assert url.startswith("http://forum.test/reset-password/")
    # The mail holds one secret: the link it exists for (no password, no other token).
    assert PASSWORD not in text and PASSWORD not in html


def test_reset_token_is_random_stored_hashed_single_use_and_ends_sessions(client, smtp_server, make_client):
    user = make_user("ivan", email="ivan@example.org")
    other_browser = make_client()
    login(other_browser, user)
    assert other_browser.get("/settings").status_code == 200
    request_reset(client, "ivan@example.org")
    url = link_in(smtp_server.text_of(smtp_server.messages_to("ivan@example.org")[0]), "/reset-password/")
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 bytes from secrets, base64: 256 bits
    row = db.session.scalars(db.select(PasswordResetToken)).one()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert row.expires_at - row.created_at == timedelta(hours=1)

    path = f"/reset-password/{token}"
    assert client.get(path).status_code == 200
    weak = client.post(path, data={"password": "short"})
    assert weak.status_code == 422 and db.session.scalars(db.select(PasswordResetToken)).one().used_at is None
    response = client.post(path, data={"password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    # Every session of the account is gone; the other browser is anonymous now.
    assert db.session.scalar(db.select(db.func.count()).select_from(LoginSession)) == 0
    assert other_browser.get("/settings").status_code == 302
    login(make_client(), "ivan", password=NEW_PASSWORD)
    assert db.session.get(User, user.id).email_confirmed_at is not None
    # A second use fails, and changes nothing.
    again = client.post(path, data={"password": "yet another passphrase here"})
    assert again.status_code == 400 and "invalid, was used already" in again.get_data(as_text=True)
    assert client.get(path).status_code == 400
    login(make_client(), "ivan", password=NEW_PASSWORD)


def test_reset_link_expires_after_an_hour(client, smtp_server):
    make_user("jack", email="jack@example.org")
    request_reset(client, "jack@example.org")
    url = link_in(smtp_server.text_of(smtp_server.messages_to("jack@example.org")[0]), "/reset-password/")
    row = db.session.scalars(db.select(PasswordResetToken)).one()
    # Shift time: the link was mailed 61 minutes ago.
    row.created_at -= timedelta(minutes=61)
    row.expires_at -= timedelta(minutes=61)
    db.session.commit()
    path = url.removeprefix("http://forum.test")
    assert client.get(path).status_code == 400
    assert client.post(path, data={"password": NEW_PASSWORD}).status_code == 400
    login(client, "jack")  # the old password still works


@pytest.mark.parametrize("token", ["x" * 43, "x" * 500, "%00"])
def test_unknown_reset_tokens_are_refused(client, token):
    assert client.get(f"/reset-password/{token}").status_code in (400, 404)
    assert client.post(f"/reset-password/{token}", data={"password": NEW_PASSWORD}).status_code in (400, 404)


def test_reset_request_without_csrf_is_refused_and_sends_nothing(client, smtp_server):
    make_user("kim", email="kim@example.org")
    assert request_reset(client, "kim@example.org", csrf=False).status_code == 400
    assert (
        smtp_server.messages == [] and db.session.scalar(db.select(db.func.count(PasswordResetToken.id))) == 0
    )


def test_reset_mail_is_capped_per_account_but_the_answer_stays_the_same(client, smtp_server):
    make_user("mona", email="mona@example.org")
    responses = [request_reset(client, "mona@example.org") for _ in range(5)]
    assert {r.status_code for r in responses} == {302}
    assert len(smtp_server.messages_to("mona@example.org")) == 3


def test_resend_returns_to_the_local_page_only(client):
    login(client, make_user("rolf"))
    back = client.post("/confirm-email/resend", headers={"Referer": "http://localhost/b/some-board?page=2"})
    assert back.headers["Location"] == "/b/some-board?page=2"
    for referer in ("https://evil.example/phish", "http://localhost//evil.example", "javascript:alert(1)"):
        response = client.post("/confirm-email/resend", headers={"Referer": referer})
        assert response.headers["Location"] == "/"


@pytest.fixture
def rate_limited(app_config):
    app_config["RATELIMIT_ENABLED"] = True


def test_reset_requests_are_rate_limited_per_ip(rate_limited, client, smtp_server):
    statuses = [request_reset(client, f"someone{number}@example.org").status_code for number in range(6)]
    assert statuses == [302] * 5 + [429]
    assert client.get("/reset-password").status_code == 200  # reading the form is not limited
