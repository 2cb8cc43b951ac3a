"""The hourly job that keeps /response and the register's 7-day counts current (the worker
runs it; `flask known figures` too)."""

from __future__ import annotations

from forum.extensions import db
from forum.jobs.periodic import periodic_job
from forum.known.response import compute_figures
from forum.known.services import recount_recent_affected


@periodic_job(
    "response-figures",
    3600,
    "recompute the company's response figures (/response) and the register's 7-day counts",
)
def response_figures() -> str:
    cells = compute_figures()
    issues = recount_recent_affected()  # drops the reports that are now older than 7 days
    db.session.commit()
    return f"{cells} month × board cells, {issues} known issues' 7-day counts"
