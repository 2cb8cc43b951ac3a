"""Two app servers, one PostgreSQL database, separate instance folders (issue #19).

With UPLOAD_STORAGE = "database" the bytes of an upload live in the upload_blobs table, so a file
uploaded through one server is served by the other, byte for byte. With the default folder
storage each server keeps bytes in its own instance folder: the other one knows the upload (its
row is in the shared database) but not its bytes, and says so with a 404. That is why the
database storage exists (or a folder every server mounts).
"""

from __future__ import annotations

import http.client
import io
import json
import secrets
from pathlib import Path

import pytest
from PIL import Image

from forum.extensions import db
from tests.conftest import POSTGRES_SKIP_REASON
from tests.factories import PASSWORD, make_board, make_user
from tests.servers import gunicorn, request, server_env, session_cookie
from tests.test_uploads import png

pytestmark = pytest.mark.slow


@pytest.fixture(params=["postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """PostgreSQL only: SQLite is one file on one machine, not a database app servers share."""
    if POSTGRES_SKIP_REASON:
        pytest.skip(f"two app servers share a PostgreSQL database: {POSTGRES_SKIP_REASON}")
    return request.param


def fetch(port: int, path: str, cookie: str = "", accept: str = "") -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of a GET to 127.0.0.1:port."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    if accept:
        headers["Accept"] = accept
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def upload(port: int, cookie: str, data: bytes, name: str, alt: str) -> dict:
    """POST /uploads as the composer's script does: multipart, asking for JSON."""
    boundary = secrets.token_hex(16)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="alt"\r\n\r\n{alt}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "POST",
            "/uploads",
            body=body,
            headers={
                "Cookie": cookie,
                "Accept": "application/json",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        response = connection.getresponse()
        answer = response.read()
        assert response.status == 201, answer[:2000]
        return json.loads(answer)
    finally:
        connection.close()


def log_in(port: int, username: str) -> str:
    status, headers, _ = request(port, "POST", "/login", {"login": username, "password": PASSWORD})
    assert status == 302, f"{username} could not log in"
    return session_cookie(headers)


def post_thread(port: int, cookie: str, title: str, body: str) -> str:
    status, headers, _ = request(
        port, "POST", "/b/broadband/new", {"title": title, "body": body, "submit": "1"}, cookie
    )
    assert status == 302, f"the thread was not posted ({status})"
    return headers["Location"]


def two_servers(app, tmp_path: Path, name: str, **extra: str):
    """Environments of two servers on the test's database, each with its own instance folder."""
    return [
        server_env(app, tmp_path, FORUM_INSTANCE_PATH=str(tmp_path / f"{name}-{side}"), **extra)
        for side in ("a", "b")
    ]


def test_with_database_storage_a_file_uploaded_through_one_server_is_served_by_the_other(app, tmp_path):
    make_user("ann")
    make_board("Broadband", slug="broadband")
    db.session.commit()
    env_a, env_b = two_servers(app, tmp_path, "database", FORUM_UPLOAD_STORAGE="database")
    with gunicorn(env_a, workers=1) as (port_a, _), gunicorn(env_b, workers=1) as (port_b, _):
        cookie = log_in(port_a, "ann")
        answer = upload(port_a, cookie, png(1600, 900, (200, 30, 30)), "hub.png", "Hub with a red light")
        assert answer["is_image"] and answer["markdown"] == f"![Hub with a red light]({answer['url']})"
        thread_url = post_thread(
            port_a, cookie, "Red light on the hub", f"Since today:\n\n{answer['markdown']}"
        )
        thumbnail = answer["url"].rsplit(".", 1)[0] + "/thumbnail"

        status, _, page = fetch(port_b, thread_url)  # a visitor, through the other server
        assert status == 200 and f'src="{thumbnail}"'.encode() in page
        for path, size in ((answer["url"], (1600, 900)), (thumbnail, (640, 360))):
            status_a, headers_a, bytes_a = fetch(port_a, path, cookie)
            status_b, headers_b, bytes_b = fetch(port_b, path)
            assert (status_a, status_b) == (200, 200), path
            assert bytes_a == bytes_b and headers_a["ETag"] == headers_b["ETag"], path
            assert Image.open(io.BytesIO(bytes_b)).size == size
        for side in ("a", "b"):  # nothing on disk: the database holds the bytes
            assert not (tmp_path / f"database-{side}" / "uploads").exists()


def test_with_folder_storage_and_separate_instance_folders_the_other_server_lacks_the_bytes(app, tmp_path):
    make_user("bob")
    make_board("Broadband", slug="broadband")
    db.session.commit()
    env_a, env_b = two_servers(app, tmp_path, "folder")  # the default: <instance>/uploads
    with gunicorn(env_a, workers=1) as (port_a, _), gunicorn(env_b, workers=1) as (port_b, _):
        cookie = log_in(port_a, "bob")
        answer = upload(port_a, cookie, png(800, 600, (30, 30, 200)), "router.png", "Router lights")
        post_thread(port_a, cookie, "Blue light on the router", answer["markdown"])
        assert fetch(port_a, answer["url"])[0] == 200
        status, _, body = fetch(port_b, answer["url"], accept="application/json")
        assert status == 404  # B knows the upload (shared database), not its bytes (A's folder)
        assert json.loads(body)["error"] == "This file is missing from the forum's storage."
        status, _, page = fetch(port_b, answer["url"])
        assert status == 404 and b"missing from the forum&#39;s storage" in page
    stored = list((tmp_path / "folder-a" / "uploads").glob("??/*"))
    assert len(stored) == 2  # the image and its thumbnail, in A's instance folder only
    assert not (tmp_path / "folder-b" / "uploads").exists()
