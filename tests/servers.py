"""Real gunicorn servers for tests that need several worker processes on the test's database."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(app: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment that points a server process at the test app's database and index."""
    config = app.config
    env = dict(os.environ)
    env.update(
        FORUM_DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
        FORUM_SEARCH_INDEX_DIR=config["SEARCH_INDEX_DIR"],
        FORUM_INSTANCE_PATH=str(tmp_path / "server-instance"),
        FORUM_SECRET_KEY=config["SECRET_KEY"],
        FORUM_RATELIMIT_ENABLED="false",
        FORUM_NEW_ACCOUNT_REPLY_INTERVAL="0",  # the posters are fresh accounts posting fast
        FORUM_NEW_ACCOUNT_THREAD_INTERVAL="0",
        FORUM_NEW_ACCOUNT_POSTS="0",
        FORUM_WTF_CSRF_ENABLED="false",
        FORUM_ARGON2_TIME_COST="1",
        FORUM_ARGON2_MEMORY_COST="1024",
        FORUM_ARGON2_PARALLELISM="1",
        FORUM_SEARCH_BACKEND=config["SEARCH_BACKEND"],
    )
    env.update(extra)
    return env


def request(
    port: int, method: str, path: str, body: dict | None = None, cookie: str = "", timeout: float = 60
) -> tuple[int, dict, float]:
    """(status, headers, seconds) of one HTTP request to 127.0.0.1:port."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Cookie": cookie} if cookie else {}
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders()), time.monotonic() - started
    finally:
        connection.close()


def session_cookie(headers: dict) -> str:
    """The Cookie header value that replays a response's Set-Cookie."""
    return "; ".join(c.split(";")[0] for c in re.split(r", (?=\w+=)", headers["Set-Cookie"]))


def wait_for(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("gunicorn exited: " + process.stderr.read().decode()[-3000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 4) -> Iterator[tuple[int, subprocess.Popen]]:
    """`with gunicorn(env) as (port, process):` a server with `workers` processes, stopped after."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--timeout", "60", "forum:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        wait_for(port, server)
        yield port, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr:
            server.stderr.close()
