"""The daily cleanup of uploads never posted (the worker runs it; `flask uploads cleanup` too)."""

from __future__ import annotations

from forum.extensions import db
from forum.jobs.periodic import periodic_job
from forum.uploads import services


@periodic_job("upload-cleanup", 3600, "forget uploads never posted after a day, and their files")
def upload_cleanup() -> str:
    forgotten, deleted = services.cleanup()
    db.session.commit()
    return f"forgot {forgotten} upload(s), deleted {deleted} file(s)"
