"""Avatars, robots.txt and the sitemap: small public resources every page points at."""

from __future__ import annotations

import math
from datetime import datetime

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from forum.auth.models import User
from forum.boards.models import Board, Thread
from forum.boards.visibility import thread_is_visible
from forum.extensions import db
from forum.look.avatars import avatar_svg
from forum.wiki.models import WikiPage

bp = Blueprint("look", __name__)

AVATAR_MAX_AGE = 7 * 86400  # the address carries the initials, so a renamed member gets a new one
SITEMAP_PAGE_SIZE = 10_000  # the sitemap protocol allows 50,000; smaller pages stay quick to build


@bp.route("/u/<username>/avatar.svg")
def avatar(username: str) -> ResponseReturnValue:
    user = db.session.scalar(select(User).filter_by(username=username))
    if user is None:
        abort(404)
    response = Response(avatar_svg(user.username, user.name), mimetype="image/svg+xml")
    response.cache_control.public = True
    response.cache_control.max_age = AVATAR_MAX_AGE
    response.add_etag()
    return response.make_conditional(request)


@bp.route("/robots.txt")
def robots() -> ResponseReturnValue:
    base = public_base_url()
    lines = [
        "User-agent: *",
        # Personal and staff pages: nothing for a search engine there, and they need a login anyway.
        *(
            f"Disallow: {path}"
            for path in ("/admin/", "/mod/", "/me/", "/settings", "/notifications", "/watch/")
        ),
        "",
        f"Sitemap: {base}/sitemap.xml",
        "",
    ]
    response = Response("\n".join(lines), mimetype="text/plain")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


@bp.route("/sitemap.xml")
def sitemap_index() -> ResponseReturnValue:
    """The sitemap index: one page of boards and wiki pages, then pages of threads."""
    thread_count = db.session.scalar(
        select(func.count()).select_from(Thread).where(thread_is_visible(), Thread.merged_into_id.is_(None))
    )
    pages = max(1, math.ceil((thread_count or 0) / SITEMAP_PAGE_SIZE))
    return _xml(render_template("look/sitemap_index.xml", base=public_base_url(), thread_pages=pages))


@bp.route("/sitemap-pages.xml")
def sitemap_pages() -> ResponseReturnValue:
    boards = db.session.execute(
        select(Board.slug).where(Board.archived_at.is_(None)).order_by(Board.position)
    )
    wiki = db.session.execute(
        select(WikiPage.slug, WikiPage.updated_at)
        .where(WikiPage.deleted_at.is_(None))
        .order_by(WikiPage.slug)
    )
    urls: list[tuple[str, datetime | None]] = [("/", None), ("/wiki", None)]
    urls += [(f"/b/{row.slug}", None) for row in boards]
    urls += [(f"/wiki/{row.slug}", row.updated_at) for row in wiki]
    return _xml(render_template("look/sitemap.xml", base=public_base_url(), urls=urls))


@bp.route("/sitemap-threads-<int:page>.xml")
def sitemap_threads(page: int) -> ResponseReturnValue:
    rows = db.session.execute(
        select(Thread.id, Thread.slug, Thread.last_post_at)
        .where(thread_is_visible(), Thread.merged_into_id.is_(None))
        .order_by(Thread.id)
        .offset((page - 1) * SITEMAP_PAGE_SIZE if page > 0 else 0)
        .limit(SITEMAP_PAGE_SIZE)
    ).all()
    if page < 1 or (not rows and page > 1):
        abort(404)
    urls = [(f"/t/{row.id}/{row.slug}", row.last_post_at) for row in rows]
    return _xml(render_template("look/sitemap.xml", base=public_base_url(), urls=urls))


def _xml(body: str) -> Response:
    response = Response(body, mimetype="application/xml")
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def public_base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")
