"""The files folder beside a data file: uploaded files' bytes, each named by its SHA-256.

`backup.jsonl` has its files in `backup.jsonl.files/`: a record names a file by its hash, so
the JSONL stays text, a file shared by several uploads is there once, and a name is its own
checksum. The export writes the folder, the import reads it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from forum.exchange.fields import RecordError

HASH = re.compile(r"^[0-9a-f]{64}$")


def files_folder(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    return target.with_name(target.name + ".files")


def read_file(folder: Path | None, key: str) -> bytes:
    """The bytes of file `key`, checked against their name; RecordError when missing or damaged."""
    if folder is None or not (folder / key).is_file():
        raise RecordError(f"file {key} is not in the files folder {folder or '(none)'}")
    data = (folder / key).read_bytes()
    if hashlib.sha256(data).hexdigest() != key:
        raise RecordError(f"file {key} in {folder} is damaged: its content does not match its name")
    return data


def write_files(folder: Path, keys: set[str], *, private: bool) -> None:
    """Copy the stored files `keys` into `folder`; RecordError when the storage lacks one.

    Files already there with the right content are kept: a second backup copies only what is new.
    """
    from forum.uploads.storage import storage

    if not keys and not folder.exists():
        return  # a forum without uploads: no folder
    folder.mkdir(exist_ok=True)
    if private:
        folder.chmod(0o700)  # a backup's files include those of hidden posts
    for key in sorted(keys):
        path = folder / key
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == key:
            continue
        data = storage().get(key)
        if data is None:
            raise RecordError(
                f"file {key} is missing from the forum's upload storage, so the export could not "
                "be restored; put the file back into the storage and export again"
            )
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, path)


def remove_other_files(folder: Path, keys: set[str]) -> None:
    """After the new file is in place: a public export never keeps a file a backup left there."""
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file() and path.name not in keys:
                path.unlink()
