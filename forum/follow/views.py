"""Following a conversation: /latest, bookmarks, drafts, "mark all read" and the reply box's
quote and draft (issue #15). Thin views over forum.follow.services."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from markupsafe import Markup

from forum import events
from forum.boards import services as boards
from forum.boards.models import Post, Thread
from forum.errors import ServiceError
from forum.extensions import db
from forum.follow import services

bp = Blueprint("follow", __name__)


def init_app(app: Flask) -> None:
    """The blueprint, the receiver that clears drafts and reads your own post, and Jinja helpers."""
    app.register_blueprint(bp)
    events.post_created.connect(services.on_post_created)
    from forum.notifications.inbox import plain_excerpt

    app.jinja_env.globals.update(
        unread_state=services.unread_state,
        solution_excerpt=solution_excerpt,
        plain_excerpt=plain_excerpt,
        has_draft=lambda member, board: services.find_draft(member, board=board) is not None,
    )


def _page() -> int:
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) < 1:
        abort(400, description="The page number must be a whole number, like ?page=2.")
    return int(raw)


# -- the reply box on the thread page ------------------------------------------------------------


@dataclass
class ReplyBox:
    """What the thread page's reply box starts with: a quote, the member's draft or the text of
    a preview, and a note saying which; or an error about the ?quote= asked for."""

    body: str = ""
    note: str = ""
    has_draft: bool = False
    preview_html: str | None = None
    error: str = ""
    error_status: int = 200


def reply_box_state(
    thread: Thread, posts: list[Post], *, form: Any = None, preview_html: str | None = None
) -> ReplyBox:
    box = ReplyBox(preview_html=preview_html)
    if not current_user.is_authenticated:
        return box
    box.has_draft = bool(thread.viewer_draft)
    if form is not None and form.body.data:
        box.body = form.body.data
        return box
    raw = request.args.get("quote")
    if raw is not None:
        post = next((p for p in posts if raw.isascii() and raw.isdigit() and str(p.id) == raw), None)
        try:
            if post is None:
                box.error = "That post is not on this page: use the Quote button under the post."
                box.error_status = 404
            else:
                box.body = (thread.viewer_draft or "") + services.quote_text(post, actor=current_user)
                box.note = f"The reply box quotes {post.author.name}'s post #{post.position}."
        except ServiceError as error:
            box.error, box.error_status = error.message, error.status
        if box.body or box.error:
            return box
    if thread.viewer_draft:
        box.body = thread.viewer_draft
        box.note = "Your unsent draft is back in the reply box."
    return box


_BLOCK = re.compile(r"<(p|ul|ol|pre|table)\b[^>]*>.*?</\1>", re.DOTALL)


def solution_excerpt(post: Post, paragraphs: int = 2) -> tuple[Markup, bool]:
    """The first paragraphs (top-level blocks) of an accepted answer's stored, sanitized HTML,
    and whether the answer goes on: shown under the question (issue #15)."""
    html = str(post.body_html)
    kept = list(_BLOCK.finditer(html))[:paragraphs]
    if not kept:
        return Markup(html), False  # noqa: S704 (stored HTML, sanitized when saved)
    end = kept[-1].end()
    return Markup(html[kept[0].start() : end]), bool(html[end:].strip())  # noqa: S704


# -- /latest ------------------------------------------------------------------------------------


@bp.route("/latest")
def latest() -> ResponseReturnValue:
    page = _page()
    threads = services.latest_threads(page, viewer=current_user)
    if page > 1 and not threads:
        abort(404, description=f"There is no page {page} of the latest threads.")
    has_next = len(threads) > services.LATEST_PER_PAGE
    return render_template("follow/latest.html", threads=threads[: services.LATEST_PER_PAGE], page=page,
                           has_next=has_next)  # fmt: skip


@bp.route("/b/<slug>/read", methods=["POST"])
@login_required
def mark_board_read(slug: str) -> ResponseReturnValue:
    board = boards.get_board(slug)
    services.mark_board_read(board, actor=current_user)
    db.session.commit()
    flash(f"Everything in {board.name} is marked read.", "success")
    return redirect(board.url)


# -- drafts -------------------------------------------------------------------------------------


@bp.route("/t/<int:thread_id>/draft", methods=["POST"])
@login_required
def save_thread_draft(thread_id: int) -> ResponseReturnValue:
    """Autosave (static/js/follow.js, JSON) and "Discard draft" (a form) both come here."""
    thread = boards.get_thread(thread_id, viewer=current_user)
    body = "" if request.form.get("discard") else request.form.get("body", "")
    services.save_draft(actor=current_user, thread=thread, body=body)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(saved=bool(body.strip()))
    flash("Your draft is saved." if body.strip() else "Your draft is discarded.", "info")
    return redirect(f"{thread.url}?page={thread.page_count}#reply")


@bp.route("/b/<slug>/draft", methods=["POST"])
@login_required
def save_board_draft(slug: str) -> ResponseReturnValue:
    board = boards.get_board(slug)
    discard = bool(request.form.get("discard"))
    body = "" if discard else request.form.get("body", "")
    title = "" if discard else request.form.get("title", "")
    services.save_draft(actor=current_user, board=board, body=body, title=title)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(saved=bool(body.strip() or title.strip()))
    flash("Your draft is saved." if body.strip() or title.strip() else "Your draft is discarded.", "info")
    return redirect(url_for("boards.new_thread", slug=board.slug))


# -- bookmarks ----------------------------------------------------------------------------------


@bp.route("/p/<int:post_id>/bookmark", methods=["POST"])
@login_required
def bookmark(post_id: int) -> ResponseReturnValue:
    """bookmarked=1 keeps the post (with `note`), bookmarked=0 lets it go: the form says which state
    it asks for, so a double click never undoes itself."""
    post = boards.get_post(post_id, viewer=current_user)
    wanted = request.form.get("bookmarked", "1")
    if wanted not in ("0", "1"):
        abort(400, description="Say bookmarked=1 or bookmarked=0.")
    if wanted == "1":
        services.bookmark_post(post, actor=current_user, note=request.form.get("note", ""))
    else:
        services.remove_bookmark(post, actor=current_user)
    db.session.commit()
    if request.accept_mimetypes.best == "application/json":
        return jsonify(bookmarked=wanted == "1")
    flash("Bookmarked: find it at Bookmarks." if wanted == "1" else "The bookmark is removed.", "success")
    target = request.form.get("next", "")
    return redirect(target if target == "/bookmarks" else url_for("boards.post", post_id=post.id))


@bp.route("/bookmarks")
@login_required
def bookmarks() -> ResponseReturnValue:
    page = _page()
    rows, total = services.list_bookmarks(current_user, page)
    page_count = max(1, -(-total // services.BOOKMARKS_PER_PAGE))
    if page > page_count:
        abort(404, description=f"There is no page {page} of your bookmarks.")
    items = [(row, services.bookmark_is_visible(row, current_user)) for row in rows]
    return render_template("follow/bookmarks.html", items=items, page=page, page_count=page_count,
                           note_limit=services.MAX_NOTE_LENGTH)  # fmt: skip


@bp.route("/bookmarks/<int:bookmark_id>/note", methods=["POST"])
@login_required
def bookmark_note(bookmark_id: int) -> ResponseReturnValue:
    services.set_bookmark_note(bookmark_id, request.form.get("note", ""), actor=current_user)
    db.session.commit()
    flash("The note is saved.", "success")
    return redirect(url_for("follow.bookmarks"))
