"""Board index, boards, threads and posts: parse, call a service, commit, respond."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from forum import pages
from forum.badges.models import EmployeeBadge
from forum.badges.permissions import active_badge
from forum.boards import services
from forum.boards.forms import EditPostForm, ReplyForm, ThreadForm
from forum.boards.kinds import board_kind
from forum.boards.models import POSTS_PER_PAGE, THREADS_PER_PAGE, Post, Thread
from forum.boards.permissions import can_edit_post, can_start_thread, thread_viewer
from forum.errors import ServiceError
from forum.extensions import db
from forum.follow import services as follow
from forum.follow import views as follow_views
from forum.limits import rate_limited
from forum.web import page_number

bp = Blueprint("boards", __name__)


def _chosen_badge(form: ThreadForm | ReplyForm) -> EmployeeBadge | None:
    """The member's own active badge if they ticked "post with my badge"; no other field counts."""
    return active_badge(current_user) if form.with_badge.data else None


@bp.route("/")
def index() -> ResponseReturnValue:
    return render_template("boards/index.html", boards=services.list_boards())


@bp.route("/b/<slug>")
def board(slug: str) -> ResponseReturnValue:
    board = services.get_board(slug)
    kind = board_kind(board.kind)  # registered by the feature that owns the kind (forum.boards.kinds)
    if kind is not None and kind.page is not None:
        response = kind.page(board)
        if response is not None:
            return response
    if "filter" in request.args:
        abort(404, description="Threads on this board cannot be filtered.")
    if set(request.args) - {"page"}:
        # -- known --: ?model=hub-4 narrows a board by its problem details (issue #17).
        from forum.known.views import filtered_board as by_problem_details

        narrowed = by_problem_details(board)
        if narrowed is not None:
            return narrowed
    page_count = max(1, -(-board.thread_count // THREADS_PER_PAGE))
    page = page_number(page_count)
    threads = services.board_threads(board, page, THREADS_PER_PAGE, viewer=current_user)
    return render_template(
        "boards/board.html", board=board, threads=threads, page=page, page_count=page_count
    )


@bp.route("/b/<slug>/new", methods=["GET", "POST"])
@rate_limited("posting")
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
    draft = follow.find_draft(current_user, board=board) if request.method == "GET" else None
    if draft is not None:  # -- follow -- an unsent thread is offered again (issue #15)
        form.title.data, form.body.data = draft.title, draft.body
        flash("Your unsent draft is back: post it, change it, or discard it.", "info")
    if form.save_draft.data and request.method == "POST" and not form.errors:
        try:
            follow.save_draft(
                actor=current_user, board=board, body=form.body.data or "", title=form.title.data or ""
            )
        except ServiceError as error:
            db.session.rollback()
            form.validate()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash("Your draft is saved: it will be here when you come back.", "success")
            return redirect(url_for("boards.new_thread", slug=board.slug))
    if form.submit.data and (posted := services.posted_with(current_user, form.submission.data)):
        return _show_posted_already(posted)
    from forum.known.views import AskingDetails

    details = AskingDetails(board)  # -- known --: the board's problem fields (issue #17)
    if form.is_submitted() and not details.check():
        form.validate()
        form.form_errors.append("Check the problem details: the messages are on the fields.")
    elif form.validate_on_submit():
        try:
            if form.preview.data:
                services.check_title(form.title.data)
                preview_html = services.preview(form.body.data)
            else:
                thread = services.start_thread(
                    board, form.title.data, form.body.data, actor=current_user, badge=_chosen_badge(form),
                    submission_key=form.submission.data,
                )  # fmt: skip
                details.save(thread, current_user)
        except ServiceError as error:
            db.session.rollback()
            if isinstance(error, services.PostedAlready):
                return _show_posted_already(services.posted_with(current_user, form.submission.data))
            form.add_service_error(error)
        else:
            if preview_html is None:
                db.session.commit()
                return redirect(thread.url)
    status = 422 if form.has_errors else 200
    return (
        render_template(
            "boards/new_thread.html", board=board, form=form, preview_html=preview_html, details=details
        ),
        status,
    )


def _show_posted_already(post: Post | None) -> ResponseReturnValue:
    """A form sent twice (a retry after a lost response, a double click): show what the first
    send posted instead of posting it again (issue #13)."""
    if post is None:  # the first send's post is gone (deleted with its account): nothing to show
        abort(409, description="This form was sent already.")
    flash("This was posted already (the form was sent twice): here it is.", "info")
    return redirect(f"{post.thread.url}?page={post.page}#post-{post.id}")


@bp.route("/t/<int:thread_id>")
@bp.route("/t/<int:thread_id>/<slug>")
def thread(thread_id: int, slug: str | None = None) -> ResponseReturnValue:
    thread = services.get_thread(thread_id, viewer=current_user)
    if slug != thread.slug:
        query = request.query_string.decode("utf-8", "replace")
        return redirect(thread.url + (f"?{query}" if query else ""), code=301)
    first_unread = follow.first_unread_position(thread) if current_user.is_authenticated else None
    if first_unread is not None and "page" not in request.args:
        # A member coming back opens at the first post they have not seen (issue #15): its page,
        # with the divider that static/js/follow.js scrolls to (lists link to ?page=N#unread).
        page = follow.page_of(first_unread)
    else:
        page = page_number(thread.page_count)
    return thread_page(thread, page, first_unread=first_unread)


def thread_page(
    thread: Thread, page: int, *, form: ReplyForm | None = None, preview_html: str | None = None,
    first_unread: int | None = None, status: int = 200,
) -> ResponseReturnValue:  # fmt: skip
    """A page of the thread with its reply box; also answers a reply's preview (issue #15)."""
    posts = services.thread_posts(thread, page, POSTS_PER_PAGE, viewer=current_user, with_solution=True)
    composer = follow_views.reply_box_state(thread, posts, form=form, preview_html=preview_html)
    if current_user.is_authenticated:
        follow.record_visit(current_user, thread, posts)
    html = render_template(
        "boards/thread.html",
        thread=thread,
        board=thread.board,
        posts=posts,
        page=page,
        form=form or ReplyForm(),
        viewer=thread_viewer(current_user, thread),
        first_unread=first_unread,
        composer=composer,
        features=pages.load("thread", thread=thread, posts=posts, viewer=current_user),
    )
    if current_user.is_authenticated:
        db.session.commit()  # the visit (and a preview's draft), after rendering: a commit expires what the page reads
    return html, status if not composer.error else composer.error_status


@bp.route("/t/<int:thread_id>/reply", methods=["POST"])
@rate_limited("posting")
@login_required
def reply(thread_id: int) -> ResponseReturnValue:
    thread = services.get_thread(thread_id, viewer=current_user)
    form = ReplyForm()
    if form.submit.data and (posted := services.posted_with(current_user, form.submission.data)):
        return _show_posted_already(posted)
    if form.validate_on_submit():
        try:
            if form.save_draft.data:
                follow.save_draft(actor=current_user, thread=thread, body=form.body.data)
            elif form.preview.data:
                preview_html = services.preview(form.body.data)
                follow.save_draft(actor=current_user, thread=thread, body=form.body.data)
                return thread_page(thread, thread.page_count, form=form, preview_html=preview_html)
            else:
                post = services.reply(
                    thread, form.body.data, actor=current_user, badge=_chosen_badge(form),
                    submission_key=form.submission.data,
                )  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            if isinstance(error, services.PostedAlready):
                return _show_posted_already(services.posted_with(current_user, form.submission.data))
            form.add_service_error(error)
            if error.status in (403, 409) and not form.errors.get("body"):
                status = error.status
                return render_template("boards/reply.html", thread=thread, form=form), status
        else:
            db.session.commit()
            if form.save_draft.data:
                flash("Your draft is saved: it will be here when you come back.", "success")
                return redirect(f"{thread.url}?page={thread.page_count}#reply")
            return redirect(f"{thread.url}?page={post.page}#post-{post.id}")
    elif form.save_draft.data and not form.errors.get("csrf_token"):
        # An empty or over-long draft: say so on the thread page, where the text was typed.
        try:
            follow.save_draft(actor=current_user, thread=thread, body=form.body.data or "")
            db.session.commit()
            flash("Your draft is cleared.", "info")
            return redirect(f"{thread.url}?page={thread.page_count}#reply")
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
    status = 422 if form.has_errors else 200
    return render_template("boards/reply.html", thread=thread, form=form, preview_html=None), status


@bp.route("/p/<int:post_id>")
def post(post_id: int) -> ResponseReturnValue:
    post = services.get_post(post_id, viewer=current_user)
    page = f"?page={post.page}" if post.page > 1 else ""
    return redirect(f"{post.thread.url}{page}#post-{post.id}")


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@rate_limited("editing")
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
