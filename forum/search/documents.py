"""Turn database rows into search documents, the one shape both backends index.

A document is a post (titled with its thread's title, so a title match ranks every post of
the thread) or a wiki page. Results are grouped by `group` ("t<thread id>" or
"w<page id>"), so a thread appears once, with its best-matching post.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.boards.visibility import post_is_visible, thread_is_visible
from forum.markup import plain_text
from forum.wiki.models import WikiPage, WikiRevision


@dataclass
class Document:
    key: str  # "p<post id>" or "w<page id>"
    kind: str  # "post" or "wiki"
    group: str  # "t<thread id>" or "w<page id>"
    object_id: int
    thread_id: int | None
    title: str
    body: str  # plain text
    author: str | None  # username, lower case
    board: str | None  # board slug
    created: datetime
    solved: bool = False
    employee: bool = False
    opening: bool = False


_POST_COLUMNS = (
    Post.id,
    Post.thread_id,
    Post.position,
    Post.body_html,
    Post.created_at,
    Thread.title,
    Thread.solution_post_id,
    Thread.has_employee_reply,
    Board.slug,
    User.username,
)


def _visible_posts():  # noqa: ANN202 (a Select)
    """Posts a searcher may see: the post, and its thread, neither deleted nor hidden."""
    return (
        select(*_POST_COLUMNS)
        .join(Thread, Thread.id == Post.thread_id)
        .join(Board, Board.id == Thread.board_id)
        .join(User, User.id == Post.author_id)
        .where(post_is_visible(), thread_is_visible())
    )


def _post_document(row: object) -> Document:
    post_id, thread_id, position, body_html, created, title, solution_id, employee, board, username = row  # type: ignore[misc]
    return Document(
        key=f"p{post_id}",
        kind="post",
        group=f"t{thread_id}",
        object_id=post_id,
        thread_id=thread_id,
        title=title,
        body=plain_text(body_html),
        author=username.lower(),
        board=board,
        created=created,
        solved=solution_id is not None,
        employee=bool(employee),
        opening=position == 1,
    )


def post_documents(session: Session, post_ids: Iterable[int]) -> list[Document]:
    ids = list(post_ids)
    if not ids:
        return []
    return [_post_document(row) for row in session.execute(_visible_posts().where(Post.id.in_(ids)))]


def thread_documents(session: Session, thread_ids: Iterable[int]) -> list[Document]:
    ids = list(thread_ids)
    if not ids:
        return []
    rows = session.execute(_visible_posts().where(Post.thread_id.in_(ids)))
    return [_post_document(row) for row in rows]


def wiki_documents(session: Session, page_ids: Iterable[int]) -> list[Document]:
    ids = list(page_ids)
    if not ids:
        return []
    rows = session.execute(
        select(
            WikiPage.id,
            WikiPage.title,
            WikiPage.updated_at,
            WikiRevision.body_html,
            Board.slug,
            User.username,
        )
        .join(WikiRevision, WikiRevision.id == WikiPage.current_revision_id)
        .outerjoin(Board, Board.id == WikiPage.board_id)
        .outerjoin(User, User.id == WikiRevision.author_id)
        .where(WikiPage.id.in_(ids), WikiPage.deleted_at.is_(None))
    )
    return [
        Document(
            key=f"w{page_id}",
            kind="wiki",
            group=f"w{page_id}",
            object_id=page_id,
            thread_id=None,
            title=title,
            body=plain_text(body_html),
            author=username.lower() if username else None,
            board=board,
            created=updated,
        )
        for page_id, title, updated, body_html, board, username in rows
    ]


def all_documents(session: Session, batch_size: int = 2000) -> Iterator[list[Document]]:
    """Every visible post and wiki page, in batches (keyset paging keeps memory flat)."""
    last_id = 0
    while True:
        rows = session.execute(
            _visible_posts().where(Post.id > last_id).order_by(Post.id).limit(batch_size)
        ).all()
        if not rows:
            break
        last_id = rows[-1][0]
        yield [_post_document(row) for row in rows]
    page_ids = list(session.scalars(select(WikiPage.id).where(WikiPage.deleted_at.is_(None))))
    for start in range(0, len(page_ids), batch_size):
        yield wiki_documents(session, page_ids[start : start + batch_size])


def count_documents(session: Session) -> int:
    from sqlalchemy import func

    posts = session.scalar(select(func.count()).select_from(_visible_posts().subquery())) or 0
    pages = (
        session.scalar(select(func.count()).select_from(WikiPage).where(WikiPage.deleted_at.is_(None))) or 0
    )
    return posts + pages
