"""Runs of periodic jobs: one row per job and period, which is what makes a run happen once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from forum.db import utcnow
from forum.extensions import db


class JobRun(db.Model):
    """A periodic job's run for one period; the unique key is the cross-machine lock."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("name", "period", name="uq_job_runs_name_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    # The period's number: seconds since the epoch divided by the job's interval.
    period: Mapped[int] = mapped_column()
    worker: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(10), default="running")  # running, ok, failed
    detail: Mapped[str] = mapped_column(String(500), default="")
