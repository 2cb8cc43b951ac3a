"""Test fixtures: a new app per test on a real database (SQLite file or PostgreSQL).

Every test that takes `app` (or `client`) runs twice: on a fresh SQLite file and on
PostgreSQL. PostgreSQL comes from FORUM_TEST_POSTGRES_URL or a server at 127.0.0.1:5432
(user postgres, database test); each test process (each pytest-xdist worker too) creates its
own database there, builds the schema once and empties the tables after every test.
Without a server those runs skip, saying why.

Speed (issue #20): the SQLite schema is built once per process into a template file that each
test copies (create_all on a new file costs a second: every DDL statement is synced to disk);
PostgreSQL tables are emptied with DELETE and a sequence restart (a tenth of TRUNCATE's cost);
fixtures that only read a large forum build it once per backend (`shared_data`).
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import re
import shutil
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from forum import create_app
from forum.extensions import db

POSTGRES_ADMIN_URL = os.environ.get(
    "FORUM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET_KEY = "test-secret-key-that-is-long-enough-for-production-checks"
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1}


def _postgres_reason() -> str | None:
    """None if PostgreSQL answers, else why its tests skip."""
    url = make_url(POSTGRES_ADMIN_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=2):
            pass
    except OSError as error:
        return f"no PostgreSQL server at {url.host}:{url.port or 5432} ({error}); set FORUM_TEST_POSTGRES_URL"
    return None


POSTGRES_SKIP_REASON = _postgres_reason()


SERIAL_COLUMNS = """
    SELECT pg_get_serial_sequence(quote_ident(table_name), column_name), table_name, column_name
    FROM information_schema.columns
    WHERE table_schema = 'public' AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL
"""


class PostgresDatabase:
    """A throwaway database for this test run, dropped at the end."""

    def __init__(self) -> None:
        self.name = f"roundabout_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self.admin_url = make_url(POSTGRES_ADMIN_URL)
        self.url = self.admin_url.set(database=self.name).render_as_string(hide_password=False)
        self.schema_ready = False
        self.sequences: list[tuple[str, str, str]] = []  # (sequence, table, column)
        self._admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.name}"'))

    def create_database(self, suffix: str) -> str:
        """Another empty database (for migration tests); dropped with this one."""
        name = f"{self.name}_{suffix}"
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self._extra = [*getattr(self, "_extra", []), name]
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def build_schema(self) -> None:
        """create_all once; remember the sequences that `empty` restarts."""
        db.create_all()
        with db.engine.connect() as connection:
            self.sequences = [tuple(row) for row in connection.execute(text(SERIAL_COLUMNS))]
        self.schema_ready = True

    def empty(self) -> None:
        """Delete every row and restart the ids: like TRUNCATE ... RESTART IDENTITY, ten times faster.

        Foreign-key triggers are off for the transaction (session_replication_role), so the
        order of the deletes does not matter (threads and posts point at each other).
        """
        statements = ["SET LOCAL session_replication_role = replica"]
        statements += [f'DELETE FROM "{table.name}"' for table in db.metadata.sorted_tables]
        statements += [f"ALTER SEQUENCE {sequence} RESTART" for sequence, _, _ in self.sequences]
        with db.engine.begin() as connection:
            connection.exec_driver_sql(";\n".join(statements))

    def drop(self) -> None:
        with self._admin.connect() as connection:
            for name in [self.name, *getattr(self, "_extra", [])]:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabase]:
    if POSTGRES_SKIP_REASON:
        pytest.skip(POSTGRES_SKIP_REASON)
    database = PostgresDatabase()
    yield database
    database.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql" and POSTGRES_SKIP_REASON:
        pytest.skip(POSTGRES_SKIP_REASON)
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'forum.db'}"
    return request.getfixturevalue("postgres").url


def make_test_config(tmp_path: Path, database_url: str, **overrides: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SEARCH_INDEX_DIR": str(tmp_path / "search-index"),
        "BASE_URL": "http://forum.test",
        "SERVER_NAME": None,
        "RATELIMIT_ENABLED": False,
        "JOBS_MODE": "inline",  # no queue or consumer thread; mail goes out after the response
        **FAST_ARGON2,
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config(tmp_path: Path, database_url: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Tests can change this dict before asking for `app`."""
    config = make_test_config(tmp_path, database_url)
    if request.node.get_closest_marker("antispam") is None:
        # Factories make fresh accounts that post in quick succession; the new-account posting
        # rates are tested on their own (tests marked `antispam`).
        config.update(NEW_ACCOUNT_REPLY_INTERVAL=0, NEW_ACCOUNT_THREAD_INTERVAL=0)
    if request.node.get_closest_marker("post_thresholds") is None:
        # Aged factory accounts count as established without a history of real posts (a faked
        # post count would break the counter invariant checked after every test).
        config.update(NEW_ACCOUNT_POSTS=0, WIKI_MIN_POSTS=0)
    if "smtp_server" in request.fixturenames:
        server: SMTPServer = request.getfixturevalue("smtp_server")
        config.update(MAIL_SERVER=server.host, MAIL_PORT=server.port, MAIL_SENDER="Forum <forum@forum.test>")
    return config


class SMTPServer:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=_free_port())
        self.host = "127.0.0.1"
        self.port = self.controller.port

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def messages_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    @staticmethod
    def html_of(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    """Ask for it (it configures the app's MAIL_SERVER): every sent mail lands in .messages."""
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with every table, built once per test process."""
    from forum import models  # noqa: F401  (registers every table)

    path = tmp_path_factory.mktemp("schema") / "schema.db"
    engine = create_engine(f"sqlite:///{path}")
    db.metadata.create_all(engine)
    engine.dispose()
    return path


def _sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


@pytest.fixture
def app(app_config: dict[str, Any], backend: str, request: pytest.FixtureRequest) -> Iterator[Flask]:
    sqlite_file = _sqlite_file(app_config["SQLALCHEMY_DATABASE_URI"]) if backend == "sqlite" else None
    if sqlite_file is not None and not sqlite_file.exists():
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), sqlite_file)
    application = create_app(app_config)
    with application.app_context():
        if backend == "postgresql":
            postgres: PostgresDatabase = request.getfixturevalue("postgres")
            if not postgres.schema_ready:
                postgres.build_schema()
        elif sqlite_file is None or sqlite_file.stat().st_size == 0:
            db.create_all()
        # The test body runs inside this app context, so factories and queries just work;
        # each request through the client still gets its own context and session.
        yield application
        db.session.remove()
        try:
            if request.node.get_closest_marker("counter_drift") is None:
                _check_counters(request)
        finally:
            # Even when the check fails: the next test must start on empty tables.
            if backend == "postgresql":
                postgres.empty()
            db.engine.dispose()


def _check_counters(request: pytest.FixtureRequest) -> None:
    """The counter invariant after every test: each stored counter equals its recount (issue #13).

    One SELECT per counter, in the test's own database; a test that breaks a counter on
    purpose is marked `counter_drift`.
    """
    from forum.counters.rows import find_drift

    drift = find_drift(limit_per_counter=5)
    db.session.remove()
    if drift:
        pytest.fail("stored counters differ from a recount of the rows after this test:\n"
                    + "\n".join(f"  {each}" for each in drift), pytrace=False)  # fmt: skip


class Snapshots:
    """Forums that read-only tests share, built once per backend and restored for each test.

    A snapshot is the database's rows plus the search index directory. On SQLite the rows are
    a copy of the database file; on PostgreSQL they are copies of the tables in a schema of
    their own, inserted back (foreign-key triggers off) with the sequences where they were.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.results: dict[tuple[str, str], dict[str, tuple[type, int]]] = {}

    def take(self, key: tuple[str, str], app: Flask, sqlite_file: Path | None) -> None:
        folder = self._folder(key)
        folder.mkdir()
        if sqlite_file is not None:
            with sqlite3.connect(sqlite_file) as source, sqlite3.connect(folder / "forum.db") as target:
                source.backup(target)
            source.close()
            target.close()
        else:
            schema = self._schema(key)
            statements = [f'CREATE SCHEMA "{schema}"']
            statements += [
                f'CREATE TABLE "{schema}"."{table.name}" AS TABLE "{table.name}"'
                for table in db.metadata.sorted_tables
            ]
            with db.engine.begin() as connection:
                connection.exec_driver_sql(";\n".join(statements))
        index = Path(app.config["SEARCH_INDEX_DIR"])
        if index.exists():
            shutil.copytree(index, folder / "search-index")

    def restore(
        self,
        key: tuple[str, str],
        app: Flask,
        sqlite_file: Path | None,
        sequences: list[tuple[str, str, str]],
    ) -> None:
        folder = self._folder(key)
        db.session.remove()
        if sqlite_file is not None:
            db.engine.dispose()
            shutil.copyfile(folder / "forum.db", sqlite_file)
        else:
            schema = self._schema(key)
            statements = ["SET LOCAL session_replication_role = replica"]
            statements += [
                f'INSERT INTO "{table.name}" SELECT * FROM "{schema}"."{table.name}"'
                for table in db.metadata.sorted_tables
            ]
            with db.engine.begin() as connection:
                connection.exec_driver_sql(";\n".join(statements))
                for sequence, table, column in sequences:  # ids go on from the snapshot's largest
                    connection.exec_driver_sql(
                        f'SELECT setval(\'{sequence}\', COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)'
                    )
        index = Path(app.config["SEARCH_INDEX_DIR"])
        shutil.rmtree(index, ignore_errors=True)
        if (folder / "search-index").exists():
            shutil.copytree(folder / "search-index", index)

    def _folder(self, key: tuple[str, str]) -> Path:
        return self.directory / "-".join(key)

    @staticmethod
    def _schema(key: tuple[str, str]) -> str:
        return "snapshot_" + re.sub(r"\W", "_", key[0])


@pytest.fixture(scope="session")
def _snapshots(tmp_path_factory: pytest.TempPathFactory) -> Snapshots:
    return Snapshots(tmp_path_factory.mktemp("snapshots"))


@pytest.fixture
def shared_data(
    app: Flask,
    backend: str,
    app_config: dict[str, Any],
    _snapshots: Snapshots,
    request: pytest.FixtureRequest,
) -> Callable[[str, Callable[[], dict[str, Any]]], dict[str, Any]]:
    """`shared_data("busy forum", build)`: build's rows once per backend, a copy for every other test.

    `build()` makes rows through the services, commits, and returns a dict of model objects;
    each test gets the same objects loaded fresh. Only for fixtures whose tests change little
    (the copy is taken before the test body runs, so what a test adds is not shared).
    """
    sqlite_file = _sqlite_file(app_config["SQLALCHEMY_DATABASE_URI"]) if backend == "sqlite" else None
    sequences = request.getfixturevalue("postgres").sequences if backend == "postgresql" else []

    def use(name: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        key = (name, backend)
        if key in _snapshots.results:
            _snapshots.restore(key, app, sqlite_file, sequences)
        else:
            built = build()
            db.session.commit()
            _snapshots.take(key, app, sqlite_file)
            _snapshots.results[key] = {name: (type(obj), obj.id) for name, obj in built.items()}
        return {name: db.session.get(model, id_) for name, (model, id_) in _snapshots.results[key].items()}

    return use


class ForumClient(FlaskClient):
    """A test client that adds a valid CSRF token to every state-changing request.

    It signs the token from the client's own session exactly as Flask-WTF does, so tests
    need not scrape forms; pass `csrf=False` to send a request without one.
    """

    def open(self, *args: Any, csrf: bool = True, **kwargs: Any) -> Any:
        method = (kwargs.get("method") or "GET").upper()
        if csrf and method in ("POST", "PUT", "PATCH", "DELETE"):
            token = self.csrf_token()
            data = kwargs.get("data")
            if isinstance(data, dict) and "csrf_token" not in data:
                kwargs["data"] = {**data, "csrf_token": token}
            elif data is None and kwargs.get("json") is None:
                kwargs["data"] = {"csrf_token": token}
            headers = dict(kwargs.get("headers") or {})
            headers.setdefault("X-CSRFToken", token)
            kwargs["headers"] = headers
        # Run the request in an empty context: Flask would otherwise reuse the test's app
        # context, sharing `g` (the logged-in user) and the database session between requests.
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            # The request changed rows through its own session: let the test see them.
            db.session.expire_all()
        return response

    def csrf_token(self) -> str:
        app = self.application
        with self.session_transaction() as session:
            if "csrf_token" not in session:
                session["csrf_token"] = hashlib.sha1(os.urandom(64)).hexdigest()
            raw = session["csrf_token"]
        serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
        return str(serializer.dumps(raw))


@pytest.fixture
def client(app: Flask) -> ForumClient:
    app.test_client_class = ForumClient
    return app.test_client()  # type: ignore[return-value]


@pytest.fixture
def make_client(app: Flask) -> Any:
    """More browsers: each call gives a client with its own cookies."""
    app.test_client_class = ForumClient

    def factory() -> ForumClient:
        return app.test_client()  # type: ignore[return-value]

    return factory


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        return "\n\n".join(f"{i}. {s}" for i, s in enumerate(self.statements, start=1))


@pytest.fixture
def count_queries(app: Flask) -> Any:
    """`with count_queries() as counter:` counts the SQL statements run inside."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(engine, "before_cursor_execute", counter)

    return counting


def csrf_token_in(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
