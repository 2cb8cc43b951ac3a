"""The job queue (Huey): where web requests hand work over and where workers take it.

Huey was chosen for its two storages that match our two set-ups: SQLite in the instance
folder for the embedded default (no service to start) and Redis for several machines,
with the same task and scheduler code for both, and a consumer we can run in a thread of
the web process (`JOBS_MODE=thread`) or as `flask worker` processes (`JOBS_MODE=worker`).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

log = logging.getLogger(__name__)


def make_huey(app: Flask) -> Huey:
    """The app's queue with its tasks: a mail drain to enqueue, and the minute tick."""
    url = app.config["JOBS_QUEUE_URL"] or f"sqlite:///{Path(app.instance_path) / 'jobs.sqlite3'}"
    name = app.config["JOBS_QUEUE_NAME"]
    huey: Huey
    if url.startswith(("redis://", "rediss://", "unix://")):
        huey = RedisHuey(name, url=url, results=False)
    elif url.startswith("sqlite:///"):
        huey = SqliteHuey(name, filename=url.removeprefix("sqlite:///"), results=False, timeout=30)
    else:
        from forum.config import ConfigurationError

        raise ConfigurationError(f"JOBS_QUEUE_URL must be redis://... or sqlite:///...; got {url!r}")

    @huey.task(name="deliver_mail")
    def deliver_mail() -> None:
        from forum.jobs.builtin import mail_outbox

        with app.app_context():
            mail_outbox()

    @huey.periodic_task(crontab(), name="tick")
    def tick() -> None:
        from forum.jobs.periodic import run_due

        with app.app_context():
            run_due(app)

    huey.deliver_mail = deliver_mail  # type: ignore[attr-defined]
    return huey


class InProcessConsumer(Consumer):
    """Huey's consumer without the signal handlers, so it can run in a web process's thread."""

    def _set_signal_handlers(self) -> None:
        pass


class InProcessWorker:
    """One consumer thread per web process, started on the first request after a fork."""

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self._pid: int | None = None
        self._lock = threading.Lock()
        self.consumer: InProcessConsumer | None = None

    def ensure_started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self.consumer = InProcessConsumer(self.huey, workers=1, worker_type="thread", periodic=True)
            self.consumer.start()
            self._pid = os.getpid()
            log.info("Background jobs run in this process (JOBS_MODE=thread), pid %s", self._pid)

    def stop(self) -> None:
        if self.consumer is not None and self._pid == os.getpid():
            self.consumer.stop(graceful=False)
            self._pid = None


def queue_lengths(huey: Huey) -> dict[str, Any]:
    return {"pending": huey.pending_count(), "scheduled": huey.scheduled_count()}
