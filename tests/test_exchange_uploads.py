"""Uploads in backups, public archives and the static site (issue #19): the rows as records, the
bytes in the files folder beside the file, restored through the storage (folder or database)."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image
from sqlalchemy import func, select

from forum.auth.models import User
from forum.boards.models import Post
from forum.db import utcnow
from forum.extensions import db
from forum.moderation import services as moderation
from forum.uploads import services as uploads
from forum.uploads.models import Upload, UploadUse
from forum.uploads.storage import storage
from tests.factories import login, make_board, make_reply, make_thread, make_user
from tests.factories_exchange import empty_database, read_records, run, write_records
from tests.factories_wiki import make_page


def image(width: int, height: int, colour: tuple[int, int, int], kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture(params=["folder", "database"])
def upload_storage(request, app_config) -> str:
    """Before `app`: the storage the forum (and its restore) puts the bytes in."""
    app_config["UPLOAD_STORAGE"] = request.param
    return request.param


def build_forum_with_files() -> dict[str, SimpleNamespace]:
    """Ann's photo (with a thumbnail) and log in a thread, a picture on a wiki page, her profile
    picture, an image in a post a moderator hid, and an upload she never posted."""
    ann = make_user("ann", created_at=utcnow() - timedelta(days=30))
    mod = make_user("maria", role="moderator")
    files = {
        "photo": uploads.upload_file(ann, image(1200, 900, (200, 40, 40), "JPEG"), "router.jpg"),
        "log": uploads.upload_file(ann, b"12:00 WAN down\n12:05 WAN up\n", "router.log"),
        "diagram": uploads.upload_file(ann, image(50, 40, (0, 0, 200)), "diagram.png"),
        "hidden": uploads.upload_file(ann, image(60, 40, (0, 200, 0)), "my-address.png"),
        "orphan": uploads.upload_file(ann, image(70, 40, (90, 90, 90)), "never-posted.png"),
        "avatar": uploads.set_avatar(ann, image(300, 200, (10, 10, 10)), "me.png"),
    }
    db.session.commit()
    thread = make_thread(make_board("Broadband"), ann, title="Router lights",
                         body=f"Look: {uploads.markdown_for(files['photo'])}")  # fmt: skip
    make_reply(thread, ann, body=f"The log: {uploads.markdown_for(files['log'])}")
    hidden = make_reply(thread, ann, body=uploads.markdown_for(files["hidden"]))
    moderation.hide_post(db.session.get(Post, hidden.id), "Personal data", actor=mod)
    db.session.commit()
    make_page("Wiring", f"How it connects: {uploads.markdown_for(files['diagram'])}", author=ann)
    assert files["photo"].thumb_sha256 and files["photo"].thumb_content_type == "image/jpeg"
    # Plain values: an export detaches every row from the session.
    return {
        name: SimpleNamespace(id=u.id, sha256=u.sha256, thumb_sha256=u.thumb_sha256, name=u.name, url=u.url,
                              thumbnail_url=u.thumbnail_url)
        for name, u in files.items()
    }  # fmt: skip


def addresses(files: dict[str, SimpleNamespace]) -> dict[str, str]:
    found = {name: upload.url for name, upload in files.items()}
    found["thumbnail"] = files["photo"].thumbnail_url
    return found


def served(client, urls: dict[str, str]) -> dict[str, tuple[int, bytes]]:
    return {name: (r.status_code, r.data) for name, url in urls.items() for r in [client.get(url)]}


def stored_keys() -> set[str]:
    return storage().keys(before=utcnow() + timedelta(days=1))


def wipe_storage() -> None:
    """A new server: no bytes but those the restore puts back."""
    for key in stored_keys():
        storage().delete(key)
    db.session.commit()


def folder_of(path: Path) -> dict[str, bytes]:
    folder = path.with_name(path.name + ".files")
    return {file.name: file.read_bytes() for file in sorted(folder.iterdir())}


def file_keys(files: dict[str, SimpleNamespace], *names: str) -> set[str]:
    keys = {files[name].sha256 for name in names}
    return keys | {files[name].thumb_sha256 for name in names if files[name].thumb_sha256}


# -- backup and restore ------------------------------------------------------------------------


def test_backup_restores_rows_and_bytes_served_at_the_same_addresses(upload_storage, app, make_client, runner,
                                                                      tmp_path):  # fmt: skip
    files = build_forum_with_files()
    urls = addresses(files)
    ann, visitor = make_client(), make_client()
    login(ann, "ann")
    before_ann, before_visitor = served(ann, urls), served(visitor, urls)
    assert all(status == 200 for status, _ in before_ann.values())  # the owner sees all of hers
    assert {name for name, (status, _) in before_visitor.items() if status == 200} == {
        "photo",
        "thumbnail",
        "log",
        "diagram",
        "avatar",
    }
    backup = tmp_path / "backup.jsonl"
    result = run(runner, "export", backup, "--full")
    assert result.exit_code == 0, result.output
    assert set(folder_of(backup)) == file_keys(files, *files) == stored_keys()
    assert backup.with_name("backup.jsonl.files").stat().st_mode & 0o077 == 0
    records = read_records(backup)
    assert records[0]["counts"]["upload"] == 6 and records[0]["counts"]["upload_use"] == 4
    empty_database()
    wipe_storage()
    assert not stored_keys()
    result = run(runner, "import", backup)
    assert result.exit_code == 0, result.output
    assert stored_keys() == file_keys(files, *files)
    # The same bytes at the same addresses, for the same people; the rules came back with them.
    ann, visitor = make_client(), make_client()
    login(ann, "ann")
    assert served(ann, urls) == before_ann
    assert served(visitor, urls) == before_visitor
    restored = db.session.scalar(select(User).where(User.username == "ann"))
    assert restored.avatar_sha256 == files["avatar"].sha256


@pytest.mark.parametrize("kind", ["--full", "--public"])
def test_round_trip_of_records_and_files_is_byte_identical(upload_storage, app, runner, tmp_path, kind):
    build_forum_with_files()
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert run(runner, "export", first, kind).exit_code == 0
    empty_database()
    wipe_storage()
    result = run(runner, "import", first)
    assert result.exit_code == 0, result.output
    assert run(runner, "export", second, kind).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert folder_of(first) == folder_of(second)
    for name, data in folder_of(first).items():
        assert hashlib.sha256(data).hexdigest() == name


def test_merge_joins_a_members_uploads_that_the_forum_has_already(app, runner, tmp_path):
    files = build_forum_with_files()
    backup = tmp_path / "backup.jsonl"
    assert run(runner, "export", backup, "--full").exit_code == 0
    result = run(runner, "import", backup, "--merge")  # the same people (by e-mail), the same files
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Upload)) == len(files)
    assert db.session.scalar(select(func.count()).select_from(UploadUse)) == 2 * 4  # the copies show them
    assert stored_keys() == file_keys(files, *files)


# -- the public archive ------------------------------------------------------------------------


def test_public_export_has_files_of_public_posts_pages_and_avatars_only(app, runner, tmp_path):
    files = build_forum_with_files()
    archive = tmp_path / "archive.jsonl"
    assert run(runner, "export", archive, "--full").exit_code == 0  # a backup first, same name
    assert run(runner, "export", archive, "--public").exit_code == 0
    records = read_records(archive)
    public = file_keys(files, "photo", "log", "diagram", "avatar")
    assert {r["sha256"] for r in records if r["type"] == "upload"} == {files[n].sha256 for n in
                                                                        ("photo", "log", "diagram", "avatar")}  # fmt: skip
    assert set(folder_of(archive)) == public  # the backup's private files are gone from the folder
    text = archive.read_text(encoding="utf-8")
    for private in ("hidden", "orphan"):
        assert files[private].sha256 not in text and files[private].name not in text
    assert "removed_reason" not in text
    uses = [r for r in records if r["type"] == "upload_use"]
    hidden_post = db.session.scalar(select(Post).where(Post.hidden_at.is_not(None)))
    assert len(uses) == 3 and hidden_post.id not in {use["post_id"] for use in uses}
    # Once a moderator removes the photo, it leaves the archive too.
    moderation_user = db.session.scalar(select(User).where(User.username == "maria"))
    uploads.remove_upload(
        db.session.get(Upload, files["photo"].id), "Shows a serial number", actor=moderation_user
    )
    db.session.commit()
    assert run(runner, "export", archive, "--public").exit_code == 0
    assert set(folder_of(archive)) == file_keys(files, "log", "diagram", "avatar")


# -- the static site ---------------------------------------------------------------------------


def test_static_site_has_the_files_its_pages_show_with_relative_links(app, runner, tmp_path):
    files = build_forum_with_files()
    site = tmp_path / "site"
    result = run(runner, "static-site", site)
    assert result.exit_code == 0, result.output
    photo, log, diagram = files["photo"], files["log"], files["diagram"]
    thread_page = next((site / "t").glob("*/index.html")).read_text(encoding="utf-8")
    assert f'href="../../uploads/{photo.sha256}.jpg"' in thread_page
    assert f'src="../../uploads/{photo.sha256}-thumbnail.jpg"' in thread_page
    assert f'href="../../uploads/{log.sha256}.log"' in thread_page and "/uploads/" not in thread_page.replace(
        "../../uploads/", ""
    )
    wiki_page = (site / "wiki" / "wiring.html").read_text(encoding="utf-8")
    assert f'src="../uploads/{diagram.sha256}.png"' in wiki_page
    written = {path.name: path.read_bytes() for path in (site / "uploads").iterdir()}
    assert set(written) == {f"{photo.sha256}.jpg", f"{photo.sha256}-thumbnail.jpg", f"{log.sha256}.log",
                            f"{diagram.sha256}.png"}  # fmt: skip
    assert written[f"{photo.sha256}.jpg"] == storage().get(photo.sha256)
    assert written[f"{photo.sha256}-thumbnail.jpg"] == storage().get(photo.thumb_sha256)


def test_static_site_leaves_out_files_that_are_not_public(app, runner, tmp_path):
    files = build_forum_with_files()
    moderator = db.session.scalar(select(User).where(User.username == "maria"))
    uploads.remove_upload(db.session.get(Upload, files["log"].id), "Private log", actor=moderator)
    db.session.commit()
    site = tmp_path / "site"
    assert run(runner, "static-site", site).exit_code == 0
    written = {path.name.split(".")[0].split("-")[0] for path in (site / "uploads").iterdir()}
    assert written == {files["photo"].sha256, files["diagram"].sha256}


def test_export_refuses_to_write_a_backup_whose_files_are_missing(app, runner, tmp_path):
    files = build_forum_with_files()
    storage().delete(files["diagram"].sha256)
    db.session.commit()
    backup = tmp_path / "backup.jsonl"
    result = run(runner, "export", backup, "--full")
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert f"file {files['diagram'].sha256} is missing from the forum's upload storage" in result.output
    assert not backup.exists()


# -- bad records and missing files -------------------------------------------------------------

META = {"type": "meta", "format": "roundabout-corpus", "version": 1}
USER = {"type": "user", "id": 1, "username": "ann", "joined_at": "2024-01-01T00:00:00Z"}
LOG = b"12:00 WAN down\n"
LOG_KEY = hashlib.sha256(LOG).hexdigest()


def upload_record(**fields) -> dict:
    record = {"type": "upload", "id": 1, "owner_id": 1, "kind": "file", "sha256": LOG_KEY,
              "content_type": "text/plain", "extension": "log", "name": "router.log", "size": len(LOG),
              "width": None, "height": None, "thumb_sha256": None, "thumb_content_type": None,
              "created_at": "2024-01-02T00:00:00Z"}  # fmt: skip
    record.update(fields)
    return record


THREAD = {"type": "thread", "id": 1, "category_id": 1, "user_id": 1, "title": "Router log", "body": "See",
          "created_at": "2024-01-02T00:00:00Z"}  # fmt: skip
CATEGORY = {"type": "category", "id": 1, "slug": "broadband", "name": "Broadband"}
USE = {"type": "upload_use", "id": 1, "upload_id": 1, "created_at": "2024-01-02T00:00:00Z"}


@pytest.mark.parametrize(
    ("records", "files", "message"),
    [
        ([upload_record()], {}, f"line 3: file {LOG_KEY} is not in the files folder"),
        ([upload_record()], {LOG_KEY: b"something else"}, "is damaged: its content does not match its name"),
        ([upload_record(size=99)], {LOG_KEY: LOG}, "line 3: 'size' is 99, but file"),
        (
            [upload_record(content_type="text/html", extension="html")],
            {LOG_KEY: LOG},
            "cannot be 'text/html'",
        ),
        ([upload_record(kind="video")], {LOG_KEY: LOG}, "'kind' must be one of image, file, avatar"),
        ([upload_record(sha256="../../etc/passwd")], {}, "'sha256' value '../../etc/passwd' does not match"),
        ([upload_record(thumb_sha256=LOG_KEY)], {LOG_KEY: LOG}, "go together, or neither"),
        ([upload_record(owner_id=7)], {LOG_KEY: LOG}, "owner_id 7 refers to no user on an earlier line"),
        ([upload_record(), USE], {LOG_KEY: LOG}, "line 4: an upload_use names either a 'post_id' or a"),
        (
            [upload_record(), dict(USE, upload_id=2, post_id=1)],
            {LOG_KEY: LOG},
            "upload_id 2 refers to no upload",
        ),
        ([], {}, f"line 2: file {'ab' * 32} is not in the files folder"),
    ],
)
def test_bad_upload_records_and_missing_files_stop_the_import_with_a_message(
    runner, tmp_path, records, files, message
):
    user = dict(USER, avatar_sha256="ab" * 32) if not records else USER
    path = write_records(tmp_path / "bad.jsonl", [META, user, *records, CATEGORY, THREAD])
    if files:
        folder = tmp_path / "bad.jsonl.files"
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)
    result = run(runner, "import", path)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert message in result.output and "Nothing was imported" in result.output
    assert "Traceback" not in result.output
    assert db.session.scalar(select(User.id)) is None and not stored_keys()


def test_the_same_records_with_their_file_import(runner, tmp_path):
    path = write_records(tmp_path / "good.jsonl", [META, USER, upload_record()])
    (tmp_path / "good.jsonl.files").mkdir()
    (tmp_path / "good.jsonl.files" / LOG_KEY).write_bytes(LOG)
    result = run(runner, "import", path)
    assert result.exit_code == 0, result.output
    assert storage().get(LOG_KEY) == LOG and db.session.scalar(select(Upload.name)) == "router.log"


def test_a_forum_without_the_uploads_feature_refuses_a_file_with_uploads_and_says_how(
    app, tmp_path, app_config
):
    """`app` made the tables; the same database, served without uploads, imports the file."""
    from forum import create_app
    from forum.config import FEATURES

    without = create_app({**app_config, "FEATURES": tuple(name for name in FEATURES if name != "uploads")})
    path = write_records(tmp_path / "good.jsonl", [META, USER, upload_record()])
    (tmp_path / "good.jsonl.files").mkdir()
    (tmp_path / "good.jsonl.files" / LOG_KEY).write_bytes(LOG)
    with without.app_context():
        try:
            result = run(without.test_cli_runner(), "import", path)
            assert result.exit_code == 1 and "Traceback" not in result.output, result.output
            assert "runs without the uploads feature; add 'uploads' to FORUM_FEATURES" in result.output
            assert "Nothing was imported" in result.output and db.session.scalar(select(User.id)) is None
        finally:  # this app's own connections, not left for the garbage collector
            db.session.remove()
            db.engine.dispose()
