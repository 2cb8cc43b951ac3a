"""Accounts through HTTP: register, log in and out, sessions, passwords, profiles."""

from __future__ import annotations

import re
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import func, select

from forum.auth.models import LoginSession, User
from forum.db import utcnow
from forum.extensions import db
from tests.factories import PASSWORD, login, make_user


def user_named(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def test_register_logs_in_and_stores_an_argon2id_hash(client):
    response = client.post(
        "/register", data={"username": "new_member", "email": "New@Example.org", "password": PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = user_named("new_member")
    assert user.email == "new@example.org"
    assert user.password_hash.startswith("$argon2id$v=19$")
    assert "new_member" in client.get("/").get_data(as_text=True)


def test_production_hash_parameters_are_argon2id_defaults(app):
    app.config.update(ARGON2_TIME_COST=3, ARGON2_MEMORY_COST=65536, ARGON2_PARALLELISM=4)
    first = make_user("hash_one")
    second = make_user("hash_two")
    assert first.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert first.password_hash != second.password_hash  # same password, different salts


@pytest.mark.parametrize(
    ("password", "status"),
    [
        ("short", 422),
        ("password1", 422),  # among the most common passwords
        ("qwertyuiop", 422),
        ("x" * 64, 302),  # long passphrases are accepted unchanged
        ("ünïcødé passphrase ☂", 302),
        ("eight ch", 302),  # no composition rules
    ],
)
def test_password_rules(client, password, status):
    response = client.post(
        "/register", data={"username": "pw_tester", "email": "pw@example.org", "password": password}
    )
    assert response.status_code == status
    if status == 422:
        assert user_named("pw_tester") is None
        assert 'class="field-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "ab", "3 to 30 characters"),
        ("username", "Has Spaces", "3 to 30 characters"),
        ("username", "admin", "reserved"),
        ("email", "not-an-address", "not a valid email"),
    ],
)
def test_registration_field_errors_keep_the_typed_values(client, field, value, message):
    data = {"username": "valid_name", "email": "valid@example.org", "password": PASSWORD, field: value}
    response = client.post("/register", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert f'value="{value}"' in page
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_duplicate_username_is_refused_and_a_taken_address_is_not_revealed(client):
    owner = make_user("taken", email="taken@example.org")
    response = client.post(
        "/register", data={"username": "taken", "email": "other@example.org", "password": PASSWORD}
    )
    assert response.status_code == 422 and "This username is taken." in response.get_data(as_text=True)
    # Issue #21: the page answers as for a new address; the address stays its owner's.
    response = client.post(
        "/register", data={"username": "fresh", "email": "TAKEN@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302
    fresh = db.session.scalar(select(User).where(User.username == "fresh"))
    assert fresh.email is None and fresh.unconfirmed_email == "taken@example.org"
    assert owner.email == "taken@example.org"


def test_login_by_username_or_email_and_logout_is_post_only(client):
    user = make_user("carol", email="carol@example.org")
    login(client, "CAROL@example.org")
    assert "carol" in client.get("/").get_data(as_text=True)
    assert client.get("/logout").status_code == 405  # a GET never logs out
    assert client.get("/settings").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/settings").status_code == 302
    assert (
        db.session.scalar(
            select(func.count()).select_from(LoginSession).where(LoginSession.user_id == user.id)
        )
        == 0
    )


def test_wrong_password_and_unknown_user_read_the_same(client):
    make_user("dave")
    wrong = client.post("/login", data={"login": "dave", "password": "wrong password!"})
    unknown = client.post("/login", data={"login": "nobody_here", "password": "wrong password!"})
    assert wrong.status_code == unknown.status_code == 422

    def without_token(page: str) -> str:
        return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page).replace(
            "nobody_here", "dave"
        )

    assert without_token(wrong.get_data(as_text=True)) == without_token(unknown.get_data(as_text=True))
    assert "Wrong username or password." in wrong.get_data(as_text=True)


def test_logout_is_server_side_a_replayed_cookie_is_refused(app, client, make_client):
    make_user("erin")
    login(client, "erin")
    cookie = client.get_cookie("session")
    assert cookie is not None
    client.post("/logout")
    replay = make_client()
    replay.set_cookie("session", cookie.value)
    assert replay.get("/settings").status_code == 302


def test_login_starts_a_fresh_session(client):
    make_user("fred")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    login(client, "fred")
    with client.session_transaction() as session:
        assert "planted" not in session


def test_remember_me_survives_the_browser_session_for_30_days_at_most(app, client, make_client):
    make_user("gina")
    response = login(client, "gina", remember=True)
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    remember = cookies["remember_token"]
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    expires = SimpleCookie(remember)["remember_token"]["expires"]
    assert expires  # a persistent cookie
    row = db.session.scalars(select(LoginSession)).one()
    assert row.remember and row.expires_at - row.created_at <= timedelta(days=30)
    # A browser restart: only the remember cookie is left.
    later = make_client()
    later.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert later.get("/settings").status_code == 200
    # After the 30 days the row has expired and the cookie no longer works.
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    again = make_client()
    again.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert again.get("/settings").status_code == 302


def test_idle_sessions_expire(app, client):
    make_user("hal")
    login(client, "hal")
    row = db.session.scalars(select(LoginSession)).one()
    assert not row.remember
    assert row.expires_at - row.created_at == app.config["SESSION_IDLE_TIMEOUT"]
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/settings").status_code == 302


@pytest.mark.parametrize(
    ("base_url", "secure", "session_name"),
    [("http://forum.test", False, "session"), ("https://forum.example", True, "__Host-session")],
)
def test_session_cookie_flags(app_config, backend, base_url, secure, session_name):
    from forum import create_app
    from tests.conftest import ForumClient

    app_config["BASE_URL"] = base_url
    app_config["WTF_CSRF_ENABLED"] = False  # this test is about cookies, not CSRF
    application = create_app(app_config)
    application.test_client_class = ForumClient
    with application.app_context():
        db.create_all()
        make_user("ivy")
        client = application.test_client()
        response = client.post(
            "/login", base_url=base_url, data={"login": "ivy", "password": PASSWORD, "remember": "y"}
        )
        assert response.status_code == 302
        cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
        session_cookie = cookies[session_name]
        assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
        assert ("Secure" in session_cookie) is secure
        remember_name = "__Host-remember_token" if secure else "remember_token"
        assert ("Secure" in cookies[remember_name]) is secure
        db.session.remove()
        if backend == "postgresql":
            db.session.execute(db.text("TRUNCATE users, login_sessions RESTART IDENTITY CASCADE"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def test_change_password_needs_the_current_one_and_ends_other_sessions(client, make_client):
    user = make_user("jack")
    login(client, user)
    other_device = make_client()
    login(other_device, user)
    refused = client.post(
        "/settings",
        data={
            "password-current_password": "not it at all",
            "password-new_password": "a brand new passphrase",
        },
    )
    assert refused.status_code == 422 and "This is not your current password." in refused.get_data(
        as_text=True
    )
    assert other_device.get("/settings").status_code == 200
    changed = client.post(
        "/settings",
        data={"password-current_password": PASSWORD, "password-new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 302
    assert client.get("/settings").status_code == 200  # this browser stays logged in
    assert other_device.get("/settings").status_code == 302  # the other one is logged out
    assert client.post("/logout").status_code == 302
    login(client, "jack", password="a brand new passphrase")


def test_profile_edit_and_public_profile(client):
    user = make_user("kim")
    login(client, user)
    response = client.post(
        "/settings",
        data={"profile-display_name": "Kim <K>", "profile-bio": "Fibre since 2019", "profile-submit": "1"},
    )
    assert response.status_code == 302
    page = client.get("/u/kim").get_data(as_text=True)
    assert "Kim &lt;K&gt;" in page and "Fibre since 2019" in page
    assert client.get("/u/nobody_at_all").status_code == 404


def test_settings_need_login(client):
    response = client.get("/settings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        " //evil.example",
        "\t/\\evil",
    ],
)
def test_next_never_leaves_the_site(client, target):
    make_user("lee")
    response = client.post(
        "/login", query_string={"next": target}, data={"login": "lee", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_keeps_local_paths(client):
    make_user("max")
    response = client.post(
        "/login", query_string={"next": "/b/tv?page=2"}, data={"login": "max", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/b/tv?page=2"


def test_create_admin_from_the_cli_and_no_default_credentials(client, runner):
    for name, password in [("admin", "admin"), ("admin", "password"), ("root", "root")]:
        assert client.post("/login", data={"login": name, "password": password}).status_code == 422
    result = runner.invoke(
        args=["users", "create-admin", "--username", "boss", "--email", "boss@example.org"],
        input="a strong admin passphrase\na strong admin passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "Administrator boss created." in result.output
    assert user_named("boss").role == "admin"
    login(client, "boss", password="a strong admin passphrase")
    assert client.get("/admin/boards").status_code == 200
    weak = runner.invoke(
        args=["users", "create-admin", "--username", "boss2", "--email", "b2@example.org"],
        input="password\npassword\n",
    )
    assert weak.exit_code == 1 and "most common" in weak.output
