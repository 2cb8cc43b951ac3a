"""Declarative base shared by every feature's models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

MAX_ID = 2**31 - 1  # ids are 32-bit integers (PostgreSQL INTEGER): larger numbers name nothing

# Stable constraint names, so Alembic can drop and alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


SQLITE_BUSY_TIMEOUT_MS = 15_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: object, connection_record: object) -> None:
    """SQLite: write-ahead log and a busy timeout on every connection (issue #13).

    WAL lets readers go on while one process writes and gives a backup one consistent
    snapshot; the timeout makes a second writer wait for the lock instead of failing at
    once with "database is locked" when several workers post at the same moment.
    """
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
            cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind the database stores)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and always read them back aware.

    SQLite has no time zones, so naive values come back from it; this type makes both
    backends return the same aware UTC values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # One registry carries both, as SQLAlchemy 2.1 wants when Flask-SQLAlchemy subclasses Base.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


def refresh_planner_statistics(connection: Connection) -> None:
    """ANALYZE on PostgreSQL after bulk loads, so the planner knows how big the tables are.

    After an import the statistics still describe empty tables; each batch of a search
    reindex is then planned as a full join, and the reindex grows with the square of the forum.
    SQLite plans without statistics of this kind, so there it does nothing.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE")
