"""Checking and converting record fields: the format's types, with messages for people."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from forum.db import MAX_ID  # the id columns are 32-bit integers on PostgreSQL

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class RecordError(Exception):
    """A record the importer refuses; the importer adds the line number."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def iso(moment: datetime | None) -> str | None:
    """A timestamp as the format writes it: UTC, whole seconds, "Z"."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    return datetime(
        int(value[0:4]), int(value[5:7]), int(value[8:10]),
        int(value[11:13]), int(value[14:16]), int(value[17:19]), tzinfo=UTC,
    )  # fmt: skip


class IdSet:
    """Which positive integer ids were seen: a bitmap, so memory is max id / 8 bytes, not a set."""

    def __init__(self) -> None:
        self.bits = bytearray()
        self.max = 0

    def add(self, number: int) -> bool:
        """Add `number`; False if it was there already."""
        byte, bit = divmod(number, 8)
        if byte >= len(self.bits):
            self.bits.extend(bytes(byte - len(self.bits) + 1024))
        if self.bits[byte] & (1 << bit):
            return False
        self.bits[byte] |= 1 << bit
        self.max = max(self.max, number)
        return True

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int) or number < 0:
            return False
        byte, bit = divmod(number, 8)
        return byte < len(self.bits) and bool(self.bits[byte] & (1 << bit))


# -- field checks: each returns the value or raises RecordError ---------------------------------


def _get(record: dict[str, Any], name: str, required: bool) -> Any:
    if name not in record:
        if required:
            raise RecordError(f"{record.get('type')} record has no {name!r} field")
        return None
    return record[name]


def ident(record: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = _get(record, name, required)
    if value is None and not required:
        return None
    if type(value) is not int or not 1 <= value <= MAX_ID:
        raise RecordError(f"{name!r} must be a positive integer (at most {MAX_ID}), not {value!r}")
    return value


def text(
    record: dict[str, Any], name: str, *, required: bool = True, max_length: int | None = None,
    pattern: re.Pattern[str] | None = None, nullable: bool = False,
) -> str | None:  # fmt: skip
    value = _get(record, name, required)
    if value is None and (nullable or not required):
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name!r} must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise RecordError(f"{name!r} contains a NUL character")
    if max_length is not None and len(value) > max_length:
        raise RecordError(f"{name!r} is {len(value)} characters long; at most {max_length} are allowed")
    if pattern is not None and not pattern.match(value):
        raise RecordError(f"{name!r} value {value!r} does not match {pattern.pattern}")
    return value


def flag(record: dict[str, Any], name: str, *, required: bool = True) -> bool:
    value = _get(record, name, required)
    if value is None and not required:
        return False
    if not isinstance(value, bool):
        raise RecordError(f"{name!r} must be true or false, not {value!r}")
    return value


def timestamp(record: dict[str, Any], name: str, *, required: bool = True) -> datetime | None:
    """A required timestamp, or (required=False) one that may be missing or null."""
    value = _get(record, name, required)
    if value is None:
        if required:
            raise RecordError(f"{name!r} must be a timestamp, not null")
        return None
    if not isinstance(value, str) or not TIMESTAMP.match(value):
        raise RecordError(f"{name!r} must be a UTC timestamp like 2022-03-14T09:26:53Z, not {value!r}")
    try:
        return parse_time(value)
    except ValueError as error:
        raise RecordError(f"{name!r} is not a real date: {value!r}") from error


def obj(record: dict[str, Any], name: str) -> dict[str, Any]:
    """An optional nested object ({} when missing)."""
    value = record.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"{name!r} must be an object")
    return value
