"""Screenshots, photos and log files in posts and wiki pages, and profile pictures (issue #19).

Files are checked and (images) re-encoded on the server (files.py), stored once by content
hash behind a small storage interface (storage.py: a folder, or the database for several app
servers), and served with the access rules of the posts and pages that show them.
"""

from __future__ import annotations

from flask import Flask

MB = 1024 * 1024

DEFAULTS = {
    "UPLOAD_STORAGE": "folder",  # "folder" (UPLOAD_FOLDER, default <instance>/uploads) or "database"
    "UPLOAD_FOLDER": None,
    "UPLOAD_MAX_IMAGE_BYTES": 10 * MB,  # as sent; the stored, re-encoded image is usually smaller
    "UPLOAD_MAX_FILE_BYTES": 4 * MB,  # text files and PDFs
    "UPLOAD_MAX_REQUEST_BYTES": 32 * MB,  # a composer with several files
    "UPLOAD_MAX_PIXELS": 40_000_000,  # decompression bombs: a 50 KB PNG can claim 2 gigapixels
    "UPLOAD_MAX_DIMENSION": 4096,  # larger images are scaled down
    "UPLOAD_MAX_FRAMES": 200,  # animated GIF and WebP
    "UPLOAD_THUMBNAIL_SIZE": 640,
    "UPLOAD_MAX_PER_POST": 10,
    "UPLOAD_DAILY_QUOTA": 50 * MB,
    "UPLOAD_TOTAL_QUOTA": 500 * MB,
    "NEW_ACCOUNT_UPLOAD_DAILY_QUOTA": 5 * MB,  # new accounts: forum.moderation.antispam.is_new_account
    "NEW_ACCOUNT_UPLOAD_TOTAL_QUOTA": 20 * MB,
    "RATELIMIT_UPLOADS": "20 per minute;200 per hour",  # per member
}


def init_app(app: Flask) -> None:
    """Config defaults, storage, blueprints, the composer hook, receivers, slots and Jinja globals."""
    from forum import events, pages
    from forum.markup import UPLOAD_SIZES
    from forum.security import accept_files
    from forum.uploads import (
        jobs,  # noqa: F401  (registers the daily cleanup)
        permissions,
        services,
        views,
    )
    from forum.uploads.cli import bp as cli_bp
    from forum.uploads.files import ACCEPT, size_in_words
    from forum.uploads.storage import init_storage

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    init_storage(app)
    app.register_blueprint(views.bp)
    for endpoint in views.COMPOSER_ENDPOINTS:
        accept_files(app, endpoint, "attachment")
    accept_files(app, "uploads.upload", "file")
    accept_files(app, "uploads.mine", "avatar")
    app.register_blueprint(cli_bp)
    # Before every other hook (the CSRF check reads the form): a composer may carry files.
    app.before_request_funcs.setdefault(None, []).insert(0, views.allow_upload_sizes)
    app.before_request(views.attach_composer_files)
    app.after_request(views.refused_upload_status)
    app.extensions[UPLOAD_SIZES] = services.shown_sizes
    events.post_created.connect(services.on_post_saved)
    events.post_edited.connect(services.on_post_saved)
    events.wiki_page_edited.connect(services.on_wiki_page_edited)
    pages.fill_slot(app, "composer.fields", "uploads/_composer_field.html", order=40)
    pages.fill_slot(app, "settings.sections", "uploads/_settings_section.html")
    pages.fill_slot(app, "review_queue.sections", "uploads/_review_queue.html")

    def upload_limits() -> dict[str, str]:
        return {
            "image": size_in_words(app.config["UPLOAD_MAX_IMAGE_BYTES"]),
            "file": size_in_words(app.config["UPLOAD_MAX_FILE_BYTES"]),
        }

    def recent_uploads_for_review(user: object) -> list[object]:
        return services.recent_uploads() if permissions.can_remove_upload(user) else []

    app.jinja_env.globals.update(
        can_upload_files=permissions.can_upload, upload_limits=upload_limits, upload_accept=ACCEPT,
        recent_uploads_for_review=recent_uploads_for_review,
    )  # fmt: skip
    app.jinja_env.filters["filesize"] = size_in_words
