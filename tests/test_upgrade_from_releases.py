"""Every release's database upgrades to main, with its data (issue #13).

Each landed release shipped the migrations up to its head. A database built by those files and
filled the way that release wrote rows is upgraded by today's migrations; then the forum must
show the same members, threads, posts and wiki pages, log the member in, find the thread in
search, and match the models. Migrations that shipped are never edited: where the repository's
history is here, the files at each release must equal today's, byte for byte.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    select,
)

from forum import create_app
from forum.auth.passwords import hash_password
from forum.counters.rows import find_drift
from forum.extensions import db
from forum.jobs.periodic import run_due
from tests.conftest import make_test_config

ROOT = Path(__file__).resolve().parent.parent
# (landed commit, its migration head): stops 9, 10 and 11 of round 1 (2026-11-23 to 2026-12-01).
RELEASES = [
    ("f15a209", "0011_unread_from_rows"),
    ("b343c77", "0011_unread_from_rows"),
    ("ac59850", "0011_unread_from_rows"),
]
PASSWORD = "an old member's password"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).replace(tzinfo=None)


def _git(*args: str) -> str | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


@pytest.mark.parametrize("commit, head", RELEASES)
def test_shipped_migrations_are_never_edited(commit, head):
    listing = _git("ls-tree", "--name-only", commit, "migrations/versions/")
    if listing is None:
        pytest.skip(f"the repository's history (commit {commit}) is not in this checkout")
    shipped = [line for line in listing.splitlines() if line.endswith(".py")]
    assert any(head in name for name in shipped)
    for name in shipped:
        then = _git("show", f"{commit}:{name}")
        assert then is not None and then == (ROOT / name).read_text(), f"{name} changed since {commit}"


@pytest.fixture
def release_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'release.db'}"
    return request.getfixturevalue("postgres").create_database("release")


@pytest.mark.parametrize("head", sorted({head for _commit, head in RELEASES}))
def test_a_filled_release_database_upgrades_with_its_data(tmp_path, release_database_url, head):
    app = create_app(make_test_config(tmp_path, release_database_url, WTF_CSRF_ENABLED=False))
    with app.app_context():
        upgrade(revision=head)
        password_hash = hash_password(PASSWORD)
        db.session.remove()
        db.engine.dispose()
    _fill_as_the_release_did(release_database_url, password_hash)

    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        assert find_drift() == []
        db.session.remove()
    client = app.test_client()
    board_page = client.get("/b/broadband").get_data(as_text=True)
    assert "Router drops wifi every evening" in board_page
    thread_page = client.get("/t/1").status_code, client.get("/t/1/router-drops-wifi-every-evening")
    assert thread_page[0] == 301 and thread_page[1].status_code == 200
    text = thread_page[1].get_data(as_text=True)
    assert "It drops at 8 pm" in text and "Turn off band steering" in text
    assert "Resetting the router" in client.get("/wiki/resetting-the-router").get_data(as_text=True)
    login = client.post("/login", data={"login": "old_member", "password": PASSWORD})
    assert login.status_code == 302, login.get_data(as_text=True)[:500]
    assert "old_member" in client.get("/settings").get_data(as_text=True)
    # The upgraded forum's index is empty: a worker's first round of periodic jobs notices
    # (search-consistency) and rebuilds it, with nobody running `flask search reindex`.
    with app.app_context():
        assert "search-consistency" in run_due(app)
    results = client.get("/search?q=router+wifi").get_data(as_text=True)
    first_result = results.split('class="result-title"')[1]  # both words: ranked above the wiki page
    assert 'href="/t/1/router-drops-wifi-every-evening' in first_result
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _fill_as_the_release_did(url: str, password_hash: str) -> None:
    """Rows as the release wrote them: every NOT NULL column without a default gets a value of
    its type, the columns that matter get real ones (read from the release's own schema)."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    rows: list[tuple[str, dict[str, Any]]] = [
        ("users", dict(id=1, username="old_member", email="old@example.org", password_hash=password_hash,
                       role="member", post_count=1, thread_count=1)),
        ("users", dict(id=2, username="old_helper", email="helper@example.org", password_hash=password_hash,
                       role="member", post_count=1, thread_count=0)),
        ("boards", dict(id=1, name="Broadband", slug="broadband", description="Home internet", position=1,
                        kind="discussion", thread_count=1, post_count=2, last_thread_id=None)),
        ("threads", dict(id=1, board_id=1, author_id=1, title="Router drops wifi every evening",
                         slug="router-drops-wifi-every-evening", post_count=2, reply_count=1,
                         last_poster_id=2, last_post_id=None, created_at=NOW, last_post_at=NOW)),
        ("posts", dict(id=1, thread_id=1, author_id=1, position=1, body_source="It drops at 8 pm.",
                       body_html="<p>It drops at 8 pm.</p>", created_at=NOW)),
        ("posts", dict(id=2, thread_id=1, author_id=2, position=2, body_source="Turn off band steering.",
                       body_html="<p>Turn off band steering.</p>", created_at=NOW)),
        ("wiki_pages", dict(id=1, board_id=1, title="Resetting the router", slug="resetting-the-router",
                            created_by_id=1, current_revision_id=None, created_at=NOW)),
        ("wiki_revisions", dict(id=1, page_id=1, author_id=1, number=1, title="Resetting the router",
                                body_source="Hold the button for ten seconds.",
                                body_html="<p>Hold the button for ten seconds.</p>", created_at=NOW)),
    ]  # fmt: skip
    updates = [
        ("boards", 1, {"last_thread_id": 1}),
        ("threads", 1, {"last_post_id": 2}),
        ("wiki_pages", 1, {"current_revision_id": 1}),
    ]
    with engine.begin() as connection:
        for name, values in rows:
            table = metadata.tables[name]
            connection.execute(insert(table), [_complete(table, values)])
        for name, row_id, values in updates:
            table = metadata.tables[name]
            known = {key: value for key, value in values.items() if key in table.c}
            if known:
                connection.execute(table.update().where(table.c.id == row_id).values(**known))
        if engine.dialect.name == "postgresql":
            for name in {name for name, _values in rows}:
                connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT MAX(id) FROM {name}))"
                )
    # The revision counter of the page, where the release had one.
    if "revision_count" in metadata.tables["wiki_pages"].c:
        with engine.begin() as connection:
            table = metadata.tables["wiki_pages"]
            connection.execute(table.update().values(revision_count=1))
    with engine.connect() as connection:
        assert connection.execute(select(metadata.tables["posts"].c.id)).all() == [(1,), (2,)]
    engine.dispose()


def _complete(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    row = {key: value for key, value in values.items() if key in table.c}
    for column in table.columns:
        if column.name in row or column.nullable or column.server_default is not None:
            continue
        if column.primary_key and isinstance(column.type, Integer):
            continue
        row[column.name] = _value_of(column.type)
    return row


def _value_of(column_type: Any) -> Any:
    if isinstance(column_type, Boolean):
        return False
    if isinstance(column_type, DateTime):
        return NOW
    if isinstance(column_type, Integer):
        return 0
    if isinstance(column_type, String | Text):
        return ""
    return None
