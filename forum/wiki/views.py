"""Wiki pages, history, diffs and moderation: parse, call a service, commit, respond."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from forum.boards.models import Board
from forum.errors import Conflict, ServiceError
from forum.extensions import db
from forum.limits import rate_limited
from forum.web import page_number
from forum.wiki import editing, permissions, promotion, reading
from forum.wiki.diff import word_diff
from forum.wiki.forms import PageForm, ReasonForm, RenameForm, RevertForm
from forum.wiki.models import WikiPage, WikiRevision

bp = Blueprint("wiki", __name__, url_prefix="/wiki")

# Two people saving the same new title (or the same revision number) at the same moment: the
# database's unique constraints catch the second one, which gets a 409 rather than a 500.
RACE_MESSAGE = "Someone else saved this at the same moment. Nothing of yours was saved; please try again."


@bp.record_once
def _setup(state: Any) -> None:
    """Config defaults and the Jinja predicates (no edit to the shared templating module)."""
    app = state.app
    app.config.setdefault("WIKI_MIN_ACCOUNT_AGE_DAYS", permissions.DEFAULT_MIN_ACCOUNT_AGE_DAYS)
    app.config.setdefault("WIKI_MIN_POSTS", permissions.DEFAULT_MIN_POSTS)
    app.jinja_env.globals.update(permissions.JINJA_PREDICATES)
    app.jinja_env.globals["wiki_pages_for_thread"] = reading.pages_for_thread


def _commit(form: PageForm | RenameForm | RevertForm) -> bool:
    """Commit; on a unique-constraint race, roll back and put the message on the form."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        form.form_errors.append(RACE_MESSAGE)
        return False
    return True


def _board_choices(form: PageForm) -> None:
    boards = db.session.scalars(select(Board).order_by(Board.position, Board.id)).all()
    form.board_id.choices = [(0, "No topic")] + [(board.id, board.name) for board in boards]


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
        abort(400, description=f"?{name}= must be a whole number, like ?{name}=12.")
    return int(raw)


# -- lists -------------------------------------------------------------------------------------


@bp.route("")
def index() -> ResponseReturnValue:
    topic_slug = request.args.get("topic")
    topic = None
    if topic_slug:
        topic = db.session.scalar(select(Board).where(Board.slug == topic_slug[:60].replace("\x00", "")))
        if topic is None:
            abort(404, description=f"There is no topic “{topic_slug}”.")
    total = reading.count_pages(topic)
    page_count = max(1, -(-total // reading.PAGES_PER_PAGE))
    page = page_number(page_count)
    return render_template(
        "wiki/index.html",
        pages=reading.pages_by_title(page, topic),
        topic=topic,
        topics=reading.topics(),
        recent=reading.recent_changes(1, viewer=current_user)[:10] if page == 1 and topic is None else [],
        deleted=reading.deleted_pages(current_user) if page == 1 and topic is None else [],
        total=total,
        page=page,
        page_count=page_count,
    )


@bp.route("/changes")
def changes() -> ResponseReturnValue:
    total = reading.count_changes(viewer=current_user)
    page_count = max(1, -(-total // reading.CHANGES_PER_PAGE))
    page = page_number(page_count)
    return render_template(
        "wiki/changes.html",
        changes=reading.recent_changes(page, viewer=current_user),
        page=page,
        page_count=page_count,
    )


# -- creating ----------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@rate_limited("editing")
@login_required
def new_page() -> ResponseReturnValue:
    editing.check_can_edit(current_user)
    form = PageForm()
    _board_choices(form)
    if request.method == "GET":
        form.title.data = request.args.get("title", "")[: editing.MAX_TITLE_LENGTH]
    preview_html = None
    if form.validate_on_submit():
        try:
            if form.preview.data:
                editing.check_title(form.title.data)
                preview_html = editing.preview(form.body.data)
            else:
                page = editing.create_page(
                    form.title.data, form.body.data, actor=current_user, summary=form.summary.data,
                    board_id=form.board_id.data or None,
                )  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            if error.status == 409:
                return render_template("wiki/edit.html", form=form, page=None), 409
        else:
            if preview_html is None:
                if _commit(form):
                    flash("The page is created.", "success")
                    return redirect(page.url)
                return render_template("wiki/edit.html", form=form, page=None), 409
    status = 422 if form.has_errors else 200
    return render_template("wiki/edit.html", form=form, page=None, preview_html=preview_html), status


@bp.route("/promote/<int:thread_id>", methods=["GET", "POST"])
@rate_limited("editing")
@login_required
def promote(thread_id: int) -> ResponseReturnValue:
    post_id = _int_arg("post")
    draft = promotion.promotion_draft(thread_id, post_id, actor=current_user)
    form = PageForm(data={"title": draft.title, "body": draft.body, "summary": draft.summary,
                          "board_id": draft.thread.board_id})  # fmt: skip
    _board_choices(form)
    preview_html = None
    status = 200
    if form.validate_on_submit():
        try:
            if form.preview.data:
                editing.check_title(form.title.data)
                preview_html = editing.preview(form.body.data)
            else:
                page = promotion.promote_thread(
                    thread_id, post_id, actor=current_user, title=form.title.data, body=form.body.data,
                    summary=form.summary.data, board_id=form.board_id.data or None,
                )  # fmt: skip
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            status = error.status if error.status in (403, 409) else 422
        else:
            if preview_html is None:
                if _commit(form):
                    flash("The page is created; the thread now links to it.", "success")
                    return redirect(page.url)
                status = 409
    if status == 200 and form.has_errors:
        status = 422
    return (
        render_template(
            "wiki/promote.html", form=form, draft=draft, post_id=post_id, preview_html=preview_html
        ),
        status,
    )


# -- one page ----------------------------------------------------------------------------------


@bp.route("/<slug>")
def show_page(slug: str) -> ResponseReturnValue:
    page, moved_to = reading.find_page(slug, viewer=current_user)
    if page is None:
        return redirect(url_for("wiki.show_page", slug=moved_to, redirected_from=slug))
    revision = page.current_revision
    source_thread, source_post = reading.source_of(page)
    return render_template(
        "wiki/page.html",
        page=page,
        revision=revision,
        body=reading.display_html(revision),
        links_here=reading.links_here(page, limit=21),
        source_thread=source_thread,
        source_post=source_post,
        redirected_from=request.args.get("redirected_from", "")[:200],
    )


@bp.route("/<slug>/links")
def links(slug: str) -> ResponseReturnValue:
    page = reading.get_page(slug, viewer=current_user)
    return render_template(
        "wiki/links.html", page=page, links_here=reading.links_here(page, limit=500),
        redirects=reading.redirects_to(page),
    )  # fmt: skip


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@rate_limited("editing")
@login_required
def edit_page(slug: str) -> ResponseReturnValue:
    page = reading.get_page(slug, viewer=current_user)
    editing.check_can_edit(current_user, page)
    current = page.current_revision
    form = PageForm(
        data={
            "title": page.title,
            "body": current.body_source,
            "board_id": page.board_id or 0,
            "base_revision_id": str(current.id),
        }  # fmt: skip
    )
    _board_choices(form)
    form.title.validators = []  # the title changes through "rename", which leaves a redirect
    preview_html = None
    if form.validate_on_submit():
        try:
            raw_base = form.base_revision_id.data or ""
            base = int(raw_base) if raw_base.isascii() and raw_base.isdigit() else None
            if form.preview.data:
                preview_html = editing.preview(form.body.data)
            else:
                editing.edit_page(
                    page, form.body.data, actor=current_user, base_revision_id=base,
                    summary=form.summary.data, board_id=form.board_id.data or None,
                )  # fmt: skip
        except editing.EditConflict as conflict:
            db.session.rollback()
            return _conflict(page, form, conflict)
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            if error.status in (403, 409):
                return render_template("wiki/edit.html", form=form, page=page), error.status
        else:
            if preview_html is None:
                if _commit(form):
                    flash("Your changes are saved.", "success")
                    return redirect(page.url)
                return render_template("wiki/edit.html", form=form, page=page), 409
    status = 422 if form.has_errors else 200
    return render_template("wiki/edit.html", form=form, page=page, preview_html=preview_html), status


def _conflict(page: WikiPage, form: PageForm, conflict: editing.EditConflict) -> ResponseReturnValue:
    """Both texts and the diff from theirs to yours; saving again starts from theirs."""
    page = reading.get_page(page.slug, viewer=current_user)
    theirs = conflict.current
    form.base_revision_id.data = str(theirs.id)
    form.form_errors.append(conflict.message)
    return (
        render_template(
            "wiki/conflict.html",
            page=page,
            form=form,
            theirs=theirs,
            diff=word_diff(theirs.body_source, form.body.data),
        ),
        409,
    )


@bp.route("/<slug>/history")
def history(slug: str) -> ResponseReturnValue:
    page = reading.get_page(slug, viewer=current_user)
    page_count = max(1, -(-page.revision_count // reading.REVISIONS_PER_PAGE))
    number = page_number(page_count)
    return render_template(
        "wiki/history.html",
        page=page,
        changes=reading.page_history(page, number),
        number=number,
        page_count=page_count,
        redirects=reading.redirects_to(page),
        moderation=reading.moderation_log(page),
    )


@bp.route("/<slug>/revisions/<int:revision_id>")
def revision(slug: str, revision_id: int) -> ResponseReturnValue:
    page = reading.get_page(slug, viewer=current_user)
    revision = reading.get_revision(page, revision_id)
    return render_template(
        "wiki/revision.html", page=page, revision=revision, body=reading.display_html(revision)
    )


@bp.route("/<slug>/diff")
def diff(slug: str) -> ResponseReturnValue:
    page = reading.get_page(slug, viewer=current_user)
    to_id = _int_arg("to") or page.current_revision_id
    new = reading.get_revision(page, to_id)  # type: ignore[arg-type]
    from_id = _int_arg("from")
    if from_id is None:
        old = db.session.scalar(
            select(WikiRevision).where(WikiRevision.page_id == page.id, WikiRevision.number == new.number - 1)
        )
        if old is None:
            abort(404, description=f"Revision #{new.number} is the first one: there is nothing before it.")
    else:
        old = reading.get_revision(page, from_id)
    return render_template(
        "wiki/diff.html", page=page, old=old, new=new, diff=word_diff(old.body_source, new.body_source),
        title_changed=old.title != new.title,
    )  # fmt: skip


@bp.route("/<slug>/revert", methods=["POST"])
@login_required
def revert(slug: str) -> ResponseReturnValue:
    page = reading.get_page(slug, viewer=current_user)
    form = RevertForm()
    if not form.validate_on_submit():
        abort(400, description="Choose a revision to revert to from the history.")
    revision = editing.revert_page(
        page, form.revision_id.data, actor=current_user, base_revision_id=form.base_revision_id.data,
        reason=form.reason.data or "",
    )  # fmt: skip
    if not _commit(form):
        raise Conflict(RACE_MESSAGE)
    flash(f"Reverted: revision #{revision.number} restores the earlier text.", "success")
    return redirect(url_for("wiki.history", slug=page.slug))


@bp.route("/<slug>/rename", methods=["GET", "POST"])
@login_required
def rename(slug: str) -> ResponseReturnValue:
    page = reading.get_page(slug, viewer=current_user)
    editing.check_can_edit(current_user, page)
    form = RenameForm(data={"title": page.title})
    if form.validate_on_submit():
        old_slug = page.slug
        try:
            editing.rename_page(page, form.title.data, actor=current_user, reason=form.reason.data or "")
        except ServiceError as error:
            db.session.rollback()
            form.add_service_error(error)
            page = reading.get_page(old_slug, viewer=current_user)
            status = error.status if error.status in (403, 409) else 422
            return render_template("wiki/rename.html", page=page, form=form), status
        if not _commit(form):
            page = reading.get_page(old_slug, viewer=current_user)
            return render_template("wiki/rename.html", page=page, form=form), 409
        flash(f"Renamed. The old address /wiki/{old_slug} now redirects here.", "success")
        return redirect(page.url)
    return render_template("wiki/rename.html", page=page, form=form), 422 if form.has_errors else 200


def _moderate(slug: str, action: Any, message: str) -> ResponseReturnValue:
    page = reading.get_page(slug, viewer=current_user)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400, description="The reason is too long (at most 300 characters).")
    action(page, actor=current_user, reason=form.reason.data or "")
    db.session.commit()
    flash(message, "info")
    return redirect(page.url)


@bp.route("/<slug>/protect", methods=["POST"])
@login_required
def protect(slug: str) -> ResponseReturnValue:
    return _moderate(
        slug, editing.protect_page, "The page is protected: only moderators and employees can edit it."
    )


@bp.route("/<slug>/unprotect", methods=["POST"])
@login_required
def unprotect(slug: str) -> ResponseReturnValue:
    return _moderate(slug, editing.unprotect_page, "The page is no longer protected.")


@bp.route("/<slug>/delete", methods=["POST"])
@login_required
def delete(slug: str) -> ResponseReturnValue:
    return _moderate(slug, editing.delete_page, "The page is deleted; moderators can still restore it.")


@bp.route("/<slug>/restore", methods=["POST"])
@login_required
def restore(slug: str) -> ResponseReturnValue:
    return _moderate(slug, editing.restore_page, "The page is restored.")
