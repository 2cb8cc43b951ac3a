"""Moderator pages: thread and post tools, flags and the review queue (members: members_views.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from forum.auth.models import User
from forum.boards import services as boards
from forum.boards.models import Post, Thread
from forum.boards.permissions import is_moderator_of
from forum.errors import NotFound, ServiceError, error_response
from forum.extensions import db
from forum.forms import ForumForm
from forum.moderation import flags, services
from forum.moderation.confirm import ConfirmationNeeded, ask_first
from forum.moderation.forms import (
    DuplicateForm,
    FlagForm,
    MergeForm,
    MoveForm,
    ReasonForm,
    RenameForm,
    RequiredReasonForm,
    ResolveForm,
    SplitForm,
    choices,
    thread_id_from,
)  # fmt: skip

bp = Blueprint("moderation", __name__)


def _refuse_unless(allowed: bool, message: str) -> None:
    if not allowed:
        abort(403, description=message)


def is_any_moderator(user: Any) -> bool:
    return bool(
        getattr(user, "is_authenticated", False) and (user.is_moderator or user.moderated_board_count)
    )


def _merged_thread_redirect() -> ResponseReturnValue | None:
    if request.endpoint == "boards.thread" and request.view_args:
        thread = db.session.get(Thread, request.view_args["thread_id"])
        if thread is not None and thread.merged_into_id is not None:
            target = db.session.get(Thread, thread.merged_into_id)
            if target is not None:
                return redirect(target.url, code=301)
    return None


def redirect_merged_thread(error: NotFound) -> ResponseReturnValue:
    """The address of a merged thread leads to the thread it went into.

    Members get a NotFound for the merged (deleted) thread, answered here, so ordinary
    thread pages cost no extra query; moderators, who may read deleted threads, are
    redirected before the view (below).
    """
    return _merged_thread_redirect() or error_response(error.status, error.message, error.field)


@bp.before_app_request
def redirect_merged_thread_for_moderators() -> ResponseReturnValue | None:
    if request.endpoint == "boards.thread" and is_any_moderator(current_user):
        return _merged_thread_redirect()
    return None


# -- threads -----------------------------------------------------------------------------------


def _board_choices(viewer: User) -> list:
    """Every board: the service refuses (403) a board the moderator does not moderate."""
    return choices((b.slug, b.name) for b in boards.list_boards())


def _thread_forms(thread: Thread, **given: ForumForm) -> dict[str, ForumForm]:
    board_choices = _board_choices(current_user)
    forms: dict[str, ForumForm] = {
        "lock": given.get("lock") or RequiredReasonForm(prefix="lock"),
        "unlock": given.get("unlock") or ReasonForm(prefix="unlock"),
        "rename": given.get("rename") or RenameForm(prefix="rename", data={"title": thread.title}),
        "move": given.get("move") or MoveForm(prefix="move"),
        "merge": given.get("merge") or MergeForm(prefix="merge"),
        "split": given.get("split") or SplitForm(prefix="split", data={"board": thread.board.slug}),
        "duplicate": given.get("duplicate") or DuplicateForm(prefix="duplicate"),
        "delete": given.get("delete") or RequiredReasonForm(prefix="delete"),
    }
    forms["move"].board.choices = [c for c in board_choices if c.value != thread.board.slug]  # type: ignore[attr-defined]
    forms["split"].board.choices = board_choices  # type: ignore[attr-defined]
    replies = db.session.scalars(
        select(Post).where(Post.thread_id == thread.id, Post.position > 1).order_by(Post.position).limit(200)
    )
    forms["split"].posts.choices = choices(  # type: ignore[attr-defined]
        (p.id, f"#{p.position} by {p.author.name}: {p.body_source[:80]}") for p in replies
    )
    return forms


def _moderated_thread(thread_id: int) -> Thread:
    thread = db.session.get(Thread, thread_id)
    if thread is None or thread.merged_into_id is not None:
        abort(404, description="There is no such thread.")
    _refuse_unless(is_moderator_of(current_user, thread.board), "Only moderators of this board can do that.")
    return thread


@bp.route("/t/<int:thread_id>/moderate")
@login_required
def thread_tools(thread_id: int) -> ResponseReturnValue:
    thread = _moderated_thread(thread_id)
    return render_template("moderation/thread_tools.html", thread=thread, tools=_thread_forms(thread))


def _thread_action(
    thread_id: int, name: str, form: ForumForm, act: Callable[[Thread], str | tuple[str, str]]
) -> ResponseReturnValue:
    """Validate, act, commit and go back to the thread. `act` returns the message to flash, or
    (message, address) to land somewhere else (the new thread after a split)."""
    thread = _moderated_thread(thread_id)
    forms = _thread_forms(thread, **{name: form})
    if form.validate_on_submit():
        try:
            outcome = act(thread)
        except ConfirmationNeeded as asking:
            return asking.page
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            status = 422 if error.status in (400, 404, 422) else error.status
            forms = _thread_forms(thread, **{name: form})
            return render_template("moderation/thread_tools.html", thread=thread, tools=forms), status
        db.session.commit()
        message, landing = outcome if isinstance(outcome, tuple) else (outcome, None)
        flash(message, "success")
        return redirect(
            landing
            or (
                thread.url
                if thread.merged_into_id is None
                else url_for("boards.thread", thread_id=thread.merged_into_id)
            )
        )
    return render_template("moderation/thread_tools.html", thread=thread, tools=forms), 422


@bp.route("/t/<int:thread_id>/lock", methods=["POST"])
@login_required
def lock_thread(thread_id: int) -> ResponseReturnValue:
    form = RequiredReasonForm(prefix="lock")

    def act(thread: Thread) -> str:
        services.lock_thread(thread, form.reason.data, actor=current_user)
        return "The thread is locked."

    return _thread_action(thread_id, "lock", form, act)


@bp.route("/t/<int:thread_id>/unlock", methods=["POST"])
@login_required
def unlock_thread(thread_id: int) -> ResponseReturnValue:
    form = ReasonForm(prefix="unlock")

    def act(thread: Thread) -> str:
        services.unlock_thread(thread, form.reason.data or "", actor=current_user)
        return "The thread is unlocked."

    return _thread_action(thread_id, "unlock", form, act)


@bp.route("/t/<int:thread_id>/pin", methods=["POST"])
@login_required
def pin_thread(thread_id: int) -> ResponseReturnValue:
    thread = _moderated_thread(thread_id)
    form = ForumForm()
    if not form.validate_on_submit():
        abort(400, description="The form had expired; please try again.")
    pinned = request.form.get("pinned", "1") == "1"
    services.set_pinned(thread, pinned, actor=current_user)
    db.session.commit()
    flash("The thread is pinned to the top of its board." if pinned else "The thread is unpinned.", "success")
    return redirect(thread.url)


@bp.route("/t/<int:thread_id>/rename", methods=["POST"])
@login_required
def rename_thread(thread_id: int) -> ResponseReturnValue:
    form = RenameForm(prefix="rename")

    def act(thread: Thread) -> str:
        services.rename_thread(thread, form.title.data, form.reason.data or "", actor=current_user)
        return "The thread is renamed."

    return _thread_action(thread_id, "rename", form, act)


@bp.route("/t/<int:thread_id>/move", methods=["POST"])
@login_required
def move_thread(thread_id: int) -> ResponseReturnValue:
    form = MoveForm(prefix="move")
    form.board.choices = _board_choices(current_user)

    def act(thread: Thread) -> str:
        board = boards.get_board(form.board.data)
        services.move_thread(thread, board, form.reason.data or "", actor=current_user)
        return f"The thread is moved to {board.name}."

    return _thread_action(thread_id, "move", form, act)


def _referenced_thread(text: str, field: str) -> Thread:
    thread_id = thread_id_from(text)
    thread = db.session.get(Thread, thread_id) if thread_id else None
    if thread is None or thread.deleted_at is not None:
        raise NotFound("There is no such thread; give its number or address, like /t/123.", field)
    return thread


@bp.route("/t/<int:thread_id>/merge", methods=["POST"])
@login_required
def merge_thread(thread_id: int) -> ResponseReturnValue:
    form = MergeForm(prefix="merge")

    def act(thread: Thread) -> str:
        target = _referenced_thread(form.target.data, "target")
        ask_first(
            title="Merge this thread?",
            question=f"Merge “{thread.title}” into “{target.title}”?",
            consequence="Its posts join the other thread, in order of time, and its address leads there. "
            "This cannot be undone.",
            button="Yes, merge",
            cancel_url=url_for("moderation.thread_tools", thread_id=thread.id),
        )
        services.merge_threads(thread, target, form.reason.data or "", actor=current_user)
        return f"The thread is merged into “{target.title}”."

    return _thread_action(thread_id, "merge", form, act)


@bp.route("/t/<int:thread_id>/split", methods=["POST"])
@login_required
def split_thread(thread_id: int) -> ResponseReturnValue:
    form = SplitForm(prefix="split")
    thread = _moderated_thread(thread_id)
    _thread_forms(thread, split=form)  # fills the choices before validation

    def act(thread: Thread) -> tuple[str, str]:
        board = boards.get_board(form.board.data)
        count = len(form.posts.data or [])
        ask_first(
            title="Split this thread?",
            question=f"Move {count} {'reply' if count == 1 else 'replies'} from “{thread.title}” "
            f"into a new thread “{form.title.data}” in {board.name}?",
            consequence="The replies leave this thread for good; putting them back means merging the threads again.",
            button="Yes, split",
            cancel_url=url_for("moderation.thread_tools", thread_id=thread.id),
        )
        new = services.split_thread(thread, form.posts.data or [], form.title.data, board,
                                    form.reason.data or "", actor=current_user)  # fmt: skip
        moved = f"{count} {'post' if count == 1 else 'posts'}"
        return f"{moved} moved here from “{thread.title}”.", new.url

    return _thread_action(thread_id, "split", form, act)


@bp.route("/t/<int:thread_id>/duplicate", methods=["POST"])
@login_required
def close_duplicate(thread_id: int) -> ResponseReturnValue:
    form = DuplicateForm(prefix="duplicate")

    def act(thread: Thread) -> str:
        original = _referenced_thread(form.original.data, "original")
        services.close_as_duplicate(thread, original, form.reason.data or "", actor=current_user)
        return "The thread is closed as a duplicate."

    return _thread_action(thread_id, "duplicate", form, act)


@bp.route("/t/<int:thread_id>/delete", methods=["POST"])
@login_required
def delete_thread(thread_id: int) -> ResponseReturnValue:
    form = RequiredReasonForm(prefix="delete")

    def act(thread: Thread) -> str:
        ask_first(
            title="Delete this thread?",
            question=f"Delete “{thread.title}” and its {thread.post_count} {'post' if thread.post_count == 1 else 'posts'}?",
            consequence="Members will no longer see it; moderators still can, in the log.",
            button="Yes, delete the thread",
            cancel_url=url_for("moderation.thread_tools", thread_id=thread.id),
        )
        services.delete_thread(thread, form.reason.data, actor=current_user)
        return "The thread is deleted."

    thread = _moderated_thread(thread_id)
    board_url = thread.board.url
    response = _thread_action(thread_id, "delete", form, act)
    return redirect(board_url) if thread.deleted_at is not None else response


# -- posts -------------------------------------------------------------------------------------


def _visible_post(post_id: int) -> Post:
    return boards.get_post(post_id, viewer=current_user)


@bp.route("/p/<int:post_id>/hide", methods=["GET", "POST"])
@login_required
def hide_post(post_id: int) -> ResponseReturnValue:
    post = _visible_post(post_id)
    _refuse_unless(is_moderator_of(current_user, post.thread.board), "Only moderators can hide posts.")
    form = RequiredReasonForm()
    if form.validate_on_submit():
        try:
            services.hide_post(post, form.reason.data, actor=current_user)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
        else:
            db.session.commit()
            flash("The post is hidden from members.", "success")
            return redirect(url_for("boards.post", post_id=post.id))
    status = 422 if form.has_errors else 200
    return render_template("moderation/hide_post.html", post=post, form=form), status


@bp.route("/p/<int:post_id>/restore", methods=["POST"])
@login_required
def restore_post(post_id: int) -> ResponseReturnValue:
    post = _visible_post(post_id)
    _refuse_unless(is_moderator_of(current_user, post.thread.board), "Only moderators can restore posts.")
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400, description="The form had expired; please try again.")
    services.restore_post(post, form.reason.data or "", actor=current_user)
    db.session.commit()
    flash("The post is visible again.", "success")
    return redirect(url_for("boards.post", post_id=post.id))


@bp.route("/p/<int:post_id>/history")
@login_required
def post_history(post_id: int) -> ResponseReturnValue:
    post = _visible_post(post_id)
    versions = services.post_history(post, viewer=current_user)
    return render_template("moderation/history.html", post=post, versions=versions)


@bp.route("/p/<int:post_id>/flag", methods=["GET", "POST"])
@login_required
def flag_post(post_id: int) -> ResponseReturnValue:
    post = _visible_post(post_id)
    form = FlagForm()
    if form.validate_on_submit():
        try:
            flags.flag_post(post, form.reason.data, form.note.data or "", actor=current_user)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            if error.status in (403, 409):
                return render_template("moderation/flag.html", post=post, form=form), error.status
        else:
            db.session.commit()
            flash("Thank you: the moderators will look at this post. You will hear the outcome.", "success")
            return redirect(url_for("boards.post", post_id=post.id))
    status = 422 if form.has_errors else 200
    return render_template("moderation/flag.html", post=post, form=form), status


# -- the queue ---------------------------------------------------------------------------------


@bp.route("/mod/queue")
@login_required
def queue() -> ResponseReturnValue:
    _refuse_unless(is_any_moderator(current_user), "Only moderators can open the review queue.")
    items = flags.open_queue(current_user)
    return render_template("moderation/queue.html", items=items, form=ResolveForm(), failed_post_id=None)


@bp.route("/mod/queue/<int:post_id>/resolve", methods=["POST"])
@login_required
def resolve(post_id: int) -> ResponseReturnValue:
    post = services.get_post(post_id)
    _refuse_unless(
        is_moderator_of(current_user, post.thread.board), "Only moderators of this board can resolve flags."
    )
    form = ResolveForm()
    refused: int | None = None
    if form.validate_on_submit():
        try:
            count = flags.resolve_flags(post, form.outcome.data, form.reason.data or "", actor=current_user,
                                        new_body=form.body.data)  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            refused = error.status if error.status in (403, 409) else None
        else:
            db.session.commit()
            flash(f"Resolved {count} flag{'s' if count != 1 else ''}; the flaggers are told.", "success")
            return redirect(url_for("moderation.queue"))
    items = flags.open_queue(current_user)
    status = 422 if form.has_errors else 400
    if refused:
        status = refused
    return render_template("moderation/queue.html", items=items, form=form, failed_post_id=post_id), status
