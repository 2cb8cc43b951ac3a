"""The converters' workbench: records go into an SQLite file as they are read, then come out in
the order the forum data format needs (users, categories, each thread with its replies, then
the lifeboat records), so memory stays flat whatever the size of the source.

The state file lives beside the output (OUT.jsonl.lifeboat-state). Every record is stored
under its kind and id with INSERT OR REPLACE, and each finished stage of a converter is
noted, so a run that was interrupted starts again from the first unfinished stage without
duplicating anything. The output is written to OUT.jsonl.partial and renamed when complete.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from forum.exchange.fields import IdSet

MAX_BODY = 1_000_000  # characters: the format's limit for a post body
MAX_TITLE = 200
GHOST_NAME = "former_member"
FORMAT = {"type": "meta", "format": "roundabout-corpus", "version": 1}
USERNAME_CHARS = re.compile(r"[^a-z0-9_]+")
SLUG_CHARS = re.compile(r"[^a-z0-9]+")
LIFEBOAT_KINDS = ("imported_member", "origin", "thread_duplicate", "old_url")
COMMIT_EVERY = 2000


class ConversionError(Exception):
    """The source cannot be converted: the message says what and where (the CLI exits non-zero)."""


class Oversized(ConversionError):
    """One post is over the format's size limit (--skip-oversized leaves it out instead)."""

    def __init__(self, kind: str, item: object, length: int, what: str = "posts") -> None:
        super().__init__(
            f"{kind} {item} is {length:,} characters long; the forum format takes at most {MAX_BODY:,} "
            f"(pass --skip-oversized to leave such {what} out and list them)"
        )


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def clean_text(value: str | None, limit: int | None = None) -> str:
    """Text without NUL and other control characters (newlines and tabs kept), cut to `limit`."""
    if not value:
        return ""
    value = "".join(ch for ch in value if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return value[:limit] if limit is not None else value


def slugify(value: str, fallback: str) -> str:
    slug = SLUG_CHARS.sub(
        "-", unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    )
    slug = slug.strip("-")[:60].strip("-")
    return slug or fallback


@dataclass
class Skip:
    kind: str
    ref: str
    reason: str


class Staging:
    """One converter run's state: records, finished stages, skips, names in use."""

    def __init__(self, out: str | os.PathLike[str], source: str) -> None:
        self.out = Path(out)
        self.path = self.out.with_name(self.out.name + ".lifeboat-state")
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS info (name TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS items (kind TEXT, id INTEGER, thread_id INTEGER, created_at TEXT,
                                              data TEXT, PRIMARY KEY (kind, id));
            CREATE INDEX IF NOT EXISTS items_thread ON items (kind, thread_id, created_at, id);
            CREATE TABLE IF NOT EXISTS extras (kind TEXT, key TEXT, data TEXT, PRIMARY KEY (kind, key));
            CREATE TABLE IF NOT EXISTS names (kind TEXT, name TEXT, owner TEXT, PRIMARY KEY (kind, name));
            CREATE UNIQUE INDEX IF NOT EXISTS names_owner ON names (kind, owner);
            CREATE TABLE IF NOT EXISTS skips (kind TEXT, ref TEXT, reason TEXT, PRIMARY KEY (kind, ref));
            CREATE TABLE IF NOT EXISTS scratch (kind TEXT, key TEXT, value TEXT, PRIMARY KEY (kind, key));
            """
        )
        known = self.info("source")
        if known is not None and known != source:
            self.db.close()
            raise ConversionError(
                f"{self.path} holds an unfinished run for {known!r}, not {source!r}: "
                "delete it to start again, or give another output file"
            )
        self.set_info("source", source)
        self.resumed = self.info("started") is not None
        self.set_info("started", "1")
        self._pending = 0
        self.db.execute("BEGIN")

    # -- bookkeeping ------------------------------------------------------------------------------

    def info(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM info WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def set_info(self, name: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO info VALUES (?, ?)", (name, value))

    def stage_done(self, stage: str) -> bool:
        return self.info(f"stage:{stage}") == "done"

    def finish_stage(self, stage: str) -> None:
        self.set_info(f"stage:{stage}", "done")
        self.commit()

    def commit(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("BEGIN")
        self._pending = 0

    def _tick(self) -> None:
        self._pending += 1
        if self._pending >= COMMIT_EVERY:
            self.commit()

    def skip(self, kind: str, ref: str, reason: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO skips VALUES (?, ?, ?)", (kind, ref, reason))

    def skips(self) -> list[Skip]:
        return [
            Skip(*row) for row in self.db.execute("SELECT kind, ref, reason FROM skips ORDER BY kind, ref")
        ]

    def remember(self, kind: str, key: str, value: str) -> None:
        """A converter's own lookup (an answer's question, a message's thread): kept on disk."""
        self.db.execute("INSERT OR REPLACE INTO scratch VALUES (?, ?, ?)", (kind, key, value))
        self._tick()

    def recall(self, kind: str, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM scratch WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return row[0] if row else None

    # -- names that must be unique ----------------------------------------------------------------

    def unique_name(self, kind: str, owner: str, wanted: str, max_length: int, joiner: str = "_") -> str:
        """`wanted`, or wanted + joiner + 2, 3, ...; the same owner always gets the same name."""
        row = self.db.execute("SELECT name FROM names WHERE kind = ? AND owner = ?", (kind, owner)).fetchone()
        if row:
            return str(row[0])
        candidate, number = wanted[:max_length], 1
        while self.db.execute(
            "SELECT 1 FROM names WHERE kind = ? AND name = ?", (kind, candidate)
        ).fetchone():
            number += 1
            suffix = f"{joiner}{number}"
            candidate = wanted[: max_length - len(suffix)] + suffix
        self.db.execute("INSERT INTO names VALUES (?, ?, ?)", (kind, candidate, owner))
        return candidate

    def username(self, owner: str, display_name: str) -> str:
        base = USERNAME_CHARS.sub("_", unicodedata.normalize("NFKD", display_name).encode("ascii", "ignore")
                                  .decode().lower()).strip("_")  # fmt: skip
        if len(base) < 3:
            base = f"member_{owner}"[:30] if len(f"member_{owner}") <= 30 else "member"
        return self.unique_name("username", owner, base[:30], 30)

    def email(self, owner: str, address: str | None) -> str | None:
        """The address if no earlier member of this source had it (the format wants them unique)."""
        if not address or "@" not in address or len(address) > 254:
            return None
        address = address.strip().lower()
        taken = self.db.execute(
            "SELECT owner FROM names WHERE kind = 'email' AND name = ?", (address,)
        ).fetchone()
        if taken and taken[0] != owner:
            return None
        self.db.execute("INSERT OR REPLACE INTO names VALUES ('email', ?, ?)", (address, owner))
        return address

    # -- records ----------------------------------------------------------------------------------

    def put(self, kind: str, record: dict[str, Any], *, thread_id: int | None = None) -> None:
        """Store a user, category, thread or post record (the same id again replaces it)."""
        body = record.get("body")
        if isinstance(body, str) and len(body) > MAX_BODY:
            raise Oversized(kind, record["id"], len(body))
        self.db.execute(
            "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?)",
            (kind, record["id"], thread_id, record.get("created_at") or record.get("joined_at"),
             json.dumps(record, ensure_ascii=False, separators=(",", ":"))),
        )  # fmt: skip
        self._tick()

    def get(self, kind: str, item_id: int) -> dict[str, Any] | None:
        row = self.db.execute("SELECT data FROM items WHERE kind = ? AND id = ?", (kind, item_id)).fetchone()
        return json.loads(row[0]) if row else None

    def has(self, kind: str, item_id: int) -> bool:
        return (
            self.db.execute("SELECT 1 FROM items WHERE kind = ? AND id = ?", (kind, item_id)).fetchone()
            is not None
        )

    def update(self, kind: str, item_id: int, **fields: Any) -> bool:
        record = self.get(kind, item_id)
        if record is None:
            return False
        record.update(fields)
        thread = self.db.execute(
            "SELECT thread_id FROM items WHERE kind = ? AND id = ?", (kind, item_id)
        ).fetchone()
        self.put(kind, record, thread_id=thread[0])
        return True

    def extra(self, kind: str, key: str, record: dict[str, Any]) -> None:
        """A lifeboat record (origin, imported_member, thread_duplicate, old_url), unique by key."""
        self.db.execute(
            "INSERT OR REPLACE INTO extras VALUES (?, ?, ?)",
            (kind, key, json.dumps({"type": kind, **record}, ensure_ascii=False, separators=(",", ":"))),
        )
        self._tick()

    def count(self, kind: str) -> int:
        return int(self.db.execute("SELECT count(*) FROM items WHERE kind = ?", (kind,)).fetchone()[0])

    # -- output -----------------------------------------------------------------------------------

    def _pages(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[tuple[int, str]]:
        """(id, data) rows of `sql` (which takes the last id as its final parameter), 500 at a time."""
        last = -1
        while True:
            rows = self.db.execute(sql + " AND id > ? ORDER BY id LIMIT 500", (*params, last)).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def _ids(self, kind: str) -> IdSet:
        ids = IdSet()
        for (item_id,) in self.db.execute("SELECT id FROM items WHERE kind = ?", (kind,)):
            ids.add(item_id)
        return ids

    def _add_ghost(self, source: str, users: IdSet) -> int | None:
        """The account for posts whose author the source does not name, if any post needs it."""
        known = self.info("ghost")
        if known is not None:
            return int(known)
        authorless = self.db.execute(
            "SELECT json_extract(data, '$.user_id') FROM items WHERE kind IN ('thread', 'post')"
        )
        if all(user_id is not None and user_id in users for (user_id,) in authorless):
            return None
        ghost_id = users.max + 1
        self.put("user", {
            "type": "user", "id": ghost_id, "username": self.unique_name("username", "ghost", GHOST_NAME, 30),
            "display_name": "Former member", "joined_at": "2000-01-01T00:00:00Z", "bio": "",
            "email": None, "is_employee": False, "is_moderator": False,
        })  # fmt: skip
        self.extra("imported_member", str(ghost_id), {
            "user_id": ghost_id, "source": source, "original_name": "", "profile_url": None,
        })  # fmt: skip
        users.add(ghost_id)
        self.set_info("ghost", str(ghost_id))
        return ghost_id

    def write(self, generator: str, progress: Callable[[int], None] | None = None) -> dict[str, int]:
        """Write OUT in file order; returns the record counts. Dangling references are dropped."""
        self.commit()
        counts: dict[str, int] = {}
        partial = self.out.with_name(self.out.name + ".partial")
        body_path = self.out.with_name(self.out.name + ".body")
        users = self._ids("user")
        ghost = self._add_ghost(self.info("source") or "", users)
        self.commit()
        categories = self._ids("category")
        threads, posts = IdSet(), IdSet()
        with open(body_path, "w", encoding="utf-8") as body:

            def emit(record: dict[str, Any]) -> None:
                counts[record["type"]] = counts.get(record["type"], 0) + 1
                body.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
                if progress is not None:
                    progress(1)

            for kind in ("user", "category"):
                for _id, data in self._pages("SELECT id, data FROM items WHERE kind = ?", (kind,)):
                    emit(json.loads(data))
            for thread_id, data in self._pages("SELECT id, data FROM items WHERE kind = ?", ("thread",)):
                thread = json.loads(data)
                if thread["category_id"] not in categories:
                    self.skip("thread", str(thread_id), "its board is missing from the source")
                    continue
                if thread["user_id"] not in users:
                    thread["user_id"] = ghost
                emit(thread)
                threads.add(thread_id)
                posts.add(thread.get("opening_post", {}).get("id", 0) or 0)
                solved = False
                for (post_data,) in self.db.execute(
                    "SELECT data FROM items WHERE kind = 'post' AND thread_id = ? ORDER BY created_at, id",
                    (thread_id,),
                ).fetchall():
                    post = json.loads(post_data)
                    if post["user_id"] not in users:
                        post["user_id"] = ghost
                    if post["created_at"] < thread["created_at"]:
                        post["created_at"] = thread["created_at"]  # clocks of old servers drift
                    if post.get("is_solution"):
                        post["is_solution"], solved = not solved, True
                    emit(post)
                    posts.add(post["id"])
            targets = {"user": users, "thread": threads, "post": posts, "category": categories}
            for kind in LIFEBOAT_KINDS:
                for (data,) in self.db.execute(
                    "SELECT data FROM extras WHERE kind = ? ORDER BY key", (kind,)
                ):
                    record = json.loads(data)
                    if _refers_to_written(record, targets):
                        emit(record)
        meta = {**FORMAT, "generator": generator, "counts": counts}
        with open(partial, "w", encoding="utf-8") as out, open(body_path, encoding="utf-8") as body_in:
            out.write(json.dumps(meta, ensure_ascii=False, separators=(",", ":")) + "\n")
            while chunk := body_in.read(1 << 20):
                out.write(chunk)
        body_path.unlink()
        partial.replace(self.out)
        self.commit()
        return counts

    def close(self, *, done: bool) -> None:
        """Close; a finished run removes its state file (an unfinished one keeps it to resume)."""
        try:
            self.db.execute("COMMIT")
        except sqlite3.OperationalError:
            pass
        self.db.close()
        if done:
            for suffix in ("", "-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)


def _refers_to_written(record: dict[str, Any], targets: dict[str, IdSet]) -> bool:
    kind = record["type"]
    if kind == "imported_member":
        return record["user_id"] in targets["user"]
    if kind == "origin":
        return record["post_id"] in targets["post"]
    if kind == "thread_duplicate":
        return record["thread_id"] in targets["thread"] and record["original_id"] in targets["thread"]
    return record["target_id"] in targets[record["target_type"]]
