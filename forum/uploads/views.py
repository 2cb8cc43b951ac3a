"""Uploading (with and without JavaScript), serving files with their access rules, a member's
uploads and profile picture, and a moderator's removal of one file."""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage, ImmutableMultiDict

from forum.errors import Invalid, ServiceError, error_response, wants_json
from forum.extensions import db
from forum.limits import rate_limited
from forum.uploads import permissions, services
from forum.uploads.files import ACCEPT, FIELD
from forum.uploads.models import IMAGE

bp = Blueprint("uploads", __name__)

# The forms that carry a body and the attachment field (the `composer.fields` slot).
COMPOSER_ENDPOINTS = {
    "boards.new_thread", "boards.reply", "boards.edit_post", "wiki.new_page", "wiki.edit_page", "wiki.promote",
}  # fmt: skip
IMMUTABLE = "max-age=31536000, immutable"


def _read(file: FileStorage) -> bytes:
    return file.stream.read()


def _chosen_files(name: str) -> list[FileStorage]:
    return [file for file in request.files.getlist(name) if file and file.filename]


@bp.route("/uploads", methods=["POST"])
@rate_limited("uploads")
@login_required
def upload() -> ResponseReturnValue:
    """One file from the editor (paste, drop, or the file field with JavaScript): its Markdown."""
    chosen = _chosen_files("file")
    if not chosen:
        return error_response(400, "Choose a file to upload.", FIELD)
    try:
        upload = services.upload_file(current_user, _read(chosen[0]), chosen[0].filename)
    except ServiceError as error:
        db.session.rollback()
        if wants_json():
            return jsonify({"error": error.message, "field": FIELD, "status": error.status}), error.status
        return _settings_page(error.status, {"file": error.message})
    db.session.commit()
    markdown = services.markdown_for(upload, request.form.get("alt"))
    if wants_json():
        return jsonify(
            {"markdown": markdown, "url": upload.url, "name": upload.name, "size": upload.size,
             "is_image": upload.kind == IMAGE}
        ), 201  # fmt: skip
    flash(f"Uploaded. Paste this into a post or wiki page: {markdown}", "success")
    return redirect(url_for("uploads.mine")), 303


def attach_composer_files() -> None:
    """Without JavaScript: files chosen in a composer's field are stored and added to the text.

    Runs before the composer's own view (after the CSRF check), so boards and the wiki know
    nothing of uploads. A refused file turns the send into a preview with the reason on the
    field (status 422): nothing is posted without the file the member meant to include.
    """
    if request.method != "POST" or request.endpoint not in COMPOSER_ENDPOINTS:
        return
    chosen = _chosen_files("attachment")
    if not chosen or not current_user.is_authenticated:
        return
    form = request.form.copy()
    try:
        form["body"] = services.attach_to_body(
            current_user, form.get("body", ""), [(_read(file), file.filename) for file in chosen],
            form.get("attachment_alt"),
        )  # fmt: skip
    except ServiceError as error:
        db.session.rollback()
        g.upload_error = error.message
        for name in ("submit", "save_draft"):
            form.pop(name, None)
        form["preview"] = "Preview"
    else:
        db.session.commit()
        g.upload_note = "Added to the text: " + ", ".join(file.filename or "" for file in chosen) + "."
    form.pop("attachment_alt", None)
    request.form = ImmutableMultiDict(form)  # type: ignore[misc]  (werkzeug allows setting it)


def refused_upload_status(response: Response) -> Response:
    if g.get("upload_error") and response.status_code == 200:
        response.status_code = 422
    return response


def allow_upload_sizes() -> None:
    """Composer and upload requests may carry files; every other request keeps the small limit."""
    if request.endpoint in COMPOSER_ENDPOINTS or request.endpoint in (
        "uploads.upload",
        "uploads.mine",
        "uploads.avatar",
    ):
        request.max_content_length = current_app.config["UPLOAD_MAX_REQUEST_BYTES"]


def _file_response(
    data: bytes, content_type: str, *, etag: str, download_name: str | None, public: bool
) -> Response:
    response = Response(data, content_type=content_type)
    if download_name is not None:
        response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(download_name)}"
    else:
        response.headers["Content-Disposition"] = "inline"
    # Nothing served from here runs: no scripts, no plugins, no framing, a sandbox even if opened.
    # An image opened on its own is shown in the browser's image page, which styles itself
    # inline (centred, zoom on click); styles are all it may have, and only for images.
    policy = "default-src 'none'; img-src 'self'; sandbox"
    if download_name is None:
        policy += "; style-src 'unsafe-inline'"
    response.headers["Content-Security-Policy"] = policy
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = ("public, " if public else "private, ") + IMMUTABLE
    response.set_etag(etag)
    return response.make_conditional(request)


@bp.route("/uploads/<string(length=64):key>.<string(minlength=2,maxlength=4):ending>")
def serve(key: str, ending: str) -> ResponseReturnValue:
    upload = services.visible_upload(key.lower(), current_user)
    if ending != upload.extension:
        abort(404, description="There is no such file.")
    download = None if upload.kind == IMAGE else upload.name
    content_type = upload.content_type + (
        "; charset=utf-8" if upload.content_type.startswith("text/") else ""
    )
    return _file_response(
        services.read(upload.sha256), content_type, etag=upload.sha256, download_name=download, public=False
    )


@bp.route("/uploads/<string(length=64):key>/thumbnail")
def thumbnail(key: str) -> ResponseReturnValue:
    upload = services.visible_upload(key.lower(), current_user)
    if upload.kind != IMAGE:
        abort(404, description="Only images have thumbnails.")
    key = upload.thumb_sha256 or upload.sha256
    content_type = upload.thumb_content_type or upload.content_type
    return _file_response(services.read(key), content_type, etag=key, download_name=None, public=False)


@bp.route("/avatars/<string(length=64):key>.webp")
def avatar(key: str) -> ResponseReturnValue:
    upload = services.avatar_upload(key.lower())
    return _file_response(
        services.read(upload.sha256), "image/webp", etag=upload.sha256, download_name=None, public=True
    )


@bp.route("/settings/uploads", methods=["GET", "POST"])
@login_required
def mine() -> ResponseReturnValue:
    """A member's uploads, quota and profile picture."""
    if request.method == "GET":
        return _settings_page()
    try:
        if request.form.get("remove_avatar"):
            services.clear_avatar(current_user)
            message = "Your profile picture is removed; your initials show again."
        else:
            chosen = _chosen_files("avatar")
            if not chosen:
                raise Invalid("Choose a picture to upload.", "avatar")
            services.set_avatar(current_user, _read(chosen[0]), chosen[0].filename)
            message = "Your profile picture is saved."
    except ServiceError as error:
        db.session.rollback()
        return _settings_page(error.status, {"avatar": error.message})
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("uploads.mine")), 303


def _settings_page(status: int = 200, errors: dict[str, str] | None = None) -> ResponseReturnValue:
    """The settings page; a refused file shows its reason on its field, with the refusal's status."""
    uploads = services.member_uploads(current_user)
    return render_template(
        "uploads/mine.html", uploads=uploads, uses=services.uses_of(uploads, current_user), errors=errors or {},
        quota=services.quota_of(current_user), accept=ACCEPT, can_upload=permissions.can_upload(current_user),
    ), status  # fmt: skip


@bp.route("/uploads/<int:upload_id>/remove", methods=["POST"])
@login_required
def remove(upload_id: int) -> ResponseReturnValue:
    upload = services.get_upload(upload_id)
    try:
        services.remove_upload(upload, request.form.get("reason", ""), actor=current_user)
    except Invalid as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("moderation.queue")), 303
    db.session.commit()
    flash(f"“{upload.name}” is removed; moderators can still open it.", "success")
    return redirect(url_for("moderation.queue")), 303
