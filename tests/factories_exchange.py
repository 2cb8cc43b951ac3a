"""Helpers for the exchange tests: generated corpora, CLI runs and an emptied database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, text

from forum.extensions import db

MAKE_CORPUS = Path(__file__).resolve().parent.parent / "bench" / "make_corpus.py"
CONTENT_TABLES = ("users", "boards", "threads", "posts", "wiki_pages", "wiki_revisions", "audit_log")


def make_corpus(directory: Path, *, users: int = 50, threads: int = 60, wiki_pages: int = 5, seed: int = 1,
                name: str | None = None) -> Path:  # fmt: skip
    """A corpus from the generator (the same one the benchmarks use)."""
    path = directory / (name or f"corpus-{users}-{threads}-{seed}.jsonl")
    subprocess.run(
        [sys.executable, str(MAKE_CORPUS), "--users", str(users), "--threads", str(threads),
         "--wiki-pages", str(wiki_pages), "--seed", str(seed), "--out", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def write_records(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def read_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run(runner: Any, *args: str) -> Any:
    """A `flask exchange ...` command; the test's session then sees what it committed."""
    result = runner.invoke(args=["exchange", *map(str, args)])
    db.session.expire_all()
    return result


def row_counts() -> dict[str, int]:
    return {
        name: db.session.scalar(select(func.count()).select_from(db.metadata.tables[name])) or 0
        for name in CONTENT_TABLES
    }


def empty_database() -> None:
    """Delete every row (children first), as if restoring into a new database."""
    db.session.rollback()
    if db.session.get_bind().dialect.name == "postgresql":
        tables = ", ".join(f'"{table.name}"' for table in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(delete(table))
    db.session.commit()
