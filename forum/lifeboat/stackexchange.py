"""Stack Exchange data dump (one site's folder of XML files) to the forum data format.

Questions become threads, answers their replies, the accepted answer the solution; comments
are appended to their post with who wrote them and when; duplicate links (PostLinks type 3)
become "duplicate of" on the thread; tags choose the board (--tag-board TAG=SLUG, the rest go
to one board named after the site). Every post keeps its origin with the CC BY-SA license of
its date, and every question and answer its old address.

The XML is read as a stream (defusedxml: no DTDs, no entity expansion, no external
references) and each row is dropped once stored, so memory stays flat.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from forum.lifeboat.markdown import html_to_markdown
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

FILES = ("Users.xml", "Posts.xml")  # required; Comments, PostLinks, Votes and Tags are optional
QUESTION, ANSWER = "1", "2"
DUPLICATE_LINK = "3"
UPVOTE = "2"
LINE_LIMIT = 4 * MAX_BODY  # bytes of one row of a dump file
# CC BY-SA by date of posting, as Stack Exchange states it.
LICENSES = (
    ("2011-04-08", "CC BY-SA 2.5 (https://creativecommons.org/licenses/by-sa/2.5/)"),
    ("2018-05-02", "CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/)"),
    ("9999-12-31", "CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)"),
)


def license_for(created_at: str) -> str:
    return next(text for until, text in LICENSES if created_at[:10] < until)


@dataclass
class Counts:
    questions: int = 0
    answers: int = 0
    accepted: int = 0
    comments: int = 0
    duplicates: int = 0
    users: int = 0
    other_posts: int = 0
    oversized: list[str] = field(default_factory=list)


class _RowLines:
    """The dump file as the XML parser reads it: progress reported, and each row (one a line in
    the dump) bounded. A row longer than LINE_LIMIT bytes is never buffered: it reaches the
    parser as `<row Id=".." PostTypeId=".." LifeboatOversized="its length"/>`, so it is
    reported (or skipped) like any post over the limit, and memory stays flat. Expat would
    also rescan such a token from its start with every block it reads: minutes for 50 MB."""

    def __init__(self, handle: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self.handle, self.progress = handle, progress
        self.pending = b""  # the start of a line not yet passed on

    def read(self, size: int = -1) -> bytes:
        block = self.handle.read(max(size, 1 << 16))
        if self.progress is not None:
            self.progress(len(block))
        if not block:
            rest, self.pending = self.pending, b""
            return rest
        data = self.pending + block
        cut = data.rfind(b"\n") + 1
        whole, self.pending = data[:cut], data[cut:]
        if len(self.pending) > LINE_LIMIT:
            whole += self._oversized_row()
        return whole or self.read(size)

    def _oversized_row(self) -> bytes:
        """Skip to the end of the current line, counting it; a stand-in row for it."""
        head, length, tail = self.pending[:300], len(self.pending), self.pending[-300:]
        self.pending = b""
        while True:
            block = self.handle.read(1 << 20)
            if self.progress is not None:
                self.progress(len(block))
            end = block.find(b"\n")
            if end >= 0 or not block:
                length += end if end >= 0 else len(block)
                tail = (tail + block[: max(end, 0) if end >= 0 else len(block)])[-300:]
                self.pending = block[end + 1 :] if end >= 0 else b""
                break
            length += len(block)
            tail = (tail + block)[-300:]
        closing = tail.rsplit(b"/>", 1)[1] if b"/>" in tail else b""  # "</posts>" on the same line
        found = {name: re.search(rb"\b" + name + rb'="(\d+)"', head) for name in (b"Id", b"PostTypeId")}
        attributes = b" ".join(name + b'="' + match.group(1) + b'"' for name, match in found.items() if match)
        return (
            b"<row " + attributes + b' LifeboatOversized="' + str(length).encode() + b'" />' + closing + b"\n"
        )


def rows(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[dict[str, str]]:
    """The attributes of each <row/> of a dump file, one at a time."""
    try:
        with open(path, "rb") as handle:
            root = None
            for event, element in iterparse(_RowLines(handle, progress), events=("start", "end"),
                                            forbid_dtd=True, forbid_entities=True, forbid_external=True):  # fmt: skip
                if event == "start":
                    if root is None:
                        root = element
                    continue
                if element.tag == "row":
                    yield dict(element.attrib)
                    element.clear()
                    if root is not None:
                        root.clear()  # drop the finished rows: memory stays flat
    except DefusedXmlException as error:
        raise ConversionError(f"{path}: refused: {error} (entities and DTDs are never expanded)") from error
    except ParseError as error:
        line, column = getattr(error, "position", (0, 0))
        raise ConversionError(f"{path}: not well-formed XML at line {line}, column {column} ({error.msg}); "
                              "is the file complete?") from error  # fmt: skip
    except OSError as error:
        raise ConversionError(f"{path}: cannot be read ({error.strerror or error})") from error


def dump_time(value: str | None) -> str | None:
    """2016-12-06T20:01:40.123 (the dump's UTC time) as the format's 2016-12-06T20:01:40Z."""
    if not value:
        return None
    try:
        return iso(datetime.fromisoformat(value[:19]))
    except ValueError:
        return None


def _number(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number <= 2_147_483_647 else None


def _tags(value: str | None) -> list[str]:
    """ "<a><b>" (older dumps) or "|a|b|" (newer) as ["a", "b"]."""
    if not value:
        return []
    return [tag for tag in value.replace("><", "|").strip("<>|").split("|") if tag]


@dataclass
class Options:
    site: str  # iot.stackexchange.com
    tag_boards: dict[str, str]  # tag -> board slug
    default_board: str
    skip_oversized: bool = False


def convert(folder: Path, staging: Staging, options: Options, progress: Callable[[str, int], Any]) -> Counts:
    """Read the dump folder into `staging` (stage by stage, each resumable)."""
    for name in FILES:
        if not (folder / name).is_file():
            raise ConversionError(
                f"{folder} has no {name}: is it one site's folder of the Stack Exchange dump?"
            )
    counts = Counts()
    source = f"Stack Exchange ({options.site})"
    staging.db.execute(
        "CREATE TABLE IF NOT EXISTS se_comments (post_id INTEGER, id INTEGER PRIMARY KEY, line TEXT)"
    )
    staging.db.execute("CREATE INDEX IF NOT EXISTS se_comments_post ON se_comments (post_id, id)")

    def bar(name: str) -> Callable[[int], None] | None:
        path = folder / name
        return progress(name, os.path.getsize(path)) if path.is_file() else None

    if not staging.stage_done("users"):
        for row in rows(folder / "Users.xml", bar("Users.xml")):
            _user(staging, row, options, source)
        staging.finish_stage("users")
    counts.users = staging.count("user")

    if (folder / "Tags.xml").is_file():
        known_tags = {row.get("TagName") for row in rows(folder / "Tags.xml")}
        for tag in sorted(set(options.tag_boards) - known_tags):
            staging.skip("tag", tag, "no such tag in this dump: its --tag-board is not used")
            del options.tag_boards[tag]
    _boards(staging, options)
    if (folder / "Votes.xml").is_file() and not staging.stage_done("votes"):
        for row in rows(folder / "Votes.xml", bar("Votes.xml")):
            if row.get("VoteTypeId") == UPVOTE and (post_id := _number(row.get("PostId"))):
                staging.db.execute(
                    "INSERT INTO scratch VALUES ('upvotes', ?, 1) "
                    "ON CONFLICT (kind, key) DO UPDATE SET value = value + 1", (str(post_id),)
                )  # fmt: skip
        staging.finish_stage("votes")
    if (folder / "Comments.xml").is_file() and not staging.stage_done("comments"):
        for row in rows(folder / "Comments.xml", bar("Comments.xml")):
            _comment(staging, row)
        staging.finish_stage("comments")
    counts.comments = int(staging.db.execute("SELECT count(*) FROM se_comments").fetchone()[0])

    if not staging.stage_done("posts"):
        for row in rows(folder / "Posts.xml", bar("Posts.xml")):
            kind = row.get("PostTypeId")
            if kind in (QUESTION, ANSWER):
                try:
                    _post(staging, row, options, source)
                except Oversized:
                    if not options.skip_oversized:
                        raise
                    staging.skip("post", row.get("Id", "?"), f"longer than {MAX_BODY:,} characters")
            else:
                staging.remember("other_post", row.get("Id", "?"), kind or "")
        staging.finish_stage("posts")
    if not staging.stage_done("accepted"):
        for (pair,) in staging.db.execute("SELECT value FROM scratch WHERE kind = 'accepted'").fetchall():
            question, answer = (int(part) for part in pair.split(":"))
            post = staging.get("post", answer)
            if post is not None and post.get("thread_id") == question:
                staging.update("post", answer, is_solution=True)
        staging.finish_stage("accepted")
    if (folder / "PostLinks.xml").is_file() and not staging.stage_done("links"):
        for row in rows(folder / "PostLinks.xml", bar("PostLinks.xml")):
            if row.get("LinkTypeId") == DUPLICATE_LINK:
                duplicate, original = _number(row.get("PostId")), _number(row.get("RelatedPostId"))
                if duplicate and original and duplicate != original:
                    staging.extra(
                        "thread_duplicate", str(duplicate), {"thread_id": duplicate, "original_id": original}
                    )
        staging.finish_stage("links")

    counts.questions = staging.count("thread")
    counts.answers = staging.count("post")
    counts.accepted = int(staging.db.execute(
        "SELECT count(*) FROM items WHERE kind = 'post' AND json_extract(data, '$.is_solution')"
    ).fetchone()[0])  # fmt: skip
    counts.duplicates = int(staging.db.execute(
        "SELECT count(*) FROM extras WHERE kind = 'thread_duplicate'").fetchone()[0])  # fmt: skip
    counts.other_posts = int(staging.db.execute(
        "SELECT count(*) FROM scratch WHERE kind = 'other_post'").fetchone()[0])  # fmt: skip
    orphans = staging.db.execute(
        "SELECT id FROM items AS p WHERE kind = 'post' AND NOT EXISTS "
        "(SELECT 1 FROM items AS t WHERE t.kind = 'thread' AND t.id = p.thread_id)"
    ).fetchall()
    for (post_id,) in orphans:
        staging.skip("post", str(post_id), "an answer whose question is not in the dump")
    counts.oversized = [skip.ref for skip in staging.skips() if "characters" in skip.reason]
    return counts


def _user(staging: Staging, row: dict[str, str], options: Options, source: str) -> None:
    user_id = _number(row.get("Id"))
    if user_id is None:  # -1 is the Community bot; its posts go to the former-member account
        return
    name = clean_text(row.get("DisplayName"), 200) or f"user{user_id}"
    joined = dump_time(row.get("CreationDate")) or "2008-01-01T00:00:00Z"
    bio = html_to_markdown(clean_text(row.get("AboutMe"), 100_000))[:10_000]
    staging.put("user", {
        "type": "user", "id": user_id, "username": staging.username(str(user_id), name),
        "display_name": name[:60], "joined_at": joined, "bio": bio, "is_employee": False,
        "is_moderator": False,
    })  # fmt: skip
    staging.extra("imported_member", str(user_id), {
        "user_id": user_id, "source": source, "original_name": name,
        "profile_url": f"https://{options.site}/users/{user_id}",
    })  # fmt: skip


def _boards(staging: Staging, options: Options) -> None:
    slugs = [options.default_board, *sorted(set(options.tag_boards.values()) - {options.default_board})]
    for position, slug in enumerate(slugs, start=1):
        name = options.site if slug == options.default_board else slug.replace("-", " ").capitalize()
        staging.put("category", {
            "type": "category", "id": position, "slug": slug, "name": name[:80],
            "description": f"Imported from {options.site}"[:1000], "position": position, "kind": "questions",
        })  # fmt: skip
        staging.remember("board", slug, str(position))


def _comment(staging: Staging, row: dict[str, str]) -> None:
    comment_id, post_id = _number(row.get("Id")), _number(row.get("PostId"))
    text = " ".join(clean_text(row.get("Text"), 5000).split())
    if comment_id is None or post_id is None or not text:
        return
    author = clean_text(row.get("UserDisplayName"), 200)
    if not author and (user_id := _number(row.get("UserId"))):
        user = staging.get("user", user_id)
        author = user["display_name"] if user else ""
    when = (dump_time(row.get("CreationDate")) or "")[:10]
    line = f"- {text} — *{author or 'a former member'}*{', ' + when if when else ''}"
    staging.db.execute("INSERT OR REPLACE INTO se_comments VALUES (?, ?, ?)", (post_id, comment_id, line))


def _with_comments(staging: Staging, post_id: int, body: str) -> str:
    lines = [line for (line,) in staging.db.execute(
        "SELECT line FROM se_comments WHERE post_id = ? ORDER BY id", (post_id,))]  # fmt: skip
    if not lines:
        return body
    return f"{body}\n\n---\n\n**Comments**\n\n" + "\n".join(lines)


def _post(staging: Staging, row: dict[str, str], options: Options, source: str) -> None:
    post_id = _number(row.get("Id"))
    if oversized := row.get("LifeboatOversized"):
        raise Oversized("thread" if row.get("PostTypeId") == QUESTION else "post", post_id, int(oversized))
    created = dump_time(row.get("CreationDate"))
    if post_id is None or created is None:
        staging.skip("post", row.get("Id", "?"), "no id or creation date")
        return
    owner = _number(row.get("OwnerUserId"))
    user = staging.get("user", owner) if owner else None
    author_name = user["display_name"] if user else clean_text(row.get("OwnerDisplayName"), 200)
    html = row.get("Body") or ""
    if len(html) > 2 * MAX_BODY:  # refused before converting: its Markdown could not be shorter by half
        kind = "thread" if row.get("PostTypeId") == QUESTION else "post"
        raise Oversized(kind, post_id, len(html))
    body = _with_comments(staging, post_id, html_to_markdown(clean_text(html)))
    edited = dump_time(row.get("LastEditDate"))
    if edited is not None and edited <= created:
        edited = None
    upvotes = staging.recall("upvotes", str(post_id))
    helpful = int(upvotes) if upvotes else max(_number(row.get("Score")) or 0, 0)
    state = {"edited_at": edited, "helpful_count": helpful}
    question = row.get("PostTypeId") == QUESTION
    if question:
        tags = _tags(row.get("Tags"))
        board = next(
            (options.tag_boards[tag] for tag in tags if tag in options.tag_boards), options.default_board
        )
        if tags:
            body = f"{body}\n\nTags: " + ", ".join(f"`{tag}`" for tag in tags)
        title = " ".join(clean_text(row.get("Title")).split())[:MAX_TITLE] or f"Question {post_id}"
        closed = dump_time(row.get("ClosedDate"))
        staging.put("thread", {
            "type": "thread", "id": post_id, "category_id": int(staging.recall("board", board) or 1),
            "user_id": user["id"] if user else None, "title": title, "body": body or "(no text)",
            "created_at": created, "pinned": False, "locked": closed is not None, "locked_at": closed,
            "lock_reason": f"Closed on {options.site}" if closed else None,
            "opening_post": {"id": post_id, **state},
        })  # fmt: skip
        if (accepted := _number(row.get("AcceptedAnswerId"))) is not None:
            staging.remember("accepted", str(post_id), f"{post_id}:{accepted}")
        url = f"https://{options.site}/questions/{post_id}/{slugify(title, 'question')}"
        staging.extra(
            "old_url", f"/questions/{post_id}", {"url": url, "target_type": "thread", "target_id": post_id}
        )
    else:
        parent = _number(row.get("ParentId"))
        if parent is None:
            staging.skip("post", str(post_id), "an answer without a question")
            return
        staging.put("post", {
            "type": "post", "id": post_id, "thread_id": parent, "user_id": user["id"] if user else None,
            "body": body or "(no text)", "created_at": created, "is_solution": False, **state,
        }, thread_id=parent)  # fmt: skip
        url = f"https://{options.site}/a/{post_id}"
        staging.extra("old_url", f"/a/{post_id}", {"url": url, "target_type": "post", "target_id": post_id})
    staging.extra("origin", str(post_id), {
        "post_id": post_id, "source": source, "author_name": author_name, "created_at": created,
        "url": f"https://{options.site}/{'q' if question else 'a'}/{post_id}", "license": license_for(created),
    })  # fmt: skip
