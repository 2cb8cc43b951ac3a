"""Background and periodic work, without cron: `flask worker`, or a thread in each web process.

JOBS_MODE chooses where it runs:
- "thread" (the default): a Huey consumer thread inside each web process, the queue in
  the instance folder; nothing to start, and no request waits on SMTP.
- "worker": web processes only enqueue; `flask worker` processes (on any machine, sharing
  JOBS_QUEUE_URL, normally Redis) do the work.
- "inline": after each response, in the process that served it (tests; no queue at all).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response

from forum import extensions

log = logging.getLogger(__name__)

CONFIG_DEFAULTS: dict[str, Any] = {
    "JOBS_MODE": "thread",
    "JOBS_QUEUE_URL": None,  # default sqlite:///<instance>/jobs.sqlite3; redis://... for several machines
    "JOBS_QUEUE_NAME": "roundabout",
    "JOBS_WORKER_THREADS": 2,  # threads per `flask worker` process
    "JOBS_SCHEDULE": {},  # job name -> seconds between runs (0 switches a job off)
}
MODES = ("thread", "worker", "inline")


def init_app(app: Flask) -> None:
    from forum.jobs import builtin  # noqa: F401  (registers the periodic jobs)
    from forum.jobs.cli import worker_command

    for key, value in CONFIG_DEFAULTS.items():
        app.config.setdefault(key, value)
    mode = app.config["JOBS_MODE"]
    if mode not in MODES:
        from forum.config import ConfigurationError

        raise ConfigurationError(f"JOBS_MODE must be one of {', '.join(MODES)}; got {mode!r}")
    app.cli.add_command(worker_command)
    app.extensions["jobs"] = Jobs(app)

    if mode == "thread":

        @app.before_request
        def start_background_jobs() -> None:
            app.extensions["jobs"].start_in_process()  # once per process; a pid check after that

    @app.after_request
    def hand_over_queued_mail(response: Response) -> Response:
        if extensions.db.session.info.pop("mail_queued", False) and app.config["MAIL_SEND_AFTER_REQUEST"]:
            app.extensions["jobs"].mail_queued(response)
        return response


class Jobs:
    """The app's side of the queue: created lazily, so a web process that never queues never opens it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._huey: Any = None
        self._in_process: Any = None

    @property
    def huey(self) -> Any:
        if self._huey is None:
            from forum.jobs.queue import make_huey

            self._huey = make_huey(self.app)
        return self._huey

    @property
    def mode(self) -> str:
        return str(self.app.config["JOBS_MODE"])

    def mail_queued(self, response: Response) -> None:
        """A request queued mail: send it without the request (or its worker) waiting on SMTP."""
        if self.mode == "inline":
            app = self.app

            def send() -> None:
                from forum.mail.services import send_pending

                with app.app_context():
                    send_pending()

            response.call_on_close(send)
            return
        if self.mode == "thread":
            self.start_in_process()
        try:
            self.huey.deliver_mail()
        except Exception:  # the queue is unreachable: the periodic mail job sends it later
            log.exception("Could not enqueue mail delivery; the next periodic run sends it")

    def start_in_process(self) -> None:
        from forum.jobs.queue import InProcessWorker

        if self._in_process is None:
            self._in_process = InProcessWorker(self.huey)
        self._in_process.ensure_started()

    def stop_in_process(self) -> None:
        if self._in_process is not None:
            self._in_process.stop()
