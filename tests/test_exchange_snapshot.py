"""A full export of a live forum is one consistent snapshot (issue #13).

Members keep joining and voting while `flask exchange export --full` runs; the file must
restore (every record refers only to records before it, every count in its meta line
matches) on SQLite, where each query used to see a different moment, and PostgreSQL.
"""

from __future__ import annotations

import threading

from sqlalchemy import select

from forum.auth.services import register_user
from forum.boards.models import Post, Thread
from forum.extensions import db
from forum.qa import services as qa
from tests.factories import PASSWORD
from tests.factories_exchange import empty_database, make_corpus, read_records, run


def _keep_writing(app, stop: threading.Event, written: list[int]) -> None:  # noqa: ANN001
    """Members joining and voting, as fast as the database takes it, until told to stop.

    Each commit adds a user (early in the file) and a vote by them (late in the file): a
    backup that saw the vote but not the user cannot be restored.
    """
    with app.app_context():
        post_ids = list(db.session.scalars(select(Post.id).where(Post.position > 1).order_by(Post.id)))
        while not stop.is_set():
            number = len(written)
            newcomer = register_user(f"during{number}", f"during{number}@example.org", PASSWORD)
            qa.set_helpful(
                db.session.get(Post, post_ids[number % len(post_ids)]), actor=newcomer, helpful=True
            )
            db.session.commit()
            written.append(newcomer.id)
        db.session.remove()


def test_full_export_under_writes_is_a_snapshot_that_restores(app, runner, tmp_path):
    corpus = make_corpus(tmp_path, users=30, threads=150)
    assert run(runner, "import", corpus).exit_code == 0
    backup = tmp_path / "backup.jsonl"
    stop, written = threading.Event(), []
    writer = threading.Thread(target=_keep_writing, args=(app, stop, written))
    writer.start()
    try:
        while len(written) < 3:  # the writer is going
            stop.wait(0.01)
        before = len(written)
        result = run(runner, "export", backup, "--full")
        during = len(written) - before
    finally:
        stop.set()
        writer.join(timeout=60)
    assert result.exit_code == 0, result.output
    assert during > 0, "no write landed while exporting; the test proves nothing"
    records = read_records(backup)
    meta = records[0]
    for kind, count in meta["counts"].items():
        assert sum(record["type"] == kind for record in records[1:]) == count, kind
    empty_database()
    restored = run(runner, "import", backup)
    assert restored.exit_code == 0, restored.output
    assert db.session.scalar(select(db.func.count()).select_from(Thread)) == meta["counts"]["thread"]
