"""`flask exchange export`: the whole forum in the forum data format, public or full.

Records are written in file order (users, boards, threads each followed by its replies,
wiki pages, then the other types), sorted by id, with fixed key order and whole-second UTC
timestamps, so exporting the same forum twice gives the same bytes. The meta line counts
the records, so the body is written to a temporary file first and copied after the meta line.
Uploaded files go into the files folder beside it (forum.exchange.files), before the file
that names them replaces the old one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from forum.exchange.fields import RecordError
from forum.exchange.files import files_folder, remove_other_files, write_files
from forum.exchange.importer import FORMAT_NAME, FORMAT_VERSION
from forum.extensions import db

EXPORT_BATCH = 500


def batched(statement: Any, key: Any) -> Iterator[Any]:
    """Objects of `statement` ordered by their id `key`, in keyset pages so memory stays flat."""
    last = 0
    while True:
        rows = db.session.scalars(statement.where(key > last).order_by(key).limit(EXPORT_BATCH)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        db.session.expunge_all()


def _begin_snapshot() -> None:
    """One read transaction for every query, so a backup of a live forum is consistent.

    PostgreSQL: REPEATABLE READ. SQLite: Python's driver starts no transaction for a SELECT,
    so each query saw the database as it was then, and replies written meanwhile pointed at
    threads the file did not have (issue #13: 3 of 6 backups under load failed to restore).
    An explicit BEGIN makes the first read fix one snapshot for all; with WAL (the default,
    forum.db) writers carry on meanwhile.
    """
    db.session.rollback()
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif db.session.get_bind().dialect.name == "sqlite":
        db.session.connection().exec_driver_sql("BEGIN")


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def export_file(path: str | os.PathLike[str], *, full: bool) -> dict[str, int]:
    """Write the forum to `path` (public: what any visitor can see; full: a backup). Returns counts."""
    from forum.exchange.records import RECORD_TYPES

    target = Path(path)
    counts: dict[str, int] = {}
    keys: set[str] = set()  # the files the records name
    _begin_snapshot()
    with tempfile.TemporaryFile("w+", encoding="utf-8", dir=target.parent or None) as body:
        for record_type in RECORD_TYPES.values():
            if record_type.export is None:
                continue
            for record in record_type.export(full):
                counts[record["type"]] = counts.get(record["type"], 0) + 1
                body.write(_line(record))
                if record_type.files is not None:
                    keys.update(record_type.files(record))
        meta = {
            "type": "meta", "format": FORMAT_NAME, "version": FORMAT_VERSION,
            "generator": "roundabout flask exchange export", "kind": "full" if full else "public",
            "counts": {name: counts.get(name, 0) for name in RECORD_TYPES},
        }  # fmt: skip
        try:
            write_files(files_folder(target), keys, private=full)
        except RecordError:
            db.session.rollback()  # end the read transaction; nothing was written
            raise
        body.seek(0)
        partial = target.with_name(target.name + ".partial")
        with open(partial, "w", encoding="utf-8") as out:
            out.write(_line(meta))
            shutil.copyfileobj(body, out, 1024 * 1024)
        if full:
            partial.chmod(0o600)  # a backup holds password hashes and e-mail addresses
        partial.replace(target)
    remove_other_files(files_folder(target), keys)
    db.session.rollback()  # end the read transaction (and its snapshot)
    return counts
