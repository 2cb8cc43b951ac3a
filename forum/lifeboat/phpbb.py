"""A phpBB 3.3 database (MySQL/MariaDB or PostgreSQL) to the forum data format.

Reads the tables of a standard install (prefix phpbb_ unless told otherwise): users, forums,
topics, posts, attachments (their names: the files are not in the database) and polls. Only
approved topics and posts are converted (unapproved, soft-deleted and the shadows that moved
topics leave behind are listed as skipped). Posts are stored by phpBB 3.2+ as s9e
TextFormatter XML, from which the original BBCode is recovered (3.0-era rows with bbcode_uid
markers are read too), then converted to Markdown.

Every table is read in id order, a page at a time (keyset pagination), and the last id done
is the checkpoint: an interrupted run continues after it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from forum.lifeboat.markdown import UnknownTag, bbcode_to_markdown
from forum.lifeboat.staging import (
    MAX_BODY,
    MAX_TITLE,
    ConversionError,
    Oversized,
    Staging,
    clean_text,
    iso,
    slugify,
)

PAGE = 500
USER_IGNORE = 2  # phpBB's user_type for the anonymous account and bots
FORUM_POSTABLE = 1
TOPIC_MOVED = 2
APPROVED = 1
STICKY_TYPES = (1, 2, 3)  # sticky, announcement, global announcement
_XML_TAG = re.compile(r"<[^>]*>")
_LEGACY_SMILEY = re.compile(r"<!-- s(.*?) --><img[^>]*?alt=\"([^\"]*)\"[^>]*><!-- s\1 -->")
_LEGACY_LINK = re.compile(r"<!-- ([mlwe]) --><a[^>]*?href=\"([^\"]*)\"[^>]*>.*?</a><!-- \1 -->", re.S)


@dataclass
class Options:
    prefix: str = "phpbb_"
    base_url: str = ""  # the old forum's address, for origins and old addresses ("" = paths only)
    unknown_tags: str = "fail"
    skip_oversized: bool = False


def engine_for(url: str) -> Any:
    """An engine for a MySQL/MariaDB (PyMySQL) or PostgreSQL URL; a clear error for anything else."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ConversionError(
            f"{url!r} is not a database URL (mysql://user@host/db or postgresql://...)"
        ) from error
    backend = parsed.get_backend_name()
    if backend in ("mysql", "mariadb"):
        parsed = parsed.set(drivername="mysql+pymysql", query={**parsed.query, "charset": "utf8mb4"})
    elif backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    else:
        raise ConversionError(f"phpBB databases are MySQL/MariaDB or PostgreSQL, not {backend!r}")
    try:
        return create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (NoSuchModuleError, ImportError) as error:
        raise ConversionError("reading MySQL needs PyMySQL: pip install 'roundabout[mysql]'") from error


def unparse(post_text: str, bbcode_uid: str = "") -> str:
    """The BBCode a member typed, from what phpBB stored (3.2+ XML, or 3.0 text with uid markers)."""
    value = post_text or ""
    if value.startswith(("<r>", "<t>")) and value.rstrip().endswith(("</r>", "</t>")):
        value = re.sub(r"<br\s*/?>", "\n", value)
        return html.unescape(_XML_TAG.sub("", value))
    if bbcode_uid:
        value = value.replace(f":{bbcode_uid}", "")
    value = _LEGACY_SMILEY.sub(lambda m: m.group(2), value)
    value = _LEGACY_LINK.sub(lambda m: m.group(2), value)
    value = re.sub(
        r"\[(/?)(\*|list|code|quote|b|i|u|url|img|size|color)(=[^\]:]*)?:[a-z0-9]\]", r"[\1\2\3]", value
    )
    return html.unescape(value.replace("<br />", "\n"))


def _when(seconds: Any) -> str | None:
    try:
        value = int(seconds or 0)
    except (TypeError, ValueError):
        return None
    return iso(datetime.fromtimestamp(value, UTC)) if value > 0 else None


def _pages(
    connection: Connection, table: str, key: str, columns: str, after: int, where: str = ""
) -> Iterator[Any]:
    """Rows of a table in key order, PAGE at a time, starting after `after`."""
    last = after
    while True:
        rows = connection.execute(
            text(f"SELECT {columns} FROM {table} WHERE {key} > :last {where} ORDER BY {key} LIMIT {PAGE}"),
            {"last": last},
        ).mappings().all()  # fmt: skip
        if not rows:
            return
        yield from rows
        last = rows[-1][key]


def convert(
    url: str, staging: Staging, options: Options, progress: Callable[[str, int | None], Any]
) -> dict[str, int]:
    engine = engine_for(url)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        with engine.connect() as connection:
            _check_tables(connection, options.prefix, shown)
            return _convert(connection, staging, options, progress)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise ConversionError(f"{shown}: {reason}") from error
    finally:
        engine.dispose()


def _check_tables(connection: Connection, prefix: str, shown: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_]{0,30}", prefix):
        raise ConversionError(f"table prefix {prefix!r} may only hold letters, digits and _")
    for table in ("users", "forums", "topics", "posts"):
        try:
            connection.execute(text(f"SELECT 1 FROM {prefix}{table} WHERE 1 = 0"))
        except SQLAlchemyError as error:
            connection.rollback()
            raise ConversionError(
                f"{shown} has no table {prefix}{table}: is it a phpBB 3.3 database, with this --prefix?"
            ) from error


def _convert(connection: Connection, staging: Staging, options: Options,
             progress: Callable[[str, int | None], Any]) -> dict[str, int]:  # fmt: skip
    p, base = options.prefix, options.base_url.rstrip("/")
    source = f"phpBB ({base.split('://', 1)[-1] or 'database'})"
    if not staging.stage_done("users"):
        tick = progress("Members", None)
        for row in _pages(connection, f"{p}users", "user_id", "user_id, user_type, username, user_email, user_regdate",
                          int(staging.info("users:last") or 0)):  # fmt: skip
            tick(1)
            if row["user_type"] != USER_IGNORE:
                _user(staging, row, source, base)
            staging.set_info("users:last", str(row["user_id"]))
        staging.finish_stage("users")
    if not staging.stage_done("forums"):
        forums = connection.execute(text(
            f"SELECT forum_id, forum_name, forum_desc, forum_type, left_id FROM {p}forums ORDER BY left_id, forum_id"
        )).mappings().all()  # fmt: skip
        for position, row in enumerate((r for r in forums if r["forum_type"] == FORUM_POSTABLE), start=1):
            name = html.unescape(clean_text(row["forum_name"])).strip()[:80] or f"Forum {row['forum_id']}"
            description = _strip_bbcode(unparse(row["forum_desc"] or ""))[:1000]
            staging.put("category", {
                "type": "category", "id": row["forum_id"], "name": name, "description": description,
                "slug": staging.unique_name("slug", str(row["forum_id"]), slugify(name, f"forum-{row['forum_id']}"),
                                            60, "-"),
                "position": position, "kind": "discussion",
            })  # fmt: skip
            staging.extra("old_url", f"f{row['forum_id']}", {
                "url": f"{base}/viewforum.php?f={row['forum_id']}", "target_type": "category",
                "target_id": row["forum_id"],
            })  # fmt: skip
        staging.finish_stage("forums")
    if not staging.stage_done("topics"):
        tick = progress("Topics", None)
        columns = ("topic_id, forum_id, topic_title, topic_poster, topic_time, topic_status, topic_type, "
                   "topic_first_post_id, topic_visibility, poll_title")  # fmt: skip
        for row in _pages(
            connection, f"{p}topics", "topic_id", columns, int(staging.info("topics:last") or 0)
        ):
            tick(1)
            _topic(connection, staging, row, p)
            staging.set_info("topics:last", str(row["topic_id"]))
        staging.finish_stage("topics")
    if not staging.stage_done("attachments"):
        _attachments(connection, staging, p)
        staging.finish_stage("attachments")
    if not staging.stage_done("posts"):
        tick = progress("Posts", None)
        columns = ("post_id, topic_id, poster_id, post_time, post_username, post_text, bbcode_uid, "
                   "post_edit_time, post_visibility")  # fmt: skip
        for row in _pages(connection, f"{p}posts", "post_id", columns, int(staging.info("posts:last") or 0)):
            tick(1)
            try:
                _post(staging, row, options, source, base)
            except Oversized:
                if not options.skip_oversized:
                    raise
                staging.skip("post", str(row["post_id"]), f"longer than {MAX_BODY:,} characters")
            staging.set_info("posts:last", str(row["post_id"]))
        staging.finish_stage("posts")
    return {"users": staging.count("user"), "forums": staging.count("category"),
            "topics": staging.count("thread"), "replies": staging.count("post")}  # fmt: skip


def _strip_bbcode(value: str) -> str:
    return " ".join(re.sub(r"\[/?[a-z*][^\]]{0,100}\]", "", value, flags=re.I).split())


def _user(staging: Staging, row: Any, source: str, base: str) -> None:
    user_id = int(row["user_id"])
    name = html.unescape(clean_text(row["username"], 200)).strip() or f"member{user_id}"
    staging.put("user", {
        "type": "user", "id": user_id, "username": staging.username(str(user_id), name), "display_name": name[:60],
        "joined_at": _when(row["user_regdate"]) or "2000-01-01T00:00:00Z", "bio": "",
        "email": staging.email(str(user_id), row["user_email"]), "is_employee": False, "is_moderator": False,
    })  # fmt: skip
    staging.remember("author", str(user_id), name)
    staging.extra("imported_member", str(user_id), {
        "user_id": user_id, "source": source, "original_name": name,
        "profile_url": f"{base}/memberlist.php?mode=viewprofile&u={user_id}" if base else None,
    })  # fmt: skip


def _topic(connection: Connection, staging: Staging, row: Any, p: str) -> None:
    topic_id = int(row["topic_id"])
    if row["topic_status"] == TOPIC_MOVED:
        staging.skip("topic", str(topic_id), "the shadow a moved topic left behind")
        return
    if row["topic_visibility"] != APPROVED:
        staging.skip("topic", str(topic_id), "not approved or deleted on the old forum")
        return
    poll = ""
    if row["poll_title"]:
        options = connection.execute(text(
            f"SELECT poll_option_text, poll_option_total FROM {p}poll_options WHERE topic_id = :t ORDER BY poll_option_id"
        ), {"t": topic_id}).all()  # fmt: skip
        lines = [f"- {_strip_bbcode(unparse(option))} — {total} votes" for option, total in options]
        poll = f"\n\n**Poll: {_strip_bbcode(unparse(row['poll_title']))}**\n\n" + "\n".join(lines)
    staging.remember("topic", str(topic_id), json.dumps({
        "forum": row["forum_id"], "title": html.unescape(clean_text(row["topic_title"])), "first": row["topic_first_post_id"],
        "pinned": row["topic_type"] in STICKY_TYPES, "locked": row["topic_status"] == 1, "poll": poll,
    }, ensure_ascii=False))  # fmt: skip


def _attachments(connection: Connection, staging: Staging, p: str) -> None:
    try:
        rows = _pages(connection, f"{p}attachments", "attach_id",
                      "attach_id, post_msg_id, real_filename, mimetype, filesize", 0, "AND is_orphan = 0 AND in_message = 0")  # fmt: skip
        for row in rows:
            line = (f"- `{clean_text(row['real_filename'], 120).replace('`', '')}` "
                    f"({clean_text(row['mimetype'], 100)}, {int(row['filesize'] or 0):,} bytes)")  # fmt: skip
            staging.remember("attachment", f"{row['post_msg_id']}:{row['attach_id']}", line)
    except SQLAlchemyError:
        connection.rollback()  # an install without the attachments table: nothing to list


def _post(staging: Staging, row: Any, options: Options, source: str, base: str) -> None:
    post_id, topic_id = int(row["post_id"]), int(row["topic_id"])
    topic_data = staging.recall("topic", str(topic_id))
    if topic_data is None:
        staging.skip("post", str(post_id), "its topic was not converted")
        return
    if row["post_visibility"] != APPROVED:
        staging.skip("post", str(post_id), "not approved or deleted on the old forum")
        return
    raw = row["post_text"] or ""
    if len(raw) > 2 * MAX_BODY:
        raise Oversized("post", post_id, len(raw))
    try:
        body = bbcode_to_markdown(
            clean_text(unparse(raw, row["bbcode_uid"] or "")), unknown=options.unknown_tags
        )
    except UnknownTag as error:
        raise ConversionError(f"post {post_id} uses BBCode {error} that the converter does not know "
                              "(pass --unknown-tags keep to keep such tags as text)") from error  # fmt: skip
    attachments = [line for (line,) in staging.db.execute(
        "SELECT value FROM scratch WHERE kind = 'attachment' AND key LIKE ? ORDER BY key", (f"{post_id}:%",))]  # fmt: skip
    if attachments:
        body += "\n\n*Attachments on the old forum, not imported:*\n\n" + "\n".join(attachments)
    topic = json.loads(topic_data)
    created = _when(row["post_time"]) or "2000-01-01T00:00:00Z"
    edited = _when(row["post_edit_time"])
    state = {"edited_at": edited if edited and edited > created else None}
    poster = int(row["poster_id"] or 0)
    author = staging.recall("author", str(poster))
    user_id = poster if author is not None else None
    author = author or html.unescape(clean_text(row["post_username"], 200)) or "Guest"
    if post_id == topic["first"]:
        staging.put("thread", {
            "type": "thread", "id": topic_id, "category_id": topic["forum"], "user_id": user_id,
            "title": " ".join(topic["title"].split())[:MAX_TITLE] or f"Topic {topic_id}",
            "body": (body + topic["poll"]).strip() or "(no text)", "created_at": created, "pinned": topic["pinned"],
            "locked_at": created if topic["locked"] else None,
            "lock_reason": "Locked on the old forum" if topic["locked"] else None, "opening_post": {"id": post_id, **state},
        })  # fmt: skip
        staging.extra("old_url", f"t{topic_id}", {
            "url": f"{base}/viewtopic.php?t={topic_id}", "target_type": "thread", "target_id": topic_id})  # fmt: skip
    else:
        staging.put("post", {
            "type": "post", "id": post_id, "thread_id": topic_id, "user_id": user_id, "body": body or "(no text)",
            "created_at": created, "is_solution": False, **state,
        }, thread_id=topic_id)  # fmt: skip
    staging.extra("old_url", f"p{post_id}", {
        "url": f"{base}/viewtopic.php?p={post_id}", "target_type": "post", "target_id": post_id})  # fmt: skip
    staging.extra("origin", str(post_id), {
        "post_id": post_id, "source": source, "author_name": author, "created_at": created,
        "url": f"{base}/viewtopic.php?p={post_id}#p{post_id}" if base else None, "license": None,
    })  # fmt: skip
