"""A fast corpus loader for benchmarks: bulk inserts through SQLAlchemy Core.

Not the importer (`flask exchange import` is): it skips Markdown rendering (bodies are
stored as escaped paragraphs, which search indexes the same way), passwords and all
checks, and it does not go through the session hook, so nothing is indexed until
`flask search reindex` (or the benchmark) rebuilds the index.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.engine import Connection

from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.wiki.models import WikiPage, WikiRevision

BATCH = 5000


def _time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _html(body: str) -> str:
    return "".join(f"<p>{html.escape(part)}</p>" for part in body.split("\n\n"))


def _records(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield json.loads(line)


def load(connection: Connection, path: Path) -> dict[str, int]:
    """Insert users, boards, threads, posts and wiki pages; returns counts."""
    pending: dict[Any, list[dict[str, Any]]] = {
        User: [],
        Board: [],
        Thread: [],
        Post: [],
        WikiPage: [],
        WikiRevision: [],
    }
    counts = dict.fromkeys(("user", "category", "thread", "post", "wiki_page"), 0)
    employees: set[int] = set()
    positions: dict[int, int] = {}
    last: dict[int, tuple[int, datetime, int]] = {}
    solutions: dict[int, int] = {}
    employee_threads: set[int] = set()
    post_id = 0
    revision_id = 0

    def flush(model: Any) -> None:
        if pending[model]:
            connection.execute(insert(model.__table__), pending[model])
            pending[model].clear()

    def flush_all() -> None:
        for model in (User, Board, Thread, Post, WikiPage, WikiRevision):
            flush(model)

    for record in _records(path):
        kind = record["type"]
        if kind == "meta":
            continue
        counts[kind] += 1
        if kind == "user":
            if record.get("is_employee"):
                employees.add(record["id"])
            pending[User].append(
                {
                    "id": record["id"], "username": record["username"][:30], "email": record["email"],
                    "display_name": record.get("display_name", "")[:60], "bio": record.get("bio", ""),
                    "role": "moderator" if record.get("is_moderator") else "member",
                    "created_at": _time(record["joined_at"]),
                }
            )  # fmt: skip
        elif kind == "category":
            pending[Board].append(
                {
                    "id": record["id"], "slug": record["slug"], "name": record["name"][:80],
                    "description": record.get("description", ""), "position": record.get("position", 0),
                    "kind": "questions", "created_at": datetime(2020, 1, 1, tzinfo=UTC),
                }
            )  # fmt: skip
        elif kind == "thread":
            flush(User)
            flush(Board)
            created = _time(record["created_at"])
            pending[Thread].append(
                {
                    "id": record["id"], "board_id": record["category_id"], "author_id": record["user_id"],
                    "title": record["title"][:200], "slug": record["title"][:80].lower().replace(" ", "-"),
                    "created_at": created, "last_post_at": created, "post_count": 1, "reply_count": 0,
                    "is_pinned": bool(record.get("pinned")), "has_employee_reply": False,
                }
            )  # fmt: skip
            post_id += 1
            positions[record["id"]] = 1
            last[record["id"]] = (post_id, created, record["user_id"])
            pending[Post].append(
                {
                    "id": post_id, "thread_id": record["id"], "author_id": record["user_id"], "position": 1,
                    "body_source": record["body"], "body_html": _html(record["body"]), "created_at": created,
                }
            )  # fmt: skip
        elif kind == "post":
            thread_id = record["thread_id"]
            positions[thread_id] += 1
            post_id += 1
            created = _time(record["created_at"])
            last[thread_id] = (post_id, created, record["user_id"])
            if record.get("is_solution"):
                solutions[thread_id] = post_id
            if record["user_id"] in employees:
                employee_threads.add(thread_id)
            pending[Post].append(
                {
                    "id": post_id, "thread_id": thread_id, "author_id": record["user_id"],
                    "position": positions[thread_id], "body_source": record["body"],
                    "body_html": _html(record["body"]), "created_at": created,
                }
            )  # fmt: skip
        elif kind == "wiki_page":
            flush_all()
            revisions = record["revisions"]
            pending[WikiPage].append(
                {
                    "id": record["id"], "slug": record["slug"], "title": record["title"][:200],
                    "board_id": record.get("category_id"), "created_at": _time(record["created_at"]),
                    "updated_at": _time(revisions[-1]["created_at"]), "revision_count": len(revisions),
                    "current_revision_id": revision_id + len(revisions),
                }
            )  # fmt: skip
            flush(WikiPage)
            for number, revision in enumerate(revisions, start=1):
                revision_id += 1
                pending[WikiRevision].append(
                    {
                        "id": revision_id, "page_id": record["id"], "number": number,
                        "author_id": revision.get("user_id"), "created_at": _time(revision["created_at"]),
                        "title": record["title"][:200], "summary": revision.get("summary", "")[:500],
                        "body_source": revision["body"], "body_html": _html(revision["body"]),
                        "size": len(revision["body"]),
                    }
                )  # fmt: skip
        if len(pending[Post]) >= BATCH:
            flush(Thread)
            flush(Post)
    flush_all()
    thread_rows = [
        {"tid": tid, "count": positions[tid], "last_id": pid, "last_at": at, "poster": uid,
         "solution": solutions.get(tid), "employee": tid in employee_threads}
        for tid, (pid, at, uid) in last.items()
    ]  # fmt: skip
    table = Thread.__table__
    from sqlalchemy import bindparam

    connection.execute(
        update(table)
        .where(table.c.id == bindparam("tid"))
        .values(
            post_count=bindparam("count"), reply_count=bindparam("count") - 1, last_post_id=bindparam("last_id"),
            last_post_at=bindparam("last_at"), last_poster_id=bindparam("poster"),
            solution_post_id=bindparam("solution"), has_employee_reply=bindparam("employee"),
        ),
        thread_rows,
    )  # fmt: skip
    if connection.dialect.name == "postgresql":
        # Fresh statistics, or the planner joins whole tables for every batch of a reindex.
        connection.execute(text("ANALYZE"))
        for name in ("users", "boards", "threads", "posts", "wiki_pages", "wiki_revisions"):
            connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            )
    return counts
