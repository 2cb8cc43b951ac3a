"""Employee badges: verification over real SMTP, posting with the badge, expiry, moderators."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from forum import events
from forum.auth.models import User
from forum.badges import verification
from forum.badges.models import BadgeVerification, EmployeeBadge
from forum.badges.permissions import active_badge, is_employee
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.mail.models import OutgoingMail
from forum.mail.services import send_pending
from forum.moderation import audit
from forum.moderation.models import AuditEntry
from tests.factories import PASSWORD, login, make_board, make_reply, make_thread, make_user, recount_counters
from tests.factories_badges import BADGE_CONFIG, COMPANY, link_path_in, make_badge, make_employee


@pytest.fixture(autouse=True)
def badge_config(app_config):
    app_config.update(BADGE_CONFIG)


def request_link(client, smtp_server, address: str = "Jo.Smith+forum@Example-Telecom.com") -> str:
    """Ask for a link from settings and read it from the mail the SMTP server received."""
    response = client.post("/settings/employee", data={"work_email": address})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    send_pending()
    normalized, _ = verification.normalize_work_address(address)
    messages = smtp_server.messages_to(normalized)
    assert messages, [str(m["To"]) for m in smtp_server.messages]
    return link_path_in(smtp_server.text_of(messages[-1]))


def badge_count() -> int:
    return db.session.scalar(select(func.count()).select_from(EmployeeBadge)) or 0


# -- the verification flow ---------------------------------------------------------------------


def test_verifying_a_work_address_grants_the_badge(client, smtp_server):
    member = make_user("jo_smith")
    login(client, member)
    page = client.get("/settings/employee").get_data(as_text=True)
    assert "@example-telecom.com" in page and "Send me a link" in page
    path = request_link(client, smtp_server)
    [message] = smtp_server.messages
    assert str(message["To"]) == "jo.smith@example-telecom.com"  # "+forum" dropped: same mailbox
    assert "jo_smith" not in smtp_server.text_of(message)  # the company mailbox does not learn the account
    assert not is_employee(member)

    # Opening the link changes nothing by itself (mail scanners follow links); one click confirms.
    confirm = client.get(path)
    assert confirm.status_code == 200 and "Add the badge to my account" in confirm.get_data(as_text=True)
    assert badge_count() == 0
    response = client.post(path)
    assert response.status_code == 302 and response.headers["Location"] == "/settings/employee"

    badge = active_badge(member)
    assert badge is not None and badge.method == "email" and badge.company == COMPANY
    assert badge.domain == "example-telecom.com"
    assert badge.address_hash == verification.hash_address("jo.smith@example-telecom.com")
    assert timedelta(days=364) < badge.expires_at - utcnow() <= timedelta(days=365)
    assert "Employee · Example Telecom" in client.get("/u/jo_smith").get_data(as_text=True)
    # The address is nowhere in the database: not in badges, links, or the sent outbox row.
    for table in ("employee_badges", "badge_verifications", "outgoing_mail"):
        rows = db.session.execute(text(f"SELECT * FROM {table}")).all()
        assert "jo.smith" not in repr(rows).lower(), table
    assert db.session.scalar(select(OutgoingMail.recipient)) == verification.FORGOTTEN_RECIPIENT


def test_a_used_link_does_not_work_twice(client, smtp_server):
    login(client, make_user())
    path = request_link(client, smtp_server)
    assert client.post(path).status_code == 302
    again = client.post(path)
    assert again.status_code == 400 and "used already" in again.get_data(as_text=True)
    assert client.get(path).status_code == 400
    assert badge_count() == 1


def test_an_expired_link_is_refused(client, smtp_server):
    member = make_user()
    login(client, member)
    path = request_link(client, smtp_server)
    # Shift time: the link was sent 24 hours and a minute ago.
    past = utcnow() - timedelta(hours=24, minutes=1)
    db.session.execute(
        db.update(BadgeVerification).values(created_at=past, expires_at=past + verification.LINK_LIFETIME)
    )
    db.session.commit()
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert badge_count() == 0 and not is_employee(member)


def test_an_unknown_link_is_refused(client):
    login(client, make_user())
    assert client.get("/settings/employee/verify/not-a-real-token").status_code == 400
    assert client.post("/settings/employee/verify/not-a-real-token").status_code == 400
    assert badge_count() == 0


@pytest.mark.parametrize(
    "address",
    [
        "me@gmail.com",
        "me@evil-example-telecom.com",
        "me@example-telecom.com.evil.org",
        "me@eu.example-telecom.com",  # subdomains are off by default
        "not an address",
        "",
    ],
)
def test_addresses_outside_the_company_domains_are_refused(client, smtp_server, address):
    login(client, make_user())
    response = client.post("/settings/employee", data={"work_email": address})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "field-error" in page and (address in page or not address)  # the typed text is kept
    send_pending()
    assert smtp_server.messages == []
    assert db.session.scalar(select(func.count()).select_from(BadgeVerification)) == 0


def test_subdomains_count_when_allowed(app, client, smtp_server):
    app.config["EMPLOYEE_ALLOW_SUBDOMAINS"] = "true"
    member = make_user()
    login(client, member)
    path = request_link(client, smtp_server, "me@eu.example-telecom.com")
    assert client.post(path).status_code == 302
    assert active_badge(member).domain == "eu.example-telecom.com"


def test_another_members_link_does_nothing_for_them(client, make_client, smtp_server):
    owner, other = make_user(), make_user()
    login(client, owner)
    path = request_link(client, smtp_server)
    intruder = make_client()
    login(intruder, other)
    for response in (intruder.get(path), intruder.post(path)):
        assert response.status_code == 403 and "another account" in response.get_data(as_text=True)
    assert badge_count() == 0
    # The owner's link still works afterwards.
    assert client.post(path).status_code == 302
    assert is_employee(owner) and not is_employee(other)


def test_a_logged_out_click_asks_to_log_in_then_works(client, make_client, smtp_server):
    member = make_user()
    login(client, member)
    path = request_link(client, smtp_server)
    browser = make_client()  # e.g. the phone where the mail was opened
    response = browser.get(path)
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
    assert browser.post(path).status_code == 302 and badge_count() == 0
    response = browser.post(f"/login?next={path}", data={"login": member.username, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == path
    assert browser.get(path).status_code == 200
    assert browser.post(path).status_code == 302
    assert is_employee(member)


def test_one_work_address_badges_one_account(client, make_client, smtp_server):
    first, second = make_user(), make_user()
    login(client, first)
    assert client.post(request_link(client, smtp_server, "jo@example-telecom.com")).status_code == 302
    other = make_client()
    login(other, second)
    # Case and "+tag" variants are the same mailbox; the request itself reveals nothing.
    path = request_link(other, smtp_server, "JO+second@example-telecom.com")
    response = other.post(path)
    assert response.status_code == 409 and "already verified another account" in response.get_data(
        as_text=True
    )
    assert not is_employee(second) and badge_count() == 1


def test_links_are_limited_per_hour(client, smtp_server):
    login(client, make_user())
    for _ in range(verification.MAX_LINKS_PER_HOUR):
        request_link(client, smtp_server)
    response = client.post("/settings/employee", data={"work_email": "jo@example-telecom.com"})
    assert response.status_code == 429 and "last hour" in response.get_data(as_text=True)


def test_without_a_mail_server_the_link_is_logged_and_written_to_the_instance_folder(app, client, caplog):
    from pathlib import Path

    app.config["MAIL_SERVER"] = ""
    member = make_user()
    login(client, member)
    with caplog.at_level("WARNING"):
        assert (
            client.post("/settings/employee", data={"work_email": "jo@example-telecom.com"}).status_code
            == 302
        )
        send_pending()
    path = link_path_in(caplog.text)
    assert list((Path(app.instance_path) / "mail").glob("*.eml"))
    assert client.post(path).status_code == 302 and is_employee(member)


def test_verification_needs_configured_domains(app, client):
    app.config["EMPLOYEE_EMAIL_DOMAINS"] = ""
    login(client, make_user())
    assert "not set up" in client.get("/settings/employee").get_data(as_text=True)
    response = client.post("/settings/employee", data={"work_email": "jo@example-telecom.com"})
    assert response.status_code == 422 and db.session.scalar(select(func.count(BadgeVerification.id))) == 0


def test_the_badge_pages_need_a_login_and_a_csrf_token(client):
    assert client.get("/settings/employee").status_code == 302
    member = make_user()
    login(client, member)
    response = client.post("/settings/employee", data={"work_email": "jo@example-telecom.com"}, csrf=False)
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(BadgeVerification.id))) == 0


def test_the_address_hash_is_keyed(app):
    plain = verification.hash_address("jo@example-telecom.com")
    assert len(plain) == 64 and "jo" not in plain
    app.config["BADGE_HASH_KEY"] = "a-dedicated-key-that-survives-secret-rotation"
    assert verification.hash_address("jo@example-telecom.com") not in (plain, "")


# -- posting with the badge --------------------------------------------------------------------


def test_an_employee_chooses_per_post_whether_to_show_the_badge(client):
    employee = make_employee("jo_staff")
    board = make_board("Broadband")
    thread = make_thread(board, make_user(), title="Router drops every evening")
    login(client, employee)
    page = client.get(thread.url).get_data(as_text=True)
    assert "Post with my employee badge" in page and 'checked id="with_badge" name="with_badge"' in page

    client.post(f"/t/{thread.id}/reply", data={"body": "Without the badge."})  # box unticked
    assert not db.session.get(Thread, thread.id).has_employee_reply
    client.post(f"/t/{thread.id}/reply", data={"body": "Try channel 6.", "with_badge": "y"})
    posts = db.session.scalars(select(Post).where(Post.thread_id == thread.id).order_by(Post.position)).all()
    assert [post.badge_id is not None for post in posts] == [False, False, True]
    assert db.session.get(Thread, thread.id).has_employee_reply

    page = client.get(thread.url).get_data(as_text=True)
    assert page.count('<span class="tag tag-employee">Employee · Example Telecom</span>') == 1
    assert "not official support" in page and '<details class="employee-badge">' in page
    assert "An employee replied" in client.get(board.url).get_data(as_text=True)  # the row's mark


def test_an_employee_can_start_a_thread_with_the_badge(client):
    employee = make_employee()
    board = make_board()
    login(client, employee)
    assert "Post with my employee badge" in client.get(f"/b/{board.slug}/new").get_data(as_text=True)
    response = client.post(
        f"/b/{board.slug}/new",
        data={"title": "Planned outage tonight", "body": "Heads up.", "with_badge": "y"},
    )
    assert response.status_code == 302
    thread = db.session.scalars(select(Thread)).one()
    post = db.session.scalars(select(Post)).one()
    assert post.badge_id == active_badge(employee).id
    assert not thread.has_employee_reply  # an employee's own thread is not an employee reply


def test_members_without_a_badge_see_no_choice_and_get_no_badge(client):
    member = make_user()
    thread = make_thread()
    login(client, member)
    assert "Post with my employee badge" not in client.get(thread.url).get_data(as_text=True)
    client.post(f"/t/{thread.id}/reply", data={"body": "Me too.", "with_badge": "y"})
    assert db.session.scalar(select(func.count(Post.id)).where(Post.badge_id.is_not(None))) == 0
    assert not db.session.get(Thread, thread.id).has_employee_reply


def test_posts_keep_the_badge_after_it_expires(client):
    employee = make_employee()
    thread = make_thread()
    login(client, employee)
    client.post(f"/t/{thread.id}/reply", data={"body": "Fixed upstream.", "with_badge": "y"})
    # Shift time: the badge ran out yesterday.
    db.session.execute(db.update(EmployeeBadge).values(expires_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    assert not is_employee(employee)
    page = client.get(thread.url).get_data(as_text=True)
    assert "Employee · Example Telecom" in page and "Written by a verified employee" in page
    assert "Post with my employee badge" not in page
    client.post(f"/t/{thread.id}/reply", data={"body": "Now as a customer.", "with_badge": "y"})
    latest = db.session.scalars(select(Post).order_by(Post.id.desc())).first()
    assert latest.badge_id is None
    assert "Employee · " not in client.get(employee.url).get_data(as_text=True)
    settings = client.get("/settings/employee").get_data(as_text=True)
    assert "Your badge expired on" in settings


def test_the_employee_reply_mark_follows_deletes_and_hiding(client):
    employee = make_employee()
    moderator = make_user(role="moderator")
    thread = make_thread()
    first = make_reply_with_badge(thread, employee, "First.")
    second = make_reply_with_badge(thread, employee, "Second.")
    assert db.session.get(Thread, thread.id).has_employee_reply
    login(client, employee)
    client.post(f"/p/{first.id}/delete")
    assert db.session.get(Thread, thread.id).has_employee_reply  # the second is still there
    # A moderator hides the other one (as the moderation feature does: set hidden_at, log it).
    post = db.session.get(Post, second.id)
    post.hidden_at = utcnow()
    audit.record(moderator, "hid post", target_type="post", target_id=post.id, reason="test")
    db.session.commit()
    recount_counters()
    assert not db.session.get(Thread, thread.id).has_employee_reply


def make_reply_with_badge(thread, user, body):
    from forum.boards import services as boards

    post = boards.reply(thread, body, actor=user, badge=active_badge(user))
    db.session.commit()
    return post


def test_reply_service_refuses_another_members_badge(app):
    from forum.boards import services as boards
    from forum.errors import Forbidden

    employee, member = make_employee(), make_user()
    thread = make_thread()
    with pytest.raises(Forbidden):
        boards.reply(thread, "Borrowed badge.", actor=member, badge=active_badge(employee))
    db.session.rollback()
    assert db.session.scalar(select(func.count(Post.id)).where(Post.badge_id.is_not(None))) == 0


def test_thread_page_queries_stay_bounded_with_badges(client, count_queries):
    thread = make_thread()
    employees = [make_employee() for _ in range(3)]
    for index in range(12):
        make_reply_with_badge(thread, employees[index % 3], f"Reply {index}")
    make_reply(thread, make_user())
    client.get(thread.url)
    with count_queries() as counter:
        assert client.get(thread.url).status_code == 200
    few = counter.count
    for index in range(6):
        make_reply_with_badge(thread, employees[index % 3], f"More {index}")
    with count_queries() as counter:
        client.get(thread.url)
    assert counter.count == few <= 8, counter.report()


# -- expiry notices ------------------------------------------------------------------------------


def test_members_are_told_before_their_badge_expires(app, client, runner, smtp_server):
    employee = make_employee(email="jo@example.org")
    badge = active_badge(employee)
    badge.expires_at = utcnow() + timedelta(days=10)
    renewed = make_employee()
    old = make_badge(renewed)
    old.expires_at = utcnow() + timedelta(days=5)  # expiring, but a newer badge lasts a year
    db.session.commit()
    told = []

    def receiver(sender, **kwargs):
        told.append((kwargs["user"].username, kwargs["badge"].id))

    with events.badge_expiring.connected_to(receiver):
        result = runner.invoke(args=["badges", "notify-expiring"])
    assert result.exit_code == 0 and "Told 1 member(s)" in result.output
    assert told == [(employee.username, badge.id)]
    send_pending()
    [message] = smtp_server.messages_to("jo@example.org")
    assert "expires on" in message["Subject"] and "/settings/employee" in smtp_server.text_of(message)
    # Once per badge.
    assert "Told 0 member(s)" in runner.invoke(args=["badges", "notify-expiring"]).output

    login(client, employee)
    for url in ("/settings", "/settings/employee"):
        assert "expires on" in client.get(url).get_data(as_text=True)


def test_reverifying_renews_the_badge(client, smtp_server):
    member = make_user()
    login(client, member)
    assert client.post(request_link(client, smtp_server)).status_code == 302
    first = active_badge(member)
    first.expires_at = utcnow() + timedelta(days=3)
    db.session.commit()
    assert client.post(request_link(client, smtp_server)).status_code == 302
    assert active_badge(member).id != first.id
    assert active_badge(member).expires_at - utcnow() > timedelta(days=364)


def test_a_member_can_remove_their_own_badge(client):
    employee = make_employee()
    thread = make_thread()
    post = make_reply_with_badge(thread, employee, "Before leaving.")
    login(client, employee)
    assert client.post("/settings/employee/remove", data={"reason": ""}).status_code == 302
    assert not is_employee(employee)
    assert db.session.get(Post, post.id).badge_id is not None
    assert client.post("/settings/employee/remove").status_code == 409


# -- moderators ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "member", "subject", "moderator"])
def test_only_moderators_open_the_badge_page(client, who):
    subject = make_user("subject_user")
    if who == "member":
        login(client, make_user())
    elif who == "subject":
        login(client, subject)
    elif who == "moderator":
        login(client, make_user(role="moderator"))
    response = client.get("/u/subject_user/badge")
    expected = {"anonymous": 302, "member": 403, "subject": 403, "moderator": 200}[who]
    assert response.status_code == expected
    profile = client.get("/u/subject_user").get_data(as_text=True)
    assert ("Employee badge: grant or revoke" in profile) == (who == "moderator")


@pytest.mark.parametrize("who", ["anonymous", "member", "subject"])
def test_only_moderators_grant_and_revoke(client, who):
    subject = make_user("subject_user")
    employee = make_employee("staff_user")
    if who != "anonymous":
        login(client, subject if who == "subject" else make_user())
    for username, action in (("subject_user", "grant"), ("staff_user", "revoke")):
        response = client.post(f"/u/{username}/badge/{action}", data={f"{action}-reason": "Because."})
        assert response.status_code == (302 if who == "anonymous" else 403)
    assert not is_employee(subject) and is_employee(employee)
    assert db.session.scalar(select(func.count(AuditEntry.id))) == 1  # only the factory's grant


def test_a_moderator_grants_with_a_reason_and_it_is_logged(client):
    subject = make_user("subject_user")
    moderator = make_user(role="moderator")
    login(client, moderator)
    response = client.post("/u/subject_user/badge/grant", data={"grant-reason": "  "})
    assert response.status_code == 422 and "Give a reason" in response.get_data(as_text=True)
    assert not is_employee(subject)
    response = client.post(
        "/u/subject_user/badge/grant", data={"grant-reason": "Field engineer, no company mail."}
    )
    assert response.status_code == 302
    badge = active_badge(subject)
    assert badge.method == "moderator" and badge.granted_by_id == moderator.id and badge.domain is None
    entry = db.session.scalars(select(AuditEntry)).one()
    assert (entry.actor_id, entry.action, entry.affected_user_id) == (
        moderator.id,
        "granted employee badge",
        subject.id,
    )
    assert entry.reason == "Field engineer, no company mail."
    assert "Employee · Example Telecom" in client.get("/u/subject_user").get_data(as_text=True)


def test_a_moderator_cannot_grant_themselves_a_badge(client):
    moderator = make_user("mod_user", role="moderator")
    login(client, moderator)
    response = client.post("/u/mod_user/badge/grant", data={"grant-reason": "I work there."})
    assert response.status_code == 403 and not is_employee(moderator)


def test_a_moderator_revokes_with_a_reason_and_old_posts_keep_the_badge(client):
    employee = make_employee("staff_user")
    thread = make_thread()
    post = make_reply_with_badge(thread, employee, "Informal answer.")
    moderator = make_user(role="moderator")
    login(client, moderator)
    assert client.post("/u/staff_user/badge/revoke", data={"revoke-reason": ""}).status_code == 422
    assert is_employee(employee)
    response = client.post("/u/staff_user/badge/revoke", data={"revoke-reason": "Left the company."})
    assert response.status_code == 302
    assert not is_employee(employee)
    badge = db.session.get(EmployeeBadge, db.session.get(Post, post.id).badge_id)
    assert badge.revoked_by_id == moderator.id and badge.revoke_reason == "Left the company."
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "revoked employee badge")).one()
    assert entry.reason == "Left the company." and entry.affected_user_id == employee.id
    assert "Employee · Example Telecom" in client.get(thread.url).get_data(as_text=True)
    history = client.get("/u/staff_user/badge").get_data(as_text=True)
    assert "Left the company." in history and "Known employee." in history
    assert client.post("/u/staff_user/badge/revoke", data={"revoke-reason": "Again."}).status_code == 409


# -- nobody badges themselves ----------------------------------------------------------------------

SNEAKY = {
    "is_employee": "1",
    "role": "moderator",
    "badge_id": "1",
    "badge": "1",
    "with_badge": "y",
    "is_admin": "1",
}


def test_registration_ignores_extra_fields(client):
    make_employee()  # so badge 1 exists
    data = {"username": "sneaky", "email": "sneaky@example.org", "password": PASSWORD, **SNEAKY}
    assert client.post("/register", data=data).status_code == 302
    user = db.session.scalars(select(User).where(User.username == "sneaky")).one()
    assert user.role == "member" and not is_employee(user)


def test_settings_ignore_extra_fields(client):
    make_employee()
    member = make_user()
    login(client, member)
    client.post("/settings", data={"profile-display_name": "Sneaky", "profile-bio": "", **SNEAKY,
                                   "profile-role": "admin", "profile-is_employee": "1"})  # fmt: skip
    client.post("/settings/employee", data={"work_email": "x@gmail.com", **SNEAKY})
    member = db.session.get(User, member.id)
    assert member.display_name == "Sneaky" and member.role == "member" and not is_employee(member)
    assert badge_count() == 1


def test_replies_and_threads_ignore_extra_fields(client):
    employee = make_employee()
    board = make_board()
    thread = make_thread(board)
    member = make_user()
    login(client, member)
    someone_elses = str(active_badge(employee).id)
    client.post(f"/t/{thread.id}/reply", data={"body": "Hi", **SNEAKY, "badge_id": someone_elses})
    client.post(f"/b/{board.slug}/new", data={"title": "A new thread", "body": "Hi", **SNEAKY,
                                              "badge_id": someone_elses})  # fmt: skip
    assert db.session.scalar(select(func.count(Post.id)).where(Post.author_id == member.id)) == 2
    assert db.session.scalar(select(func.count(Post.id)).where(Post.badge_id.is_not(None))) == 0
    assert not db.session.get(Thread, thread.id).has_employee_reply
    member = db.session.get(User, member.id)
    assert member.role == "member" and not is_employee(member) and badge_count() == 1


# -- demo data -------------------------------------------------------------------------------------


def test_demo_jo_staff_is_a_verified_employee(app, runner):
    app.config["COMPANY_NAME"] = "the company"  # not configured: the demo names one
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    jo = db.session.scalars(select(User).where(User.username == "jo_staff")).one()
    assert is_employee(jo) and active_badge(jo).company == "Example Telecom"
    assert db.session.scalar(select(func.count(Post.id)).where(Post.badge_id.is_not(None))) >= 1
    assert db.session.scalar(select(func.count(Thread.id)).where(Thread.has_employee_reply)) >= 1


def test_two_simultaneous_clicks_grant_one_badge(client, smtp_server):
    member = make_user()
    login(client, member)
    token = request_link(client, smtp_server).rsplit("/", 1)[1]
    verification.check_link(token, actor=member)  # this session has read the link as unused...
    with db.engine.begin() as other:  # ...when another request uses it
        other.execute(db.update(BadgeVerification).values(used_at=utcnow()))
    with pytest.raises(verification.LinkError):
        verification.confirm_verification(token, actor=member)
    db.session.rollback()
    assert badge_count() == 0


@pytest.mark.parametrize(
    "value", ["jo\x00@example-telecom.com", "a" * 1_000_000, "jo@example-telecom.com" * 20]
)
def test_bad_input_gets_a_field_message_not_a_500(client, value):
    login(client, make_user())
    response = client.post("/settings/employee", data={"work_email": value})
    assert response.status_code == 422 and "field-error" in response.get_data(as_text=True)
    make_user("subject_user")
    login(client, make_user(role="moderator"))
    reason = value if len(value) > 500 or "\x00" in value else value * 2  # over 500 characters
    response = client.post("/u/subject_user/badge/grant", data={"grant-reason": reason})
    assert response.status_code == 422 and "field-error" in response.get_data(as_text=True)
    assert client.get("/settings/employee/verify/" + "x" * 5000).status_code == 400
    assert badge_count() == 0 and db.session.scalar(select(func.count(BadgeVerification.id))) == 0


def test_settings_link_to_the_badge_page(client):
    member = make_user()
    login(client, member)
    page = client.get("/settings").get_data(as_text=True)
    assert "Verify that you are an employee" in page and 'href="/settings/employee"' in page
    make_badge(member)
    page = client.get("/settings").get_data(as_text=True)
    assert "Manage or renew your badge" in page and "Employee · Example Telecom" in page


def test_the_address_of_an_unused_expired_link_is_forgotten(client, runner, smtp_server):
    login(client, make_user())
    request_link(client, smtp_server, "jo@example-telecom.com")
    assert db.session.scalar(select(OutgoingMail.recipient)) == "jo@example-telecom.com"  # sent, link pending
    assert "forgot 0 old work address" in runner.invoke(args=["badges", "notify-expiring"]).output
    db.session.execute(db.update(BadgeVerification).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert "forgot 1 old work address" in runner.invoke(args=["badges", "notify-expiring"]).output
    assert db.session.scalar(select(OutgoingMail.recipient)) == verification.FORGOTTEN_RECIPIENT
