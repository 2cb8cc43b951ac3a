"""Uploads (issue #19): images re-encoded without metadata, hostile files refused with a reason and
nothing stored, the access rules of the posts that show them, quotas, removal and cleanup."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from forum.auth.models import User
from forum.db import utcnow
from forum.extensions import db
from forum.moderation import services as moderation
from forum.moderation.models import AuditEntry
from forum.uploads import services as uploads
from forum.uploads.models import Upload, UploadUse
from forum.uploads.storage import storage
from tests.factories import login, make_board, make_thread, make_user

GPS_IFD, ORIENTATION, MAKE, SERIAL = 0x8825, 0x0112, 0x010F, 0xA431


def jpeg_with_exif(width: int = 1200, height: int = 800, orientation: int = 6) -> bytes:
    """A camera photo: GPS position, camera make and serial, and "rotate 90°" in its EXIF."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    image.paste((40, 40, 200), (0, 0, width // 2, height))  # left half blue: shows the rotation
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "PhoneCam"
    exif[SERIAL] = "SN-123456789"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def png(width: int = 40, height: int = 30, colour=(0, 128, 0)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload_via_http(client, data: bytes, name: str, alt: str = ""):
    return client.post(
        "/uploads",
        data={"file": (io.BytesIO(data), name), "alt": alt},
        headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    )


def stored_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Upload))


@pytest.fixture
def member(app, client):
    """An established member (past the new-account limits), logged in on `client`."""
    app.config["NEW_ACCOUNT_POSTS"] = 0
    user = make_user("ann", created_at=utcnow() - timedelta(days=30))
    login(client, user)
    return user


# -- images ------------------------------------------------------------------------------------


def test_a_photo_is_stored_without_its_exif_and_gps_turned_the_way_it_was_shot(member, client):
    response = upload_via_http(client, jpeg_with_exif(), "router lights.JPG", alt="Router with a red light")
    assert response.status_code == 201, response.get_data(as_text=True)
    answer = response.get_json()
    assert re.fullmatch(r"!\[Router with a red light\]\(/uploads/[0-9a-f]{64}\.jpg\)", answer["markdown"])
    upload = db.session.scalars(select(Upload)).one()
    stored = Image.open(io.BytesIO(storage().get(upload.sha256)))
    assert stored.format == "JPEG"
    assert (stored.width, stored.height) == (800, 1200)  # orientation 6 applied: portrait now
    exif = stored.getexif()
    assert not exif.get_ifd(GPS_IFD) and MAKE not in exif and ORIENTATION not in exif
    raw = storage().get(upload.sha256)
    assert b"PhoneCam" not in raw and b"SN-123456789" not in raw and b"Exif" not in raw
    assert upload.thumb_sha256 and Image.open(io.BytesIO(storage().get(upload.thumb_sha256))).height == 640


def test_the_same_image_twice_is_one_upload_and_one_stored_file(member, client):
    first = upload_via_http(client, png(), "a.png").get_json()
    second = upload_via_http(client, png(), "b.png").get_json()
    assert first["url"] == second["url"] and stored_count() == 1
    other = make_user("bob", created_at=utcnow() - timedelta(days=30))
    uploads.upload_file(other, png(), "same.png")
    db.session.commit()
    assert stored_count() == 2  # each member owns their upload: quotas and removals are theirs
    key = first["url"].split("/")[-1].split(".")[0]
    assert len([k for k in storage().keys(before=utcnow() + timedelta(minutes=1)) if k == key]) == 1


def test_big_images_are_scaled_down_to_the_dimension_cap(app, member, client):
    app.config["UPLOAD_MAX_DIMENSION"] = 1000
    response = upload_via_http(client, png(3000, 1500), "wide.png")
    assert response.status_code == 201
    upload = db.session.scalars(select(Upload)).one()
    assert (upload.width, upload.height) == (1000, 500)


# -- refused files -----------------------------------------------------------------------------


def svg_with_script() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


def bomb() -> bytes:
    """A 20,000 x 20,000 PNG: a few kilobytes that decode to 400 megapixels."""
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")
    return buffer.getvalue()


REFUSED = {
    "png with html appended": (lambda: png() + b"<html><script>alert(1)</script></html>", "pic.png",
                               "data after the end of the image"),
    "jpeg named .html": (lambda: jpeg_with_exif(100, 80), "page.html", "not a type this forum accepts"),
    "jpeg named .png": (lambda: jpeg_with_exif(100, 80), "photo.png", "it is a JPEG image"),
    "svg with script": (svg_with_script, "logo.svg", "not a type this forum accepts"),
    "svg named .png": (svg_with_script, "logo.png", "not a PNG, JPEG, WebP or GIF image"),
    "html named .txt": (lambda: b"<!DOCTYPE html><script>alert(1)</script>", "notes.txt", "HTML, SVG or XML"),
    "decompression bomb": (bomb, "bomb.png", "too many pixels"),
    "truncated jpeg": (lambda: jpeg_with_exif()[:3000], "cut.jpg", "damaged or incomplete"),
    "empty file": (lambda: b"", "empty.png", "is empty (0 bytes)"),
    "binary .log": (lambda: b"\x00\x01\x02binary", "router.log", "not a text file"),
    "pdf with javascript": (lambda: b"%PDF-1.4\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n%%EOF",
                            "bill.pdf", "contains scripts"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(REFUSED))
def test_hostile_and_broken_files_are_refused_with_a_reason_and_nothing_stored(member, client, case):
    make_data, name, reason = REFUSED[case]
    response = upload_via_http(client, make_data(), name)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert reason in response.get_json()["error"]
    assert stored_count() == 0
    assert storage().keys(before=utcnow() + timedelta(minutes=1)) == set()


def test_a_file_over_the_size_limit_is_refused(app, member, client):
    app.config["UPLOAD_MAX_FILE_BYTES"] = 1000
    response = upload_via_http(client, b"line of a log\n" * 100, "big.log")
    assert response.status_code == 422 and "the limit is 1000 bytes" in response.get_json()["error"]
    assert stored_count() == 0


def test_text_files_and_pdfs_are_served_as_downloads_never_run(member, client):
    log = upload_via_http(client, b"<b>not html</b> 12:00 wan down\n", "router.log").get_json()
    assert log["markdown"].startswith("[router.log](/uploads/") and log["markdown"].endswith("(31 bytes)")
    response = client.get(log["url"])
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Disposition"] == "attachment; filename*=UTF-8''router.log"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert (
        response.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    )  # a member's browser keeps it
    assert "style-src" not in response.headers["Content-Security-Policy"]  # images only (their viewer)
    pdf = upload_via_http(client, b"%PDF-1.4\n1 0 obj << >>\nendobj\n%%EOF\n", "bill.pdf").get_json()
    assert client.get(pdf["url"]).headers["Content-Type"] == "application/pdf"


# -- posts, access and moderation --------------------------------------------------------------


def post_with_image(client, board, title="Red light on the hub"):
    answer = upload_via_http(
        client, jpeg_with_exif(900, 600, orientation=1), "hub.jpg", alt="Hub lights"
    ).get_json()
    response = client.post(
        f"/b/{board.slug}/new",
        data={"title": title, "body": f"What does this mean?\n\n{answer['markdown']}", "submit": "1"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    return answer, response.headers["Location"]


def test_a_posted_image_shows_as_a_thumbnail_linked_to_the_full_image(app, member, client):
    board = make_board("Broadband")
    answer, thread_url = post_with_image(client, board)
    page = client.get(thread_url).get_data(as_text=True)
    key = answer["url"].split("/")[-1].split(".")[0]
    assert (
        f'<a class="upload-image" href="/uploads/{key}.jpg"' in page
        or f'href="/uploads/{key}.jpg" class="upload-image"' in page
    )
    assert f'src="/uploads/{key}/thumbnail"' in page and 'alt="Hub lights"' in page
    image = re.search(rf'<img [^>]*src="/uploads/{key}/thumbnail"[^>]*>', page).group(0)
    assert 'width="640"' in image and 'height="427"' in image  # its place is kept while it loads
    thumbnail = client.get(f"/uploads/{key}/thumbnail")
    assert thumbnail.status_code == 200 and Image.open(io.BytesIO(thumbnail.data)).size == (640, 427)
    assert db.session.scalar(select(func.count()).select_from(UploadUse)) == 1


def test_files_of_a_hidden_post_are_404_for_members_and_visitors_but_not_moderators(
    app, member, client, make_client
):
    board = make_board("Broadband")
    answer, _ = post_with_image(client, board)
    stranger = make_client()
    assert stranger.get(answer["url"]).status_code == 200  # a public post: anyone
    mod = make_user("maria", role="moderator")
    post = db.session.scalars(select(UploadUse)).one()
    from forum.boards.models import Post

    moderation.hide_post(db.session.get(Post, post.post_id), "Personal data", actor=mod)
    db.session.commit()
    assert stranger.get(answer["url"]).status_code == 404
    other = make_client()
    login(other, make_user("bob"))
    assert other.get(answer["url"]).status_code == 404
    moderator = make_client()
    login(moderator, mod)
    assert moderator.get(answer["url"]).status_code == 200


def test_an_upload_never_posted_is_seen_only_by_its_owner(app, member, client, make_client):
    answer = upload_via_http(client, png(), "draft.png").get_json()
    assert client.get(answer["url"]).status_code == 200
    other = make_client()
    login(other, make_user("bob"))
    assert other.get(answer["url"]).status_code == 404
    assert make_client().get(answer["url"]).status_code == 404


def test_someone_elses_image_quoted_in_a_post_does_not_become_visible(app, member, client, make_client):
    answer = upload_via_http(client, png(), "private.png").get_json()  # never posted by ann
    bob = make_user("bob", created_at=utcnow() - timedelta(days=30))
    make_thread(make_board(), bob, body=f"Look: {answer['markdown']}")
    assert make_client().get(answer["url"]).status_code == 404


def test_a_moderator_removes_one_file_with_a_reason_in_the_log(app, member, client, make_client):
    board = make_board("Broadband")
    answer, thread_url = post_with_image(client, board)
    mod = make_user("maria", role="moderator")
    moderator = make_client()
    login(moderator, mod)
    queue = moderator.get("/mod/queue").get_data(as_text=True)
    assert "Uploads of the last 7 days" in queue and "hub.jpg" in queue
    upload = db.session.scalars(select(Upload)).one()
    refused = moderator.post(f"/uploads/{upload.id}/remove", data={"reason": ""})
    assert refused.status_code == 303 and db.session.get(Upload, upload.id).removed_at is None
    removed = moderator.post(f"/uploads/{upload.id}/remove", data={"reason": "Shows a customer's address"})
    assert removed.status_code == 303
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "removed upload")).one()
    assert entry.reason == "Shows a customer's address" and entry.affected_user_id == member.id
    assert client.get(answer["url"]).status_code == 404  # the owner too
    assert make_client().get(answer["url"]).status_code == 404
    assert moderator.get(answer["url"]).status_code == 200
    member_remove = client.post(f"/uploads/{upload.id}/remove", data={"reason": "mine"})
    assert member_remove.status_code == 403


# -- limits ------------------------------------------------------------------------------------


def test_new_accounts_have_a_smaller_daily_quota(app, client):
    app.config["NEW_ACCOUNT_UPLOAD_DAILY_QUOTA"] = 1500
    newcomer = make_user("newbie")
    login(client, newcomer)
    assert upload_via_http(client, b"a" * 1000 + b"\n", "one.log").status_code == 201
    refused = upload_via_http(client, b"b" * 1000 + b"\n", "two.log")
    assert refused.status_code == 422
    assert "New members can upload 1 KB a day" in refused.get_json()["error"]
    app.config["NEW_ACCOUNT_POSTS"] = 0
    newcomer = db.session.get(User, newcomer.id)
    newcomer.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    assert upload_via_http(client, b"b" * 1000 + b"\n", "two.log").status_code == 201


def test_yesterdays_uploads_count_in_all_but_not_today(member, client):
    upload_via_http(client, b"12:00 WAN down\n", "router.log")
    upload_via_http(client, b"13:00 WAN up again\n", "later.log")
    db.session.scalars(select(Upload).where(Upload.name == "router.log")).one().created_at = (
        utcnow() - timedelta(days=2)
    )
    db.session.commit()
    quota = uploads.quota_of(db.session.get(User, member.id))
    assert (quota.used_today, quota.used_total) == (19, 34)


def test_a_post_may_show_at_most_the_per_post_number_of_uploads(app, member, client):
    app.config["UPLOAD_MAX_PER_POST"] = 2
    refs = [upload_via_http(client, png(10 + i, 10), f"{i}.png").get_json()["markdown"] for i in range(3)]
    board = make_board()
    response = client.post(
        f"/b/{board.slug}/new", data={"title": "Three pictures", "body": "\n\n".join(refs), "submit": "1"}
    )
    assert response.status_code == 422
    assert "at most 2 uploaded files" in response.get_data(as_text=True)


def test_silenced_members_and_visitors_cannot_upload(app, make_client):
    visitor = make_client()
    assert upload_via_http(visitor, png(), "a.png").status_code in (302, 401)
    silenced = make_user("quiet", silenced_until=utcnow() + timedelta(days=1))
    client = make_client()
    login(client, silenced)
    assert upload_via_http(client, png(), "a.png").status_code == 403
    assert stored_count() == 0


def test_an_upload_without_a_csrf_token_is_refused(member, client):
    response = client.post(
        "/uploads",
        data={"file": (io.BytesIO(png()), "a.png")},
        content_type="multipart/form-data",
        csrf=False,
    )
    assert response.status_code == 400 and stored_count() == 0


# -- the composer without JavaScript -----------------------------------------------------------


def test_the_file_field_adds_the_image_to_the_text_on_preview(member, client):
    board = make_board("Broadband")
    response = client.post(
        f"/b/{board.slug}/new",
        data={"title": "Lights", "body": "My hub:", "preview": "1", "attachment": (io.BytesIO(png()), "hub.png"),
              "attachment_alt": "Hub with a red light"},
        content_type="multipart/form-data",
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r"My hub:\s+!\[Hub with a red light\]\(/uploads/[0-9a-f]{64}\.png\)</textarea>", page)
    assert 'alt="Hub with a red light"' in page  # in the preview
    assert "Added to the text: hub.png." in page


def test_a_refused_file_in_the_composer_posts_nothing_and_keeps_the_text(member, client):
    board = make_board("Broadband")
    response = client.post(
        f"/b/{board.slug}/new",
        data={"title": "Lights", "body": "Keep this text", "submit": "1",
              "attachment": (io.BytesIO(svg_with_script()), "hub.png")},
        content_type="multipart/form-data",
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "not a PNG, JPEG, WebP or GIF image" in page and "Keep this text</textarea>" in page
    assert board.thread_count == 0 and stored_count() == 0


def test_a_reply_with_a_log_file_shows_a_download_link(member, client):
    thread = make_thread(make_board())
    response = client.post(
        f"/t/{thread.id}/reply",
        data={"body": "Here is my log.", "submit": "1", "attachment": (io.BytesIO(b"12:00 WAN down\n"), "router.log")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(
        r'<a class="attachment" href="/uploads/[0-9a-f]{64}\.log"[^>]*>router\.log</a> \(15 bytes\)', page
    )


# -- profile pictures and settings -------------------------------------------------------------


def test_a_profile_picture_is_cropped_square_and_replaces_the_initials(member, client, make_client):
    response = client.post(
        "/settings/uploads",
        data={"avatar": (io.BytesIO(png(300, 200)), "me.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    user = db.session.get(User, member.id)
    assert user.avatar_sha256
    picture = make_client().get(f"/avatars/{user.avatar_sha256}.webp")
    assert picture.status_code == 200 and picture.headers["Content-Type"] == "image/webp"
    assert "public" in picture.headers["Cache-Control"] and "immutable" in picture.headers["Cache-Control"]
    assert Image.open(io.BytesIO(picture.data)).size == (256, 256)
    profile = make_client().get(f"/u/{member.username}").get_data(as_text=True)
    assert f"/avatars/{user.avatar_sha256}.webp" in profile
    client.post("/settings/uploads", data={"remove_avatar": "1"})
    assert db.session.get(User, member.id).avatar_sha256 is None


def test_settings_list_a_members_uploads_and_quota(member, client):
    upload_via_http(client, b"12:00 WAN down\n", "router.log")
    page = client.get("/settings/uploads").get_data(as_text=True)
    assert (
        "router.log" in page
        and "15 bytes of 50.0 MB today" in page
        and "not yet: removed after a day" in page
    )
    assert "Picture and uploads" in client.get("/settings").get_data(as_text=True)


def test_settings_name_the_thread_and_wiki_page_an_upload_shows_in(app, member, client):
    from tests.factories_wiki import make_page

    app.config["WIKI_MIN_POSTS"] = 0
    board = make_board("Broadband")
    answer, _ = post_with_image(client, board, title="Red light on the hub")
    make_page("Hub lights explained", f"Red means no line:\n\n{answer['markdown']}", author=member)
    db.session.commit()
    page = client.get("/settings/uploads").get_data(as_text=True)
    row = page[page.index("hub.jpg") :].split("</tr>")[0]
    assert ">Red light on the hub</a>" in row and ">Wiki: Hub lights explained</a>" in row
    assert "post " not in row


def test_a_refused_file_on_the_settings_page_says_why_on_its_field(member, client):
    for address, field in (("/uploads", "file"), ("/settings/uploads", "avatar")):
        response = client.post(
            address,
            data={field: (io.BytesIO(b"<html><script>alert(1)</script>"), "me.png")},
            content_type="multipart/form-data",
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 422, address
        assert f'id="{field}-error"' in page and f'aria-describedby="{field}-hint {field}-error"' in page
    assert stored_count() == 0


# -- cleanup -----------------------------------------------------------------------------------


def test_cleanup_forgets_uploads_never_posted_after_a_day_and_keeps_posted_ones(app, member, client, runner):
    board = make_board()
    posted, _ = post_with_image(client, board)
    orphan = upload_via_http(client, png(), "orphan.png").get_json()
    assert stored_count() == 2
    result = runner.invoke(args=["uploads", "cleanup"])
    assert "Forgot 0 upload(s)" in result.output  # both younger than a day
    for upload in db.session.scalars(select(Upload)):
        upload.created_at = utcnow() - timedelta(days=2)
    db.session.commit()
    result = runner.invoke(args=["uploads", "cleanup", "--hours", "0"])
    assert result.exit_code == 0 and "Forgot 1 upload(s)" in result.output
    assert client.get(orphan["url"]).status_code == 404
    assert client.get(posted["url"]).status_code == 200


# -- the wiki, and the request size cap --------------------------------------------------------


def test_an_image_in_a_wiki_page_is_seen_while_the_page_is_and_kept_by_its_history(
    app, member, client, make_client
):
    from forum.wiki import editing as wiki
    from tests.factories_wiki import edit, make_page

    app.config["WIKI_MIN_POSTS"] = 0
    answer = upload_via_http(client, png(), "wiring.png").get_json()
    page = make_page("Wire the hub", f"Like this:\n\n{answer['markdown']}", author=member)
    visitor = make_client()
    assert visitor.get(answer["url"]).status_code == 200
    edit(page, "No picture any more.", author=member)
    assert visitor.get(answer["url"]).status_code == 200  # the page's history still shows it
    wiki.delete_page(page, actor=make_user("maria", role="moderator"), reason="Wrong advice")
    db.session.commit()
    assert visitor.get(answer["url"]).status_code == 404


def test_a_request_over_the_upload_size_cap_is_413_and_other_forms_keep_the_small_cap(app, member, client):
    app.config["UPLOAD_MAX_REQUEST_BYTES"] = 50_000
    response = upload_via_http(client, b"x" * 60_000 + b"\n", "huge.log")
    assert response.status_code == 413 and stored_count() == 0
    assert upload_via_http(client, b"x" * 30_000 + b"\n", "fits.log").status_code == 201
    settings = client.post("/settings", data={"bio": "x" * (3 * 1024 * 1024)})
    assert settings.status_code == 413  # MAX_CONTENT_LENGTH (2 MB) everywhere else


def test_an_html_file_renamed_png_is_refused(member, client):
    response = upload_via_http(client, b"<html><body><script>alert(1)</script></body></html>", "cat.png")
    assert (
        response.status_code == 422 and "not a PNG, JPEG, WebP or GIF image" in response.get_json()["error"]
    )
    assert stored_count() == 0


def test_a_new_wiki_page_takes_an_image_from_the_file_field(app, member, client):
    app.config.update(WIKI_MIN_POSTS=0, WIKI_MIN_ACCOUNT_AGE_DAYS=0)
    response = client.post(
        "/wiki/new",
        data={"title": "Hub lights explained", "board_id": "0", "body": "Red means no line.", "submit": "1",
              "attachment": (io.BytesIO(png()), "lights.png"), "attachment_alt": "The hub's lights"},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'alt="The hub' in page and 'class="upload-image"' in page
    assert (
        db.session.scalar(
            select(func.count()).select_from(UploadUse).where(UploadUse.wiki_page_id.is_not(None))
        )
        == 1
    )


def animated_gif(frames: int) -> bytes:
    pictures = [Image.new("RGB", (60, 40), (index * 20 % 256, 80, 160)) for index in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=80, loop=0)
    return buffer.getvalue()


def test_animations_keep_their_frames_up_to_the_cap(app, member, client):
    app.config["UPLOAD_MAX_FRAMES"] = 10
    kept = upload_via_http(client, animated_gif(6), "spinner.gif")
    assert kept.status_code == 201
    stored = Image.open(io.BytesIO(storage().get(db.session.scalars(select(Upload)).one().sha256)))
    assert stored.format == "GIF" and stored.n_frames == 6
    refused = upload_via_http(client, animated_gif(12), "long.gif")
    assert refused.status_code == 422 and "12 frames" in refused.get_json()["error"]
