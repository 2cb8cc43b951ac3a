"""`flask exchange static-site DIR`: a read-only HTML mirror of the public forum.

Plain files with relative links, so any static web host (or a file browser) can serve it:
index.html, b/<board>/index.html and page-N.html, t/<thread>/index.html and page-N.html,
wiki/index.html and wiki/<page>.html, titles.html (every title, for find-in-page), the
stylesheets and uploads/ (the uploaded files the pages show, thumbnails as <hash>-thumbnail.<ext>).
It shows what an anonymous visitor sees: no hidden or deleted threads, no text of hidden or
deleted posts, no e-mail addresses, no profiles, only the files of the public export.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from flask import current_app
from markupsafe import Markup
from sqlalchemy import select

from forum.auth.models import User
from forum.boards.models import POSTS_PER_PAGE, THREADS_PER_PAGE, Board, Post, Thread
from forum.boards.visibility import thread_is_visible
from forum.db import utcnow
from forum.exchange.uploads import public_files
from forum.extensions import db
from forum.ideas.models import Idea
from forum.uploads.services import UPLOAD_ADDRESS
from forum.uploads.storage import storage
from forum.wiki.links import ANCHOR
from forum.wiki.models import WikiPage, WikiRedirect, WikiRevision

# An upload's address in a link or an image of a page: /uploads/<hash>.<ext> or .../thumbnail.
UPLOAD_LINK = re.compile(r'(?:(?<=href=")|(?<=src="))' + UPLOAD_ADDRESS.pattern)


def page_file(number: int) -> str:
    return "index.html" if number == 1 else f"page-{number}.html"


def wiki_file(slug: str) -> str:
    return slug.replace("/", "--") + ".html"


def static_wiki_links(html: str, files: dict[str, str]) -> str:
    """[[links]] point at /wiki/<slug> on the live forum: here at the page's file (through a
    rename's old address too), or at nothing when the page does not exist (or is deleted)."""

    def replace(match: Any) -> str:
        target = files.get(unquote(match.group(1)))
        title = unescape(match.group(2))
        if target is None:
            return str(
                Markup('<a class="wikilink wikilink-missing" title="{} (no such page)">').format(title)
            )
        return str(Markup('<a class="wikilink" href="{}" title="{}">').format(quote(target), title))

    return ANCHOR.sub(replace, html)


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else ""


class _Files:
    """The public uploads the written pages show, copied into uploads/ as the pages need them."""

    def __init__(self, root: Path) -> None:
        self.folder = root / "uploads"
        self.public = public_files()
        self.written: set[str] = set()

    def rewrite(self, html: str, root: str) -> str:
        """Upload addresses relative to the page; others (removed, not public) stay missing, as
        the live forum answers them 404 to a visitor."""

        def replace(match: Any) -> str:
            found = self.public.get(match.group(1))
            if found is None:
                return str(match.group(0))
            extension, thumb, thumb_extension = found
            if match.group(0).endswith("/thumbnail") and thumb:
                key, name = thumb, f"{match.group(1)}-thumbnail.{thumb_extension}"
            else:
                key, name = match.group(1), f"{match.group(1)}.{extension}"
            self._copy(key, name)
            return f"{root}uploads/{name}"

        return UPLOAD_LINK.sub(replace, html)

    def _copy(self, key: str, name: str) -> None:
        if name in self.written:
            return
        data = storage().get(key)
        if data is not None:  # bytes lost from the storage: missing here too
            self.folder.mkdir(exist_ok=True)
            (self.folder / name).write_bytes(data)
        self.written.add(name)


class _Writer:
    def __init__(self, root: Path, progress: Callable[[int], Any] | None) -> None:
        self.root = root
        self.files = _Files(root)
        self.count = 0
        self.progress = progress
        env = current_app.jinja_env.overlay()
        env.filters["day"] = _day
        self.env = env
        self.common = {
            "site_name": current_app.config["SITE_NAME"],
            "made_at": utcnow().strftime("%Y-%m-%d"),
            "page_file": page_file,
            "wiki_file": wiki_file,
        }

    def write(self, relative: str, template: str, depth: int, **context: Any) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        html = self.env.get_template(f"exchange/static/{template}").render(
            **self.common, root="../" * depth, **context
        )
        path.write_text(self.files.rewrite(html, "../" * depth), encoding="utf-8")
        self.count += 1


def count_visible_threads() -> int:
    return db.session.scalar(select(db.func.count()).select_from(Thread).where(thread_is_visible())) or 0


def write_static_site(root: Path, progress: Callable[[int], Any] | None = None) -> int:
    """Write the mirror into `root` (created if needed); returns how many pages were written."""
    root.mkdir(parents=True, exist_ok=True)
    static = Path(current_app.static_folder or "static")
    (root / "static").mkdir(exist_ok=True)
    for name in ("site.css", "pygments.css"):
        shutil.copyfile(static / "css" / name, root / "static" / name)
    writer = _Writer(root, progress)
    # Deleted accounts show their username only, as in the public export.
    users = select(User.id, User.display_name, User.username, User.deleted_at)
    names = {
        row.id: (row.display_name if row.deleted_at is None else "") or row.username
        for row in db.session.execute(users)
    }
    boards = list(db.session.scalars(select(Board).order_by(Board.position, Board.id)))
    writer.write("index.html", "index.html", 0, boards=boards)
    sections = []
    for board in boards:
        sections.append((board, _write_board(writer, board, names)))
    pages = list(
        db.session.scalars(select(WikiPage).where(WikiPage.deleted_at.is_(None)).order_by(WikiPage.title))
    )
    writer.write("wiki/index.html", "wiki_index.html", 1, wiki_pages=pages)
    files = {page.slug: wiki_file(page.slug) for page in pages}
    for old_slug, slug in db.session.execute(
        select(WikiRedirect.old_slug, WikiPage.slug).join(WikiPage, WikiPage.id == WikiRedirect.page_id)
    ):
        if slug in files:
            files.setdefault(old_slug, files[slug])
    for page in pages:
        revision = (
            db.session.get(WikiRevision, page.current_revision_id) if page.current_revision_id else None
        )
        if revision is None:
            continue
        writer.write(
            f"wiki/{wiki_file(page.slug)}", "wiki_page.html", 1, page=page, revision=revision, names=names,
            body=static_wiki_links(revision.body_html, files),
        )  # fmt: skip
        db.session.expunge(revision)
    # The title index lists wiki pages from the root: their files are under wiki/.
    writer.common["wiki_file"] = lambda slug: "wiki/" + wiki_file(slug)
    writer.write("titles.html", "titles.html", 0, sections=sections, wiki_pages=pages)
    return writer.count


def _write_board(writer: _Writer, board: Board, names: dict[int, str]) -> list[Any]:
    """The board's pages and every thread's pages; returns (id, title) rows for the title index."""
    statement = (
        select(Thread)
        .where(Thread.board_id == board.id, thread_is_visible())
        .order_by(Thread.is_pinned.desc(), Thread.last_post_at.desc(), Thread.id.desc())
    )
    titles = []
    total = (
        db.session.scalar(
            select(db.func.count())
            .select_from(Thread)
            .where(Thread.board_id == board.id, thread_is_visible())
        )
        or 0
    )
    page_count = max(1, -(-total // THREADS_PER_PAGE))
    for page in range(1, page_count + 1):
        threads = list(
            db.session.scalars(statement.offset((page - 1) * THREADS_PER_PAGE).limit(THREADS_PER_PAGE))
        )
        writer.write(f"b/{board.slug}/{page_file(page)}", "board.html", 2, board=board, threads=threads,
                     page=page, page_count=page_count, names=names)  # fmt: skip
        for thread in threads:
            _write_thread(writer, thread, board, names)
            if writer.progress is not None:
                writer.progress(1)
            titles.append(_Title(thread.id, thread.title))
        for thread in threads:
            db.session.expunge(thread)
    return sorted(titles, key=lambda t: t.title.lower())


class _Title:
    __slots__ = ("id", "title")

    def __init__(self, id: int, title: str) -> None:  # noqa: A002
        self.id, self.title = id, title


def _write_thread(writer: _Writer, thread: Thread, board: Board, names: dict[int, str]) -> None:
    page_count = thread.page_count
    idea = db.session.get(Idea, thread.id) if board.kind == "ideas" else None
    for page in range(1, page_count + 1):
        first = (page - 1) * POSTS_PER_PAGE + 1
        posts = list(
            db.session.scalars(
                select(Post)
                .where(
                    Post.thread_id == thread.id,
                    Post.position >= first,
                    Post.position < first + POSTS_PER_PAGE,
                )
                .order_by(Post.position)
            )
        )
        writer.write(f"t/{thread.id}/{page_file(page)}", "thread.html", 2, thread=thread, board=board,
                     posts=posts, page=page, page_count=page_count, names=names, idea=idea)  # fmt: skip
        for post in posts:
            db.session.expunge(post)
