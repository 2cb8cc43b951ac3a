"""A mailing-list or Google Groups archive (mbox) to the forum data format.

Messages are read one at a time (the file is split on its "From " lines, never loaded whole).
Threads follow Message-ID, In-Reply-To and References (a reply whose parent is not in the
archive joins the earliest thread of the same subject when its subject says "Re:"); each
thread is one list subject, each later message a reply. Bodies: the plain-text part (or the
HTML part converted), quoted text of the previous message folded away, signatures and list
footers cut, attachments named but not imported. E-mail addresses are never written: not in
the names, not in the bodies, not in the members' records (--claimable keeps the senders'
addresses, unpublished, so that members can claim their accounts by password reset).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any

from forum.lifeboat.markdown import html_to_markdown
from forum.lifeboat.staging import MAX_BODY, MAX_TITLE, ConversionError, Oversized, Staging, clean_text, iso

MAX_MESSAGE = 4 * MAX_BODY  # bytes of one message, attachments included, that are parsed at all
SUBJECT_PREFIX = re.compile(r"^\s*((re|aw|sv|fwd?|fw|antw)\s*(\[\d+\])?\s*:\s*|\[[^\]]{1,60}\]\s*)+", re.I)
REPLY_PREFIX = re.compile(r"^\s*(\[[^\]]{1,60}\]\s*)?(re|aw|sv|antw)\s*(\[\d+\])?\s*:", re.I)
ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
MESSAGE_ID = re.compile(r"<([^<>\s]{1,250})>")
WROTE = re.compile(
    r"^(.{0,200}\b(wrote|writes|schrieb|a écrit|escribió)\s*:?|-+ ?original message ?-+)\s*$", re.I
)
FOOTERS = (
    re.compile(r"^_{20,}\s*$"),  # Mailman: "____...\nlistname mailing list\n..."
    re.compile(r"^--\s*$"),  # a signature ("-- "), or Google Groups' footer after "--"
    re.compile(r"^you received this message because you are subscribed to", re.I),
    re.compile(r"^to unsubscribe from this group", re.I),
)


@dataclass
class Options:
    list_name: str
    board: str
    claimable: bool = False
    skip_oversized: bool = False


def split_mbox(path: Path, progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, bytes]]:
    """(sequence number, raw message) for each message of an mbox file; bounded per message."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed below; a generator holds it)
    except OSError as error:
        raise ConversionError(f"{path}: cannot be read ({error.strerror or error})") from error
    with handle:
        first = handle.readline()
        if not first.startswith(b"From "):
            raise ConversionError(f"{path}: not an mbox file (it must start with a 'From ' line)")
        if progress:
            progress(len(first))
        number, lines, size, oversized, previous_blank = 0, [], 0, False, True
        for line in handle:
            if progress:
                progress(len(line))
            if line.startswith(b"From ") and previous_blank:
                number += 1
                yield number, (b"" if oversized else b"".join(lines))
                lines, size, oversized = [], 0, False
                continue
            previous_blank = line.strip() == b""
            if line.startswith(b">") and line.lstrip(b">").startswith(b"From "):
                line = line[1:]  # mboxrd quoting
            size += len(line)
            if size > MAX_MESSAGE:
                oversized, lines = True, []
            elif not oversized:
                lines.append(line)
        number += 1
        yield number, (b"" if oversized else b"".join(lines))


def _message_id(value: Any) -> str | None:
    match = MESSAGE_ID.search(str(value or ""))
    return match.group(1).lower() if match else None


def _parents(message: EmailMessage) -> list[str]:
    """Parent candidates, nearest first: In-Reply-To, then References from last to first."""
    found = []
    for header in ("In-Reply-To", "References"):
        ids = [m.lower() for m in MESSAGE_ID.findall(str(message.get(header, "") or ""))]
        found.extend(ids if header == "In-Reply-To" else reversed(ids))
    return list(dict.fromkeys(found))


def normal_subject(subject: str) -> str:
    return " ".join(SUBJECT_PREFIX.sub("", subject).split()).lower()


def _date(message: EmailMessage) -> str | None:
    try:
        moment = parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1970 <= moment.year <= datetime.now(UTC).year + 1:
        return None
    return iso(moment)


def _header(message: EmailMessage, name: str) -> str:
    try:
        return clean_text(str(message.get(name, "") or ""))
    except (ValueError, LookupError):  # an undecodable encoded word
        return ""


def _parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[return-value]


def convert(
    path: Path, staging: Staging, options: Options, progress: Callable[[str, int], Any]
) -> dict[str, int]:
    """Three passes over the file: headers, threads, then bodies (each stage resumable)."""
    size = os.path.getsize(path)
    db = staging.db
    db.execute(
        "CREATE TABLE IF NOT EXISTS mbox_messages (seq INTEGER PRIMARY KEY, message_id TEXT UNIQUE, parents TEXT,"
        " subject TEXT, date TEXT, root INTEGER)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS mbox_date ON mbox_messages (date, seq)")
    db.execute("CREATE TABLE IF NOT EXISTS mbox_subjects (subject TEXT PRIMARY KEY, root INTEGER)")
    if not staging.stage_done("headers"):
        last_date = "2000-01-01T00:00:00Z"
        for seq, raw in split_mbox(path, progress("Reading headers", size)):
            if not raw:
                staging.skip("message", str(seq), f"larger than {MAX_MESSAGE:,} bytes")
                continue
            message = _parse(raw)
            date = _date(message) or last_date
            last_date = date
            message_id = (
                _message_id(message.get("Message-ID")) or "lifeboat-" + hashlib.sha256(raw).hexdigest()
            )
            if db.execute(
                "SELECT 1 FROM mbox_messages WHERE message_id = ? AND seq != ?", (message_id, seq)
            ).fetchone():
                staging.skip("message", str(seq), "the same Message-ID as an earlier message (a copy)")
                continue
            db.execute(
                "INSERT OR REPLACE INTO mbox_messages VALUES (?, ?, ?, ?, ?, NULL)",
                (seq, message_id, json.dumps(_parents(message)), _header(message, "Subject"), date),
            )
        staging.finish_stage("headers")
    if not staging.stage_done("threads"):
        _thread(staging)
        staging.finish_stage("threads")
    if not staging.stage_done("bodies"):
        for seq, raw in split_mbox(path, progress("Converting", size)):
            row = db.execute("SELECT root, subject, date FROM mbox_messages WHERE seq = ?", (seq,)).fetchone()
            if row is None or not raw:
                continue
            try:
                _store(staging, seq, _parse(raw), row, options)
            except Oversized:
                if not options.skip_oversized:
                    raise
                staging.skip("message", str(seq), f"longer than {MAX_BODY:,} characters")
        staging.put("category", {
            "type": "category", "id": 1, "slug": options.board, "name": options.list_name[:80],
            "description": f"Imported from the {options.list_name} mailing list archive"[:1000], "position": 1,
        })  # fmt: skip
        staging.finish_stage("bodies")
    return {
        "messages": int(db.execute("SELECT count(*) FROM mbox_messages").fetchone()[0]),
        "threads": staging.count("thread"),
        "replies": staging.count("post"),
        "members": staging.count("user"),
    }


def _thread(staging: Staging) -> None:
    """Each message's root: its parent's root; without a known parent, a "Re:" joins its subject."""
    db = staging.db
    ids = {}
    for seq, message_id in db.execute("SELECT seq, message_id FROM mbox_messages"):
        ids[message_id] = seq  # message ids only: the one index threading needs in memory
    done: dict[int, int] = {}

    def root_of(seq: int) -> int:
        chain, current = [], seq
        while current not in done and current not in chain and len(chain) < 10_000:
            chain.append(current)
            parents, subject = db.execute(
                "SELECT parents, subject FROM mbox_messages WHERE seq = ?", (current,)
            ).fetchone()
            parent = next((ids[p] for p in json.loads(parents) if p in ids and ids[p] != current), None)
            if parent is None:
                key = normal_subject(subject)
                known = db.execute("SELECT root FROM mbox_subjects WHERE subject = ?", (key,)).fetchone()
                if known and REPLY_PREFIX.match(subject) and key:
                    parent = known[0]
                else:
                    done[current] = current
                    db.execute("INSERT OR IGNORE INTO mbox_subjects VALUES (?, ?)", (key, current))
                    break
            current = parent
        root = done.get(current, current)
        for item in chain:
            done[item] = root
        return root

    for (seq,) in db.execute("SELECT seq FROM mbox_messages ORDER BY date, seq").fetchall():
        db.execute("UPDATE mbox_messages SET root = ? WHERE seq = ?", (root_of(seq), seq))
    staging.commit()


def _sender(
    staging: Staging, message: EmailMessage, options: Options, source: str, date: str
) -> tuple[int, str]:
    """The member for the message's sender (one per address, joined with their first message)."""
    pairs = getaddresses([_header(message, "From")])
    name, address = pairs[0] if pairs else ("", "")
    address = address.strip().lower()
    name = ADDRESS.sub("", name).strip(" \"'<>") or "Anonymous"
    owner = hashlib.sha256(address.encode()).hexdigest()[:24] if address else "anonymous"
    row = staging.db.execute(
        "SELECT value FROM scratch WHERE kind = 'sender' AND key = ?", (owner,)
    ).fetchone()
    if row:
        user = staging.get("user", int(row[0]))
        if user is not None and date < user["joined_at"]:
            staging.update("user", user["id"], joined_at=date)
        return int(row[0]), name
    user_id = int(staging.db.execute("SELECT count(*) FROM scratch WHERE kind = 'sender'").fetchone()[0]) + 1
    staging.remember("sender", owner, str(user_id))
    staging.put("user", {
        "type": "user", "id": user_id, "username": staging.username(owner, name), "display_name": name[:60],
        "joined_at": date, "bio": "", "is_employee": False, "is_moderator": False,
        "email": staging.email(owner, address) if options.claimable else None,
    })  # fmt: skip
    staging.extra("imported_member", str(user_id), {
        "user_id": user_id, "source": source, "original_name": name[:200], "profile_url": None,
    })  # fmt: skip
    return user_id, name


def _store(staging: Staging, seq: int, message: EmailMessage, row: tuple[Any, ...], options: Options) -> None:
    root, subject, date = row
    source = f"Mailing list {options.list_name}"
    user_id, name = _sender(staging, message, options, source, date)
    body = message_markdown(message)
    if len(body) > MAX_BODY:
        raise Oversized("message", seq, len(body), "messages")
    if seq == root:
        title = " ".join(SUBJECT_PREFIX.sub("", subject).split())[:MAX_TITLE] or "(no subject)"
        staging.put("thread", {
            "type": "thread", "id": seq, "category_id": 1, "user_id": user_id, "title": ADDRESS.sub("[address]", title),
            "body": body, "created_at": date, "opening_post": {"id": seq},
        })  # fmt: skip
    else:
        staging.put("post", {
            "type": "post", "id": seq, "thread_id": root, "user_id": user_id, "body": body, "created_at": date,
        }, thread_id=root)  # fmt: skip
    staging.extra("origin", str(seq), {
        "post_id": seq, "source": source, "author_name": name[:200], "created_at": date, "url": None, "license": None,
    })  # fmt: skip


# -- bodies --------------------------------------------------------------------------------------


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError, ValueError):  # unknown charset or broken encoding
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("latin-1", "replace") if isinstance(payload, bytes) else str(payload)
    return content if isinstance(content, str) else ""


def message_markdown(message: EmailMessage) -> str:
    """The message's text as Markdown: quotes folded, signature and footers cut, attachments named."""
    body_part = message.get_body(preferencelist=("plain", "html"))
    if body_part is None:
        text = ""
    elif body_part.get_content_type() == "text/html":
        text = html_to_markdown(_text_of(body_part))
    else:
        text = plain_to_markdown(_text_of(body_part))
    notes = []
    for part in message.iter_attachments():
        if part is body_part:
            continue
        filename = clean_text(part.get_filename() or "", 120).replace("`", "'") or "(unnamed)"
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        notes.append(f"- `{filename}` ({part.get_content_type()}, {size:,} bytes)")
    if notes:
        text += "\n\n*Attachments on the list, not imported:*\n\n" + "\n".join(notes)
    text = ADDRESS.sub("[address hidden]", clean_text(text))
    return text.strip() or "(no text)"


def plain_to_markdown(text: str) -> str:
    """A plain-text mail body for Markdown: cut at the signature or list footer, trailing quote folded."""
    lines = text.replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines):
        if any(pattern.match(line) for pattern in FOOTERS):
            lines = lines[:number]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    # The previous message quoted in full at the end (and its "On ... wrote:"): folded away.
    end = len(lines)
    while end and (lines[end - 1].startswith(">") or not lines[end - 1].strip()):
        end -= 1
    if end < len(lines):
        if end and WROTE.match(lines[end - 1].strip()):
            end -= 1
        quoted_from = end
        while end and not lines[end - 1].strip():
            end -= 1
        quoted = sum(1 for line in lines[quoted_from:] if line.startswith(">"))
        lines = [*lines[:end], "", f"*[{quoted} quoted lines folded]*"] if quoted else lines[:end]
    # A quote at the top of a reply followed by the answer below ("top-quoting") is kept, short.
    out, run = [], 0
    for line in lines:
        run = run + 1 if line.startswith(">") else 0
        if run <= 6:
            out.append(line if not line.startswith(">") else "> " + line.lstrip("> ").rstrip())
        elif run == 7:
            out.append("> …")
    # Hard line breaks are kept by the forum's Markdown; headings and HTML need no help.
    return "\n".join(out).strip()
