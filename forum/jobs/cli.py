"""`flask worker`: run the background and periodic jobs; `flask worker status`: what they did."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from forum.extensions import db


@click.group("worker", cls=AppGroup, invoke_without_command=True)
@click.option("--threads", type=int, default=None, help="Worker threads (default JOBS_WORKER_THREADS).")
@click.pass_context
@with_appcontext
def worker_command(context: click.Context, threads: int | None) -> None:
    """Run the background and periodic jobs until stopped (SIGINT/SIGTERM); `status` shows them."""
    if context.invoked_subcommand is None:
        run_worker(threads)


def run_worker(threads: int | None) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    huey = app.extensions["jobs"].huey
    threads = threads or int(app.config["JOBS_WORKER_THREADS"])
    logging.getLogger("huey").setLevel(logging.INFO)
    click.echo(
        f"Worker: {threads} thread(s), queue {app.config['JOBS_QUEUE_NAME']!r} ({type(huey).__name__})."
    )
    consumer = huey.create_consumer(workers=threads, worker_type="thread", periodic=True)
    consumer.run()


@worker_command.command("status")
def status_command() -> None:
    """Queue lengths, the last run of each periodic job, mail and search backlogs, failures."""
    from forum.jobs.periodic import REGISTRY, interval_of, last_runs
    from forum.jobs.queue import queue_lengths
    from forum.mail.models import OutgoingMail
    from forum.mail.services import MAX_ATTEMPTS, pending_count

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    jobs = app.extensions["jobs"]
    click.echo(f"Mode: {jobs.mode}; queue {app.config['JOBS_QUEUE_NAME']!r}")
    try:
        lengths = queue_lengths(jobs.huey)
        click.echo(f"Queue: {lengths['pending']} waiting, {lengths['scheduled']} scheduled")
    except Exception as error:  # Redis down: say so, and still show what the database knows
        click.echo(f"Queue: unreachable ({type(error).__name__}: {error})")
    given_up = db.session.scalar(
        select(func.count())
        .select_from(OutgoingMail)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts >= MAX_ATTEMPTS)
    )
    click.echo(f"Mail outbox: {pending_count()} waiting, {given_up or 0} given up")
    runs = last_runs()
    click.echo("Periodic jobs:")
    for name, job in sorted(REGISTRY.items()):
        interval = interval_of(app, job)
        every = "off" if interval <= 0 else f"every {interval}s"
        run = runs.get(name)
        if run is None:
            last = "never run"
        else:
            last = f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC on {run.worker}: {run.outcome} ({run.detail})"
        click.echo(f"  {name:<22} {every:<14} {last}")
