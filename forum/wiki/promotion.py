"""Promoting a thread to a wiki page: a draft from the question, its accepted (or a chosen)
reply and their credits, which the promoter edits and saves as a new page.

The page is created by forum.wiki.editing.create_page, with the same rules as any new page;
the page and the thread then link each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum.auth.models import User
from forum.boards.models import Post, Thread
from forum.boards.services import get_thread
from forum.boards.visibility import post_is_visible
from forum.db import MAX_ID
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.wiki import permissions
from forum.wiki.editing import MAX_SUMMARY_LENGTH, create_page
from forum.wiki.models import WikiPage


@dataclass
class PromotionDraft:
    thread: Thread
    question: Post
    answer: Post | None
    replies: list[Post]  # visible replies, to choose another answer
    title: str
    body: str
    summary: str


def promotion_draft(thread_id: int, post_id: int | None, *, actor: User) -> PromotionDraft:
    """A new page's draft from a thread: the question, the accepted (or chosen) reply, credits."""
    if not 0 < thread_id <= MAX_ID:
        raise NotFound("There is no such thread; it may have been removed.")
    thread = get_thread(thread_id, viewer=actor)
    if not permissions.can_promote_thread(actor, thread):
        raise Forbidden(permissions.why_cannot_edit_wiki(actor) or "You cannot promote this thread.")
    posts = list(
        db.session.scalars(
            select(Post)
            .options(joinedload(Post.author))
            .where(Post.thread_id == thread.id, post_is_visible())
            .order_by(Post.position)
            .limit(201)
        )
    )
    question = next((post for post in posts if post.position == 1), None)
    if question is None:
        raise Conflict("The opening post of this thread is gone, so there is no question to promote.")
    replies = [post for post in posts if post.position > 1]
    chosen_id = post_id if post_id is not None else thread.solution_post_id
    answer = None
    if chosen_id is not None:
        answer = next((post for post in replies if post.id == chosen_id), None)
        if answer is None and post_id is not None:
            raise Invalid("That reply is not a visible reply in this thread.", "post_id")
    title = thread.title
    credits = f"question by @{question.author.username}"
    parts = ["## The question", "", question.body_source.strip(), ""]
    if answer is not None:
        credits += f", answer by @{answer.author.username}"
        parts += ["## The answer", "", answer.body_source.strip(), ""]
    parts += [
        "---",
        f"_Adapted from the thread [{_escape_link_text(thread.title)}]({thread.url}) ({credits})._",
    ]
    summary = f"Promoted from the thread “{thread.title}” ({credits})"
    return PromotionDraft(
        thread, question, answer, replies, title, "\n".join(parts), summary[:MAX_SUMMARY_LENGTH]
    )


def _escape_link_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def promote_thread(
    thread_id: int, post_id: int | None, *, actor: User, title: str, body: str, summary: str = "",
    board_id: int | None | bool = False,
) -> WikiPage:  # fmt: skip
    """Create the page from an (edited) promotion draft; the page and thread link each other."""
    draft = promotion_draft(thread_id, post_id, actor=actor)
    board = draft.thread.board_id if board_id is False else board_id
    return create_page(
        title, body, actor=actor, summary=summary or draft.summary, board_id=board,  # type: ignore[arg-type]
        source_thread=draft.thread, source_post=draft.answer,
    )  # fmt: skip
