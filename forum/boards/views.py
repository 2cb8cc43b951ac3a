"""Board index, boards, threads and posts: parse, call a service, commit, respond."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from forum.badges.models import EmployeeBadge
from forum.badges.permissions import active_badge
from forum.boards import services
from forum.boards.forms import EditPostForm, ReplyForm, ThreadForm
from forum.boards.models import POSTS_PER_PAGE, THREADS_PER_PAGE
from forum.boards.permissions import can_edit_post, can_start_thread, thread_viewer
from forum.errors import ServiceError
from forum.extensions import db

bp = Blueprint("boards", __name__)


def page_number(page_count: int) -> int:
    """The ?page= argument, checked against the number of pages (400 or 404 otherwise)."""
    raw = request.args.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        abort(400, description="The page number must be a whole number, like ?page=2.")
    page = int(raw)
    if page < 1 or page > page_count:
        pages = "page" if page_count == 1 else "pages"
        abort(404, description=f"There is no page {page}: there are {page_count} {pages}.")
    return page


def _chosen_badge(form: ThreadForm | ReplyForm) -> EmployeeBadge | None:
    """The member's own active badge if they ticked "post with my badge"; no other field counts."""
    return active_badge(current_user) if form.with_badge.data else None


@bp.route("/")
def index() -> ResponseReturnValue:
    return render_template("boards/index.html", boards=services.list_boards())


@bp.route("/b/<slug>")
def board(slug: str) -> ResponseReturnValue:
    board = services.get_board(slug)
    # -- qa --: ideas boards list ideas by votes; question boards filter unsolved/unanswered.
    if board.kind == "ideas":
        from forum.ideas.views import idea_board

        return idea_board(board)
    if "filter" in request.args:
        from forum.qa.views import filtered_board

        return filtered_board(board)
    page_count = max(1, -(-board.thread_count // THREADS_PER_PAGE))
    page = page_number(page_count)
    threads = services.board_threads(board, page, THREADS_PER_PAGE)
    return render_template(
        "boards/board.html", board=board, threads=threads, page=page, page_count=page_count
    )


@bp.route("/b/<slug>/new", methods=["GET", "POST"])
@login_required
def new_thread(slug: str) -> ResponseReturnValue:
    board = services.get_board(slug)
    if not can_start_thread(current_user, board):
        reason = (
            "This board is archived: it takes no new threads."
            if board.archived_at
            else ("You cannot start threads in this board.")
        )
        abort(403, description=reason)
    form = ThreadForm()
    preview_html = None
    if form.validate_on_submit():
        try:
            if form.preview.data:
                services.check_title(form.title.data)
                preview_html = services.preview(form.body.data)
            else:
                thread = services.start_thread(
                    board, form.title.data, form.body.data, actor=current_user, badge=_chosen_badge(form)
                )
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            if preview_html is None:
                db.session.commit()
                return redirect(thread.url)
    status = 422 if form.has_errors else 200
    return (
        render_template("boards/new_thread.html", board=board, form=form, preview_html=preview_html),
        status,
    )


@bp.route("/t/<int:thread_id>")
@bp.route("/t/<int:thread_id>/<slug>")
def thread(thread_id: int, slug: str | None = None) -> ResponseReturnValue:
    thread = services.get_thread(thread_id, viewer=current_user)
    if slug != thread.slug:
        query = request.query_string.decode("utf-8", "replace")
        return redirect(thread.url + (f"?{query}" if query else ""), code=301)
    page = page_number(thread.page_count)
    posts = services.thread_posts(thread, page, POSTS_PER_PAGE, viewer=current_user)
    form = ReplyForm()
    viewer = thread_viewer(current_user, thread)
    return render_template(
        "boards/thread.html",
        thread=thread,
        board=thread.board,
        posts=posts,
        page=page,
        form=form,
        viewer=viewer,
    )


@bp.route("/t/<int:thread_id>/reply", methods=["POST"])
@login_required
def reply(thread_id: int) -> ResponseReturnValue:
    thread = services.get_thread(thread_id, viewer=current_user)
    form = ReplyForm()
    preview_html = None
    if form.validate_on_submit():
        try:
            if form.preview.data:
                preview_html = services.preview(form.body.data)
            else:
                post = services.reply(thread, form.body.data, actor=current_user, badge=_chosen_badge(form))
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            if error.status in (403, 409) and not form.errors.get("body"):
                status = error.status
                return render_template("boards/reply.html", thread=thread, form=form), status
        else:
            if preview_html is None:
                db.session.commit()
                return redirect(f"{thread.url}?page={post.page}#post-{post.id}")
    status = 422 if form.has_errors else 200
    return (
        render_template("boards/reply.html", thread=thread, form=form, preview_html=preview_html),
        status,
    )


@bp.route("/p/<int:post_id>")
def post(post_id: int) -> ResponseReturnValue:
    post = services.get_post(post_id, viewer=current_user)
    page = f"?page={post.page}" if post.page > 1 else ""
    return redirect(f"{post.thread.url}{page}#post-{post.id}")


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int) -> ResponseReturnValue:
    post = services.get_post(post_id, viewer=current_user)
    if not can_edit_post(current_user, post):
        abort(403, description="You cannot edit this post.")
    form = EditPostForm(data={"title": post.thread.title, "body": post.body_source})
    preview_html = None
    if form.validate_on_submit():
        title = form.title.data if post.is_opening else None
        try:
            if form.preview.data:
                if title is not None:
                    services.check_title(title)
                preview_html = services.preview(form.body.data)
            else:
                services.edit_post(post, form.body.data, actor=current_user, title=title)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            if preview_html is None:
                db.session.commit()
                flash("Your changes are saved.", "success")
                return redirect(url_for("boards.post", post_id=post.id))
    status = 422 if form.has_errors else 200
    return (
        render_template("boards/edit_post.html", post=post, form=form, preview_html=preview_html),
        status,
    )


@bp.route("/p/<int:post_id>/delete", methods=["POST"])
@login_required
def delete_post(post_id: int) -> ResponseReturnValue:
    post = services.get_post(post_id, viewer=current_user)
    services.delete_post(post, actor=current_user)
    db.session.commit()
    flash("The post is deleted.", "info")
    return redirect(url_for("boards.post", post_id=post.id))
