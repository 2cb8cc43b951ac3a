"""Periodic jobs: what runs every minute, hour or day, and the claim that runs it once.

Every worker (an in-process thread or `flask worker` on any machine) ticks once a minute
and runs each job whose period has started. The period's row in `job_runs` is inserted
before the job runs; the table's unique key lets only one worker insert it, so a job runs
once per period however many workers and machines tick.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError

from forum.db import utcnow
from forum.extensions import db
from forum.jobs.models import JobRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: Callable[[], str]  # does the work in an app context; returns a one-line summary
    every: int  # default interval in seconds; JOBS_SCHEDULE overrides it, 0 switches it off
    description: str


REGISTRY: dict[str, PeriodicJob] = {}


def periodic_job(name: str, every: int, description: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Register a function as a periodic job (features call this from their own modules)."""

    def register(function: Callable[[], str]) -> Callable[[], str]:
        REGISTRY[name] = PeriodicJob(name, function, every, description)
        return function

    return register


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def interval_of(app: Flask, job: PeriodicJob) -> int:
    return int(app.config["JOBS_SCHEDULE"].get(job.name, job.every))


def run_due(app: Flask, now: datetime | None = None) -> list[str]:
    """Run every job whose current period nobody has claimed yet; return the names run here."""
    now = now or utcnow()
    ran = []
    for job in list(REGISTRY.values()):
        interval = interval_of(app, job)
        if interval <= 0:
            continue
        period = int(now.timestamp()) // interval
        run = _claim(job.name, period)
        if run is None:
            continue
        ran.append(job.name)
        try:
            detail = job.run()
        except Exception as error:  # one failing job never stops the others
            db.session.rollback()
            log.exception("Periodic job %s failed", job.name)
            _finish(run.id, "failed", f"{type(error).__name__}: {error}")
        else:
            _finish(run.id, "ok", detail)
    return ran


def _claim(name: str, period: int) -> JobRun | None:
    run = JobRun(name=name, period=period, worker=worker_name()[:120])
    db.session.add(run)
    try:
        db.session.commit()
    except (IntegrityError, OperationalError):  # another worker has this period (or the DB is busy)
        db.session.rollback()
        return None
    log.info("Periodic job %s (period %s) started by %s", name, period, run.worker)
    return run


def _finish(run_id: int, outcome: str, detail: str) -> None:
    run = db.session.get(JobRun, run_id)
    if run is None:
        return
    run.outcome = outcome
    run.detail = detail[:500]
    run.finished_at = utcnow()
    db.session.commit()
    level = logging.INFO if outcome == "ok" else logging.WARNING
    log.log(level, "Periodic job %s %s: %s", run.name, outcome, run.detail)


def last_runs() -> dict[str, JobRun]:
    """The newest run of each job, for `flask worker status`."""
    newest: dict[str, JobRun] = {}
    for run in db.session.scalars(select(JobRun).order_by(JobRun.started_at.desc()).limit(500)):
        newest.setdefault(run.name, run)
    return newest


def forget_old_runs(days: int = 30) -> int:
    return db.session.execute(
        delete(JobRun).where(JobRun.started_at < utcnow() - timedelta(days=days))
    ).rowcount
