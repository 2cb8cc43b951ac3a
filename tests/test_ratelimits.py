"""Rate limits (SECURITY 3, 33): logins per IP and per account, registration, posting; Redis + gunicorn."""

from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import limits.storage.memory
import pytest

from tests.conftest import SECRET_KEY
from tests.factories import PASSWORD, login, make_board, make_thread
from tests.factories_moderation import make_member, snapshot


@pytest.fixture
def app_config(app_config):
    app_config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    return app_config


@pytest.fixture
def clock(monkeypatch):
    """Move the in-memory limiter's clock forward without waiting."""
    state = SimpleNamespace(now=time.time())
    monkeypatch.setattr(limits.storage.memory, "time", SimpleNamespace(time=lambda: state.now))
    return state


def attempt(client, login_name, password="wrong password", ip="10.0.0.1"):
    return client.post(
        "/login", data={"login": login_name, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def assert_throttled(response):
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    page = response.get_data(as_text=True)
    assert "<h1>Slow down</h1>" in page and "try again" in page.lower()


def test_login_is_limited_to_10_per_minute_and_30_per_hour_per_ip(client, clock):
    for minute in range(3):
        for index in range(10):
            assert attempt(client, f"guess{minute}_{index}").status_code == 422
        assert_throttled(attempt(client, f"guess{minute}_extra"))
        clock.now += 61
    assert_throttled(attempt(client, "guess_hour"))  # the 31st in the hour
    assert attempt(client, "guess_other_ip", ip="10.0.0.2").status_code == 422


def test_five_failures_throttle_an_account_across_ips_even_with_the_right_password(client, clock):
    user = make_member("victim")
    unknown = []
    for index in range(5):
        assert attempt(client, "victim", ip=f"10.1.0.{index}").status_code == 422
        unknown.append(attempt(client, "nobody_here", ip=f"10.2.0.{index}").status_code)
    assert unknown == [422] * 5
    throttled = attempt(client, "victim", password=PASSWORD, ip="10.9.9.9")
    assert_throttled(throttled)
    assert "Too many failed logins for this account" in throttled.get_data(as_text=True)
    assert "session" not in (throttled.headers.get("Set-Cookie") or "") or user.last_seen_at is None
    # An unknown account reads the same: the throttle tells nothing about who exists.
    other = attempt(client, "nobody_here", password=PASSWORD, ip="10.9.9.8")
    assert other.status_code == 429 and other.get_data() == throttled.get_data()
    assert attempt(client, "VICTIM", password=PASSWORD, ip="10.9.9.7").status_code == 429  # same account
    clock.now += 15 * 60 + 1
    assert attempt(client, "victim", password=PASSWORD, ip="10.9.9.9").status_code == 302


def test_registration_is_limited_per_ip(client):
    for index in range(5):
        data = {"username": f"new_{index}", "email": f"new{index}@example.org", "password": PASSWORD}
        response = client.post("/register", data=data, environ_base={"REMOTE_ADDR": "10.3.0.1"})
        assert response.status_code == 302
        client.post("/logout")
    before = snapshot()
    data = {"username": "new_x", "email": "newx@example.org", "password": PASSWORD}
    assert_throttled(client.post("/register", data=data, environ_base={"REMOTE_ADDR": "10.3.0.1"}))
    assert snapshot() == before


def test_forms_sent_back_with_errors_do_not_count_against_the_registration_limit(client):
    """Issue 16: a person fixing typos is not five new accounts; the 429 says how long to wait."""
    for index in range(8):
        data = {"username": f"typo_{index}", "email": "not-an-address", "password": PASSWORD}
        response = client.post("/register", data=data, environ_base={"REMOTE_ADDR": "10.3.0.2"})
        assert response.status_code == 422
    for index in range(5):
        data = {"username": f"fixed_{index}", "email": f"fixed{index}@example.org", "password": PASSWORD}
        assert (
            client.post("/register", data=data, environ_base={"REMOTE_ADDR": "10.3.0.2"}).status_code == 302
        )
        client.post("/logout")
    data = {"username": "one_more", "email": "onemore@example.org", "password": PASSWORD}
    throttled = client.post("/register", data=data, environ_base={"REMOTE_ADDR": "10.3.0.2"})
    assert_throttled(throttled)
    page = throttled.get_data(as_text=True)
    assert re.search(r"You can try again in (about an hour|about \d+ minutes)\.", page), page


def test_posting_is_limited_per_member(client, make_client):
    thread = make_thread(make_board(), make_member())
    login(client, make_member("chatty"))
    for index in range(6):
        response = client.post(f"/t/{thread.id}/reply", data={"body": f"reply {index}", "submit": "1"})
        assert response.status_code == 302
    assert_throttled(client.post(f"/t/{thread.id}/reply", data={"body": "one more", "submit": "1"}))
    other = make_client()  # another member on the same IP is not affected
    login(other, make_member("calm"))
    assert other.post(f"/t/{thread.id}/reply", data={"body": "hello", "submit": "1"}).status_code == 302


def test_429_answers_json_callers_in_json(client):
    for index in range(10):
        attempt(client, f"json{index}")
    response = client.post(
        "/login", data={"login": "x", "password": "y"}, headers={"Accept": "application/json"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )  # fmt: skip
    assert response.status_code == 429 and response.get_json()["status"] == 429
    assert "Retry-After" in response.headers


# -- two gunicorn workers sharing Redis ----------------------------------------------------------------

REDIS = ("127.0.0.1", 6379)


def _redis_available() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def post_login(self, name: str, password: str) -> int:
        page = self.opener.open(self.base + "/login").read().decode()
        token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode({"csrf_token": token, "login": name, "password": password}).encode()
        try:
            return self.opener.open(self.base + "/login", data=data).status
        except urllib.error.HTTPError as error:
            return error.code


@pytest.mark.slow
@pytest.mark.skipif(not _redis_available(), reason="no Redis at 127.0.0.1:6379")
@pytest.mark.skipif(
    shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None, reason="no gunicorn"
)
def test_login_limits_hold_across_two_gunicorn_workers_sharing_redis(tmp_path):
    import redis

    prefix = f"roundabout-test-{secrets.token_hex(6)}"
    port = _free_port()
    env = {
        **os.environ,
        "FORUM_ENV": "production",
        "FORUM_SECRET_KEY": SECRET_KEY,
        "FORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'forum.db'}",
        "FORUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "FORUM_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "FORUM_RATELIMIT_KEY_PREFIX": prefix,
        "FORUM_WORKERS": "2",
        # Production argon2 settings: each login takes a while, so concurrent ones reach both workers.
    }
    bin_dir = Path(sys.executable).parent
    subprocess.run([str(bin_dir / "flask"), "--app", "forum", "db", "upgrade"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    log = tmp_path / "access.log"
    server = subprocess.Popen(
        [str(bin_dir / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log),
         "--access-logformat", "%(p)s %(s)s %(r)s", "forum:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(*REDIS)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        # Per account, across workers: five failures, then even the right answer is refused.
        account = [Browser(base).post_login("victim", "wrong password") for _ in range(5)]
        assert account == [422] * 5
        assert Browser(base).post_login("victim", PASSWORD) == 429
        # Per IP: 10 per minute across both workers. The five failures above count; the refused
        # sixth never reached the login view, so five more get through and five are refused.
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(lambda i: Browser(base).post_login(f"guess{i}", "wrong"), range(10)))
        assert sorted(statuses) == [422] * 5 + [429] * 5, statuses
        served_by = {line.split()[0] for line in log.read_text().splitlines() if "POST /login" in line}
        assert len(served_by) == 2, "both workers should have answered logins"
    finally:
        server.terminate()
        server.wait(timeout=10)
        keys = list(client.scan_iter(f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
