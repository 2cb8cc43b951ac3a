"""The hourly job that keeps /response current (the worker runs it; `flask known figures` too)."""

from __future__ import annotations

from forum.extensions import db
from forum.jobs.periodic import periodic_job
from forum.known.response import compute_figures


@periodic_job("response-figures", 3600, "recompute the company's response figures (/response)")
def response_figures() -> str:
    cells = compute_figures()
    db.session.commit()
    return f"{cells} month × board cells"
