"""Background jobs (issue #22): exactly-once mail under concurrent drainers and a failing SMTP
server, periodic jobs once across two `flask worker`s, and requests that never wait on SMTP."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from forum import create_app
from forum.extensions import db
from forum.jobs.models import JobRun
from forum.jobs.periodic import REGISTRY, run_due
from forum.mail.models import OutgoingMail
from forum.mail.services import queue_mail
from tests.conftest import POSTGRES_SKIP_REASON, SECRET_KEY, _free_port, make_test_config
from tests.factories import make_user

BIN = Path(sys.executable).parent
REDIS = ("127.0.0.1", 6379)


def _redis_available() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


class FlakySMTP:
    """A real SMTP server that refuses the first messages (451), then hangs, then recovers."""

    def __init__(self, refuse: int, hang: int, hang_seconds: float) -> None:
        self.refuse, self.hang, self.hang_seconds = refuse, hang, hang_seconds
        self.delivered: list[str] = []  # subjects, once per accepted DATA
        self.refused = self.hung = 0
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=_free_port())
        self.port = self.controller.port

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        with self._lock:
            hang = self.hung < self.hang and self.refused >= self.refuse
            if hang:
                self.hung += 1
        if hang:  # the client's timeout ends the conversation before DATA
            await asyncio.sleep(self.hang_seconds)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 Try again later"
            subject = re.search(rb"^Subject: (.*)$", envelope.content, re.MULTILINE).group(1).decode().strip()
            self.delivered.append(subject)
        return "250 Message accepted for delivery"


def _drainer_script() -> str:
    return textwrap.dedent(
        """
        import sys, time
        from forum import create_app
        from forum.mail.services import send_pending, pending_count
        app = create_app()
        deadline = time.monotonic() + 90
        with app.app_context():
            while time.monotonic() < deadline and pending_count():
                send_pending(limit=5)
                time.sleep(0.05)
        """
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_four_drainers_and_a_failing_smtp_server_deliver_each_message_once(backend, tmp_path, request):
    if backend == "postgresql":
        if POSTGRES_SKIP_REASON:
            pytest.skip(POSTGRES_SKIP_REASON)
        url = request.getfixturevalue("postgres").create_database("drainers")
    else:
        url = f"sqlite:///{tmp_path / 'forum.db'}"
    app = create_app(make_test_config(tmp_path, url))
    with app.app_context():
        db.create_all()
        for number in range(60):
            queue_mail(f"member{number}@example.test", f"message {number}", "text", "<p>html</p>")
        db.session.commit()
    smtp = FlakySMTP(refuse=8, hang=4, hang_seconds=2.5)
    smtp.controller.start()
    env = {
        **os.environ,
        "FORUM_SECRET_KEY": SECRET_KEY,
        "FORUM_DATABASE_URL": url,
        "FORUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "FORUM_SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
        "FORUM_MAIL_SERVER": "127.0.0.1",
        "FORUM_MAIL_PORT": str(smtp.port),
        "FORUM_MAIL_TIMEOUT": "1",
        "FORUM_MAIL_RETRY_BASE": "0.1",
        "FORUM_MAIL_CLAIM_LEASE": "20",
        "FORUM_JOBS_MODE": "inline",
    }
    try:
        drainers = [
            subprocess.Popen([sys.executable, "-c", _drainer_script()], env=env, stderr=subprocess.PIPE)
            for _ in range(4)
        ]
        for drainer in drainers:
            _, stderr = drainer.communicate(timeout=120)
            assert drainer.returncode == 0, stderr.decode()[-2000:]
    finally:
        smtp.controller.stop()
    assert smtp.refused == 8 and smtp.hung == 4, "the server failed and hung as planned"
    counts = Counter(smtp.delivered)
    assert sorted(counts) == sorted(f"message {n}" for n in range(60)), "every message arrived"
    assert set(counts.values()) == {1}, {s: n for s, n in counts.items() if n > 1}
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutgoingMail.sent_at.is_(None))) == 0
        retried = db.session.scalar(select(func.count()).where(OutgoingMail.attempts > 1))
        assert retried >= 8, "refused and timed-out messages were retried, not dropped"
        db.session.remove()
        db.engine.dispose()


@pytest.mark.slow
@pytest.mark.skipif(not _redis_available(), reason="no Redis at 127.0.0.1:6379")
@pytest.mark.skipif(POSTGRES_SKIP_REASON is not None, reason=str(POSTGRES_SKIP_REASON))
def test_two_workers_on_two_machines_run_each_periodic_job_once_per_period(tmp_path, postgres):
    """Two `flask worker` processes with their own instance folders, one PostgreSQL and one Redis."""
    database_url = postgres.create_database("workers")
    queue = f"roundabout-test-{os.getpid()}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "FORUM_SECRET_KEY": SECRET_KEY,
        "FORUM_DATABASE_URL": database_url,
        "FORUM_JOBS_MODE": "worker",
        "FORUM_JOBS_QUEUE_URL": "redis://127.0.0.1:6379/0",
        "FORUM_JOBS_QUEUE_NAME": queue,
    }
    subprocess.run([str(BIN / "flask"), "--app", "forum", "db", "upgrade"], env={**env, "FORUM_INSTANCE_PATH": str(tmp_path / "a")},
                   check=True, capture_output=True)  # fmt: skip
    workers = []
    logs = []
    for name in ("a", "b"):
        log = (tmp_path / f"worker-{name}.log").open("w")
        logs.append(log)
        machine = {
            **env,
            "FORUM_INSTANCE_PATH": str(tmp_path / name),
            "FORUM_SEARCH_INDEX_DIR": str(tmp_path / name / "index"),
        }
        workers.append(subprocess.Popen([str(BIN / "flask"), "--app", "forum", "worker", "--threads", "2"],
                                        env=machine, stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
    try:
        # Each worker's scheduler enqueues a tick at every minute boundary: wait for two rounds.
        app = create_app(make_test_config(tmp_path, database_url, INSTANCE_PATH=str(tmp_path / "reader")))
        deadline = time.monotonic() + 200  # two minute boundaries, a slow start on a loaded machine
        with app.app_context():
            while time.monotonic() < deadline:
                periods = set(db.session.scalars(select(JobRun.period).where(JobRun.name == "mail")))
                running = db.session.scalar(select(func.count()).where(JobRun.outcome == "running"))
                db.session.rollback()
                # Stop once two rounds are over: both schedulers' ticks of both minutes done
                # (a tick can still be running its jobs when the second mail period appears).
                if len(periods) >= 2 and _ticks_done(tmp_path) >= 4 and not running:
                    break
                time.sleep(1)
            runs = db.session.execute(select(JobRun.name, JobRun.period, JobRun.worker, JobRun.outcome)).all()
            db.session.remove()
            db.engine.dispose()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=20)
        for log in logs:
            log.close()
        import redis

        client = redis.Redis(*REDIS)
        keys = list(client.scan_iter(f"*{queue}*"))
        if keys:
            client.delete(*keys)
        client.close()
    output = "".join((tmp_path / f"worker-{n}.log").read_text() for n in ("a", "b"))
    assert len({r.period for r in runs if r.name == "mail"}) >= 2, output[-3000:]
    per_period = Counter((r.name, r.period) for r in runs)
    assert set(per_period.values()) == {1}, "a job ran twice in one period"
    assert {r.name for r in runs} >= set(REGISTRY) - {"badge-expiry", "job-history", "digests"}
    assert all(r.outcome == "ok" for r in runs if r.name in ("mail", "search-outbox")), runs
    assert _ticks_done(tmp_path) >= 4, "both workers ticked each minute, and the claims kept the runs single"


def _ticks_done(folder) -> int:
    """How many minute ticks (each scheduler enqueues one a minute) the two workers finished."""
    return sum(
        len(re.findall(r"tick: \S+ executed in", (folder / f"worker-{n}.log").read_text()))
        for n in ("a", "b")
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("gunicorn", path=str(BIN)) is None, reason="no gunicorn")
def test_a_hanging_smtp_server_never_holds_a_web_worker(tmp_path):
    """Six password resets against an SMTP server that hangs: pages still answer at once."""
    smtp = FlakySMTP(refuse=0, hang=1000, hang_seconds=20)
    smtp.controller.start()
    url = f"sqlite:///{tmp_path / 'forum.db'}"
    env = {
        **os.environ,
        "FORUM_SECRET_KEY": SECRET_KEY,
        "FORUM_DATABASE_URL": url,
        "FORUM_INSTANCE_PATH": str(tmp_path / "instance"),
        "FORUM_SEARCH_INDEX_DIR": str(tmp_path / "index"),
        "FORUM_MAIL_SERVER": "127.0.0.1",
        "FORUM_MAIL_PORT": str(smtp.port),
        "FORUM_MAIL_TIMEOUT": "30",
        "FORUM_RATELIMIT_ENABLED": "false",
        "FORUM_JOBS_MODE": "thread",
        "FORUM_ARGON2_TIME_COST": "1",
        "FORUM_ARGON2_MEMORY_COST": "1024",
        "FORUM_ARGON2_PARALLELISM": "1",
    }
    subprocess.run(
        [str(BIN / "flask"), "--app", "forum", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    app = create_app(make_test_config(tmp_path, url, INSTANCE_PATH=str(tmp_path / "instance")))
    with app.app_context():
        for number in range(6):
            make_user(f"resetter{number}", email=f"resetter{number}@example.org")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    port = _free_port()
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--timeout", "15", "--bind", f"127.0.0.1:{port}", "forum:create_app()"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/", timeout=2)
                break
            except OSError:
                time.sleep(0.1)
        answered = []
        for number in range(6):
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
            page = opener.open(base + "/reset-password", timeout=10).read().decode()
            token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page).group(1)
            data = urllib.parse.urlencode(
                {"csrf_token": token, "email": f"resetter{number}@example.org"}
            ).encode()
            started = time.monotonic()
            status = opener.open(base + "/reset-password", data=data, timeout=10).status
            answered.append((status, time.monotonic() - started))
        time.sleep(1)  # the consumer threads are now stuck in the SMTP conversation
        timings = []
        for _ in range(10):
            started = time.monotonic()
            assert urllib.request.urlopen(base + "/", timeout=10).status == 200
            timings.append(time.monotonic() - started)
    finally:
        server.terminate()
        server.wait(timeout=30)
        smtp.controller.stop()
    assert all(status == 200 for status, _ in answered), answered
    assert max(seconds for _, seconds in answered) < 5, answered
    assert max(timings) < 5, f"a page waited on SMTP: {timings}"
    assert smtp.hung >= 1, "the mail was handed to the background and reached the hanging server"


def test_periodic_jobs_claim_each_period_once(app):
    """Two ticks in the same minute (two workers): the second finds every job claimed."""
    with app.app_context():
        first = run_due(app)
        second = run_due(app)
        assert set(first) == set(REGISTRY)
        assert second == []
        assert db.session.scalar(select(func.count()).select_from(JobRun)) == len(REGISTRY)
        assert set(db.session.scalars(select(JobRun.outcome))) == {"ok"}


def test_worker_status_reports_jobs_and_outbox(app):
    with app.app_context():
        queue_mail("someone@example.test", "hello", "text", "<p>html</p>")
        db.session.commit()
        run_due(app)
    result = app.test_cli_runner().invoke(args=["worker", "status"])
    assert result.exit_code == 0, result.output
    assert "Mail outbox: 0 waiting" in result.output
    assert re.search(r"mail\s+every 60s\s+\S+ \S+ UTC on .*: ok \(sent 1, failed 0\)", result.output), (
        result.output
    )
