"""Several app servers behind one address (issue #22): proxy headers trusted only from the
configured proxies, and two gunicorn servers behind a real nginx acting as one site."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from forum.db import utcnow
from forum.extensions import db
from tests.conftest import POSTGRES_SKIP_REASON, SECRET_KEY, _free_port, make_test_config
from tests.factories import PASSWORD, make_board, make_user

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _login_status(client, remote: str, forwarded: str | None, name: str) -> int:
    client.get("/login")  # a session and its CSRF token
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.post(
        "/login",
        data={"login": name, "password": "wrong password"},
        headers=headers,
        environ_base={"REMOTE_ADDR": remote},
    )
    return response.status_code


@pytest.fixture
def app_config(app_config):
    app_config.update(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
        RATELIMIT_LOGIN="2 per minute",
        WTF_CSRF_ENABLED=False,
        PROXY_TRUSTED=["10.0.0.0/8"],
        PROXY_HOPS=1,
    )
    return app_config


def test_client_address_comes_from_a_trusted_proxy_only(app):
    client = app.test_client()
    # Through the trusted proxy, each client address has its own per-IP login limit.
    assert [_login_status(client, "10.0.0.1", "203.0.113.5", f"a{n}") for n in range(3)] == [422, 422, 429]
    assert _login_status(client, "10.0.0.1", "203.0.113.6", "b0") == 422
    # A direct connection cannot pick its address with the header: every attempt is its own.
    statuses = [_login_status(client, "192.0.2.9", f"198.51.100.{n}", f"c{n}") for n in range(3)]
    assert statuses == [422, 422, 429]
    # Nor can it borrow a trusted client's address to get that client limited.
    assert _login_status(client, "192.0.2.10", "203.0.113.6", "d0") == 422


# -- two app servers behind nginx ------------------------------------------------------------------


def _redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


NGINX_TEST_CONFIG = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
{user}
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    log_format upstreamlog '$upstream_addr $status "$request"';
    access_log {tmp}/nginx-access.log upstreamlog;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream roundabout {{
        server 127.0.0.1:{port_a};
        server 127.0.0.1:{port_b};
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {tmp}/cert.pem;
        ssl_certificate_key {tmp}/key.pem;
{site}
    }}
}}
"""


def _nginx_config(tmp: Path, port: int, port_a: int, port_b: int) -> str:
    site = (ROOT / "deploy" / "nginx-site.conf").read_text()
    inner = site[site.index("# -- inside the server block --") : site.index("# -- end --")]
    inner = inner.replace("/srv/roundabout/static", str(ROOT / "static"))
    user = "user root;" if os.geteuid() == 0 else ""
    return NGINX_TEST_CONFIG.format(tmp=tmp, port=port, port_a=port_a, port_b=port_b, site=inner, user=user)


class Visitor:
    def __init__(self, base: str) -> None:
        self.base = base
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        )

    def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        try:
            with self.opener.open(self.base + path, timeout=20) as response:
                return response.status, response.read().decode(), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(), dict(error.headers)

    def csrf_token(self, form_page: str) -> str:
        _, page, _ = self.get(form_page)
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)

    def upload(self, path: str, form_page: str, field: str, name: str, data: bytes) -> tuple[int, str]:
        """A file sent as the editor's JavaScript sends it: multipart, asking for JSON."""
        token = self.csrf_token(form_page)
        boundary = secrets.token_hex(16)
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(self.base + path, data=body, headers={
            "Referer": self.base + form_page, "Accept": "application/json",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        })  # fmt: skip
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str, form_page: str, fields: dict[str, str]) -> tuple[int, str]:
        token = self.csrf_token(form_page)
        data = urllib.parse.urlencode({"csrf_token": token, **fields}).encode()
        # Over https, Flask-WTF checks that the Referer is this site, as a browser sends it.
        request = urllib.request.Request(
            self.base + path, data=data, headers={"Referer": self.base + form_page}
        )
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def _noisy_png(width: int, height: int) -> bytes:
    """Noise does not compress: a PNG as large as a phone photo."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")
    return buffer.getvalue()


def _wait_for(url: str, context: ssl.SSLContext | None = None) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=2, context=context)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


@pytest.mark.slow
@pytest.mark.skipif(NGINX is None, reason="no nginx (make test installs Debian's nginx as root)")
@pytest.mark.skipif(POSTGRES_SKIP_REASON is not None, reason=str(POSTGRES_SKIP_REASON))
@pytest.mark.skipif(not _redis_available(), reason="no Redis at 127.0.0.1:6379")
@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl to make a test certificate")
def test_two_app_servers_behind_nginx_are_one_site(tmp_path, postgres):
    from forum import create_app

    database_url = postgres.create_database("nginx")
    prefix = f"roundabout-test-{secrets.token_hex(6)}"
    port, port_a, port_b = _free_port(), _free_port(), _free_port()
    base = f"https://localhost:{port}"
    common = {
        **os.environ,
        "FORUM_ENV": "production",
        "FORUM_SECRET_KEY": SECRET_KEY,
        "FORUM_BASE_URL": base,
        "FORUM_DATABASE_URL": database_url,
        "FORUM_SEARCH_BACKEND": "postgres",
        "FORUM_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "FORUM_RATELIMIT_KEY_PREFIX": prefix,
        "FORUM_RATELIMIT_LOGIN_ACCOUNT": "3 per 15 minutes",
        "FORUM_WORKERS": "2",
        "FORUM_JOBS_MODE": "worker",
        "FORUM_JOBS_QUEUE_URL": "redis://127.0.0.1:6379/0",
        "FORUM_JOBS_QUEUE_NAME": prefix,
        "FORUM_PROXY_TRUSTED": "127.0.0.1",
        "FORUM_UPLOAD_STORAGE": "database",
        "FORUM_ARGON2_TIME_COST": "1",
        "FORUM_ARGON2_MEMORY_COST": "1024",
        "FORUM_ARGON2_PARALLELISM": "1",
    }
    subprocess.run([str(BIN / "flask"), "--app", "forum", "db", "upgrade"], check=True, capture_output=True,
                   env={**common, "FORUM_INSTANCE_PATH": str(tmp_path / "a")})  # fmt: skip
    app = create_app(
        make_test_config(
            tmp_path, database_url, SEARCH_BACKEND="postgres", INSTANCE_PATH=str(tmp_path / "setup")
        )
    )
    with app.app_context():
        make_user("pat", email="pat@example.org", created_at=utcnow() - timedelta(days=30), post_count=20)
        make_board("Broadband")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)  # fmt: skip
    servers, logs = [], []
    for name, server_port in (("a", port_a), ("b", port_b)):
        env = {**common, "FORUM_INSTANCE_PATH": str(tmp_path / name)}
        logs.append((tmp_path / f"gunicorn-{name}.log").open("w"))
        servers.append(subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{server_port}", "forum:create_app()"],
            env=env, stdout=subprocess.DEVNULL, stderr=logs[-1],
        ))  # fmt: skip
    (tmp_path / "nginx.conf").write_text(_nginx_config(tmp_path, port, port_a, port_b))
    nginx = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port_a}/")
        _wait_for(f"http://127.0.0.1:{port_b}/")
        context = ssl._create_unverified_context()
        time.sleep(0.5)
        assert nginx.poll() is None, nginx.stderr.read().decode()
        _wait_for(base + "/", context)
        pat = Visitor(base)
        status, page = pat.post("/login", "/login", {"login": "pat", "password": PASSWORD})
        assert status == 200 and "Log out" in page
        # Logged in through one server, recognised by both (the session is a database row).
        names = [("pat" in pat.get("/")[1] and "Log out" in pat.get("/")[1]) for _ in range(4)]
        assert all(names)
        status, page = pat.post("/b/broadband/new", "/b/broadband/new",
                                {"title": "Hub 4 drops wifi every evening", "body": "Since the update the hub reboots at night."})  # fmt: skip
        assert status == 200 and "Hub 4 drops wifi every evening" in page, page[:500]
        # Both servers find it, at once and the same way (PostgreSQL search is shared).
        results = [pat.get("/search?q=wifi+evening")[1] for _ in range(4)]
        titles = [
            re.findall(r"Hub 4 drops wifi every evening", re.sub(r"<[^>]+>", "", page)) for page in results
        ]
        assert all(titles), "a server did not find the new thread"
        # A phone photo over nginx's old 3 MB body limit uploads, and both servers show it.
        photo = _noisy_png(1100, 1100)
        assert len(photo) > 3 * 1024 * 1024
        status, answer = pat.upload("/uploads", "/settings/uploads", "file", "hub-lights.png", photo)
        assert status == 201, answer[:500]
        address = json.loads(answer)["url"]
        shown = []
        for _ in range(4):
            with pat.opener.open(base + address, timeout=20) as response:
                shown.append((response.status, len(response.read())))
        assert all(status == 200 and size > 3 * 1024 * 1024 for status, size in shown), shown
        # Rate limits are shared through Redis: failures through both servers count together.
        guesses = [
            Visitor(base).post("/login", "/login", {"login": "pat", "password": "nope"})[0] for _ in range(4)
        ]
        assert guesses == [422, 422, 422, 429], guesses
        # nginx serves static files itself, compressed, and the app knows the request was https.
        request = urllib.request.Request(base + "/static/css/site.css", headers={"Accept-Encoding": "gzip"})
        with pat.opener.open(request, timeout=20) as response:
            assert response.status == 200
            assert response.headers["Content-Encoding"] == "gzip"
            assert "public" in response.headers.get_all("Cache-Control")
        assert "Strict-Transport-Security" in pat.get("/")[2]
        served = (tmp_path / "nginx-access.log").read_text().splitlines()
        upstreams = {line.split()[0] for line in served}
        assert {f"127.0.0.1:{port_a}", f"127.0.0.1:{port_b}"} <= upstreams, served[-10:]
        assert not any("/static/" in line for line in served), "static files never reach the app"
    finally:
        nginx.terminate()
        for server in servers:
            server.terminate()
        nginx.wait(timeout=10)
        nginx.stderr.close()
        for server in servers:
            server.wait(timeout=10)
        for log in logs:
            log.close()
        import redis

        client = redis.Redis("127.0.0.1", 6379)
        keys = list(client.scan_iter(f"*{prefix}*"))
        if keys:
            client.delete(*keys)
        client.close()
