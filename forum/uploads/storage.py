"""Where upload bytes live, behind one small interface.

- "folder" (the default): <instance>/uploads/ab/abcdef...; nothing to run. One app server,
  or several that mount the same folder.
- "database": the upload_blobs table. Every app server that shares the database shares
  the files, with no other service; the trade-off is a bigger database and its backups,
  and file reads that go through the database (fine for support screenshots and logs of a
  few megabytes; a community with terabytes of video would want an object store).

Keys are SHA-256 hex digests of the stored bytes, so a write is idempotent and a file is
stored once however many members upload it.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from forum.db import utcnow
from forum.extensions import db
from forum.uploads.models import UploadBlob

_KEY = re.compile(r"[0-9a-f]{64}")


class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes | None: ...
    def delete(self, key: str) -> None: ...
    def keys(self, before: datetime) -> set[str]: ...


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a content hash: {key!r}")
    return key


class FolderStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / _checked(key)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if path.exists():
            os.utime(path)  # fresh again: cleanup leaves bytes alone while an upload may be in flight
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a reader never sees half a file, two writers never mix.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, before: datetime) -> set[str]:
        """The stored keys written before `before`."""
        if not self.root.is_dir():
            return set()
        limit = before.timestamp()
        return {
            path.name
            for path in self.root.glob("??/*")
            if _KEY.fullmatch(path.name) and path.stat().st_mtime < limit
        }


class DatabaseStorage:
    """Blobs in the forum's own database, in the caller's transaction (the caller commits)."""

    def put(self, key: str, data: bytes) -> None:
        """Core statements, not ORM objects: the session never holds the bytes (a restore puts
        thousands of files in one transaction)."""
        fresh = update(UploadBlob).where(UploadBlob.sha256 == _checked(key)).values(created_at=utcnow())
        if db.session.execute(fresh).rowcount:
            return  # stored already, and fresh again, as FolderStorage does
        try:
            with db.session.begin_nested():
                db.session.execute(insert(UploadBlob).values(sha256=key, data=data, created_at=utcnow()))
        except IntegrityError:
            pass  # another server stored the same bytes a moment ago

    def get(self, key: str) -> bytes | None:
        return db.session.scalar(select(UploadBlob.data).where(UploadBlob.sha256 == _checked(key)))

    def delete(self, key: str) -> None:
        db.session.execute(delete(UploadBlob).where(UploadBlob.sha256 == _checked(key)))

    def keys(self, before: datetime) -> set[str]:
        return set(db.session.scalars(select(UploadBlob.sha256).where(UploadBlob.created_at < before)))


def storage() -> Storage:
    return current_app.extensions["forum.uploads.storage"]


def init_storage(app: Flask) -> None:
    kind = app.config["UPLOAD_STORAGE"]
    if kind == "folder":
        folder = app.config["UPLOAD_FOLDER"] or os.path.join(app.instance_path, "uploads")
        app.extensions["forum.uploads.storage"] = FolderStorage(Path(folder))
    elif kind == "database":
        app.extensions["forum.uploads.storage"] = DatabaseStorage()
    else:
        from forum.config import ConfigurationError

        raise ConfigurationError(f'UPLOAD_STORAGE is {kind!r}; it must be "folder" or "database".')
