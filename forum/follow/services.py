"""Reading positions, unread counts, drafts, bookmarks and quotes (issue #15).

Services take the acting member and never commit. The thread page records a visit with at most
one statement (an upsert, skipped when nothing changed); the notifications of a thread count as
read once a visit has seen their post (forum.notifications.models.unread_clause), so reading a
thread clears its bell without a second write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from forum.auth.models import User
from forum.boards import permissions
from forum.boards.models import POSTS_PER_PAGE, Board, Post, Thread
from forum.boards.visibility import visible_threads
from forum.db import utcnow
from forum.errors import Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.follow.models import MAX_NOTE_LENGTH, BoardRead, Bookmark, Draft, ThreadRead
from forum.markup import MAX_BODY_LENGTH

BOOKMARKS_PER_PAGE = 30


def _is_member(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def _upsert(model: type, values: dict[str, Any], keys: list[str], updates: dict[str, Any]) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE, on SQLite and PostgreSQL alike: one statement."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values)
    return statement.on_conflict_do_update(index_elements=keys, set_=updates(statement.excluded))  # type: ignore[operator]


# -- reading positions --------------------------------------------------------------------------


def first_unread_position(thread: Thread) -> int | None:
    """The position of the first post the member has not been shown, if they read the thread
    before and something came since (thread.viewer_last_read, loaded with the thread)."""
    last = thread.viewer_last_read
    if last is None or last <= 0 or last >= thread.post_count:
        return None
    return last + 1


def page_of(position: int) -> int:
    return (position - 1) // POSTS_PER_PAGE + 1


def record_visit(member: User, thread: Thread, posts: list[Post]) -> bool:
    """Remember how far `member` read: one upsert, none when the visit changes nothing.

    Needs thread.viewer_last_read and viewer_seen (loaded with the thread for a member).
    """
    shown = max((post.position for post in posts), default=0)
    last, seen = thread.viewer_last_read, thread.viewer_seen
    if last is not None and seen is not None and last >= shown and seen >= thread.post_count:
        return False
    _advance(member.id, thread.id, last_read=shown, seen=thread.post_count)
    # The visit read this thread's notifications (unread_clause): the bell drops by their number,
    # loaded with the thread (viewer_unread_notifications), with no query to count again.
    cleared = thread.viewer_unread_notifications or 0
    if cleared and "unread_notification_count" in member.__dict__:
        set_committed_value(
            member, "unread_notification_count", max(0, member.unread_notification_count - cleared)
        )
    return True


def _advance(user_id: int, thread_id: int, *, last_read: int, seen: int) -> None:
    """Move a member's reading position in a thread forward (never back): one statement."""
    db.session.execute(
        _upsert(
            ThreadRead,
            {
                "user_id": user_id,
                "thread_id": thread_id,
                "last_read_position": last_read,
                "seen_position": seen,
                "read_at": utcnow(),
            },
            ["user_id", "thread_id"],
            lambda new: {
                "last_read_position": case(
                    (ThreadRead.last_read_position > new.last_read_position, ThreadRead.last_read_position),
                    else_=new.last_read_position,
                ),
                "seen_position": case(
                    (ThreadRead.seen_position > new.seen_position, ThreadRead.seen_position),
                    else_=new.seen_position,
                ),
                "read_at": new.read_at,
            },
        )  # fmt: skip
    )


@dataclass
class Unread:
    """What a thread row tells a member: `new_posts` since their last visit, or `is_new` (never opened)."""

    new_posts: int = 0
    is_new: bool = False
    first_unread_url: str | None = None


def unread_state(thread: Thread, member: Any) -> Unread:
    """From the columns loaded with a list's threads for a member (viewer_last_read,
    viewer_board_marked_at): no query."""
    if not _is_member(member):
        return Unread()
    marked = thread.viewer_board_marked_at
    if marked is not None and thread.last_post_at <= marked:
        return Unread()
    last = thread.viewer_last_read
    if last is None:
        since = max(filter(None, (marked, member.created_at)))
        return Unread(is_new=thread.last_post_at > since)
    if thread.post_count > last:
        position = last + 1
        page = page_of(position)
        url = f"{thread.url}?page={page}#unread" if page > 1 else f"{thread.url}#unread"
        return Unread(new_posts=thread.post_count - last, first_unread_url=url)
    return Unread()


def mark_board_read(board: Board, *, actor: User) -> None:
    """Everything in `board` up to now counts as read: its visited threads jump to their end,
    and threads never opened are read unless something happens in them later."""
    if not _is_member(actor):
        raise Forbidden("Log in to keep track of what you have read.")
    now = utcnow()
    db.session.execute(
        _upsert(
            BoardRead,
            {"user_id": actor.id, "board_id": board.id, "marked_at": now},
            ["user_id", "board_id"],
            lambda new: {"marked_at": new.marked_at},
        )  # fmt: skip
    )
    thread_count = select(Thread.post_count).where(Thread.id == ThreadRead.thread_id).scalar_subquery()
    db.session.execute(
        update(ThreadRead)
        .where(
            ThreadRead.user_id == actor.id,
            ThreadRead.thread_id.in_(select(Thread.id).where(Thread.board_id == board.id)),
        )
        .values(last_read_position=thread_count, seen_position=thread_count, read_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(actor, ["unread_notification_count"])


# -- drafts -------------------------------------------------------------------------------------


def save_draft(*, actor: User, body: str, thread: Thread | None = None, board: Board | None = None,
               title: str = "") -> Draft | None:  # fmt: skip
    """Keep what the member typed for this thread (a reply) or board (a new thread); an empty
    text deletes the draft. Returns the draft, or None when there is none left."""
    if (thread is None) == (board is None):
        raise Invalid("A draft belongs to one thread or one board.")
    if thread is not None and not permissions.can_reply(actor, thread):
        raise Forbidden("You cannot reply to this thread, so there is no draft to keep.")
    if board is not None and not permissions.can_start_thread(actor, board):
        raise Forbidden("You cannot start threads in this board, so there is no draft to keep.")
    if len(body) > MAX_BODY_LENGTH:
        raise Invalid(
            f"A draft holds at most {MAX_BODY_LENGTH:,} characters (this has {len(body):,}).", "body"
        )
    title = " ".join(title.split())[:200]
    if not body.strip() and not title:
        discard_draft(actor=actor, thread=thread, board=board)
        return None
    draft = find_draft(actor, thread=thread, board=board)
    if draft is None:
        draft = Draft(
            user_id=actor.id, thread_id=thread.id if thread else None, board_id=board.id if board else None
        )
        db.session.add(draft)
    draft.body, draft.title, draft.updated_at = body, title, utcnow()
    db.session.flush()
    return draft


def find_draft(member: Any, *, thread: Thread | None = None, board: Board | None = None) -> Draft | None:
    if not _is_member(member):
        return None
    where = Draft.thread_id == thread.id if thread is not None else Draft.board_id == board.id  # type: ignore[union-attr]
    return db.session.scalar(select(Draft).where(Draft.user_id == member.id, where))


def discard_draft(*, actor: User, thread: Thread | None = None, board: Board | None = None) -> int:
    where = Draft.thread_id == thread.id if thread is not None else Draft.board_id == board.id  # type: ignore[union-attr]
    return db.session.execute(delete(Draft).where(Draft.user_id == actor.id, where)).rowcount or 0


# -- quotes -------------------------------------------------------------------------------------


def quote_text(post: Post, *, actor: Any, selection: str | None = None) -> str:
    """Markdown that quotes `post` (or the `selection` of its text) with its author and a link back."""
    if not permissions.can_see_thread(actor, post.thread) or not permissions.can_see_post_body(actor, post):
        raise NotFound("You cannot quote that post: it is hidden, deleted or not yours to see.")
    if post.deleted_at is not None:
        raise NotFound("You cannot quote that post: it was deleted.")
    text = (selection if selection is not None else post.body_source).strip()
    author = post.author
    who = f"@{author.username}" if author.deleted_at is None else author.name
    quoted = "\n".join(f"> {line}" if line else ">" for line in text.splitlines())
    return f"> {who} [wrote](/p/{post.id}):\n{quoted}\n\n"


# -- bookmarks ----------------------------------------------------------------------------------


def bookmark_post(post: Post, *, actor: User, note: str = "") -> Bookmark:
    """Keep `post` in the member's bookmarks (again: just the note changes)."""
    if not _is_member(actor):
        raise Forbidden("Log in to bookmark posts.")
    if not permissions.can_see_thread(actor, post.thread) or not permissions.can_see_post_body(actor, post):
        raise NotFound("You cannot bookmark that post: it is hidden or was removed.")
    note = _checked_note(note)
    bookmark = db.session.scalar(
        select(Bookmark).where(Bookmark.user_id == actor.id, Bookmark.post_id == post.id)
    )
    if bookmark is None:
        bookmark = Bookmark(user_id=actor.id, post_id=post.id, note=note)
        db.session.add(bookmark)
    else:
        bookmark.note = note
    db.session.flush()
    return bookmark


def _checked_note(note: str) -> str:
    note = " ".join(note.split())
    if len(note) > MAX_NOTE_LENGTH:
        raise Invalid(f"Keep the note to {MAX_NOTE_LENGTH} characters (this has {len(note)}).", "note")
    return note


def remove_bookmark(post: Post, *, actor: User) -> int:
    return (
        db.session.execute(
            delete(Bookmark).where(Bookmark.user_id == actor.id, Bookmark.post_id == post.id)
        ).rowcount
        or 0
    )


def set_bookmark_note(bookmark_id: int, note: str, *, actor: User) -> Bookmark:
    bookmark = db.session.get(Bookmark, bookmark_id)
    if bookmark is None or bookmark.user_id != actor.id:
        raise NotFound("There is no such bookmark.")
    bookmark.note = _checked_note(note)
    return bookmark


def list_bookmarks(member: User, page: int) -> tuple[list[Bookmark], int]:
    """The member's bookmarks, newest first, with post, thread and board; and how many they have."""
    rows = db.session.execute(
        select(Bookmark, db.func.count().over())
        .options(
            joinedload(Bookmark.post).joinedload(Post.thread).joinedload(Thread.board),
            joinedload(Bookmark.post).joinedload(Post.author),
        )  # fmt: skip
        .where(Bookmark.user_id == member.id)
        .order_by(Bookmark.created_at.desc(), Bookmark.id.desc())
        .offset((page - 1) * BOOKMARKS_PER_PAGE)
        .limit(BOOKMARKS_PER_PAGE)
    ).all()
    total = rows[0][1] if rows else 0
    return [row[0] for row in rows], total


def bookmark_is_visible(bookmark: Bookmark, member: User) -> bool:
    """A post hidden or removed since it was bookmarked shows as a placeholder."""
    post = bookmark.post
    return (
        permissions.can_see_thread(member, post.thread)
        and permissions.can_see_post_body(member, post)
        and (post.deleted_at is None)
    )


# -- /latest ------------------------------------------------------------------------------------

LATEST_PER_PAGE = 30


def latest_threads(page: int, *, viewer: Any) -> list[Thread]:
    """Every board's visible threads by last activity (Discourse's "Latest"), with the member's
    reading state loaded in the same statement."""
    from forum.boards.services import list_statement_options

    return list(
        db.session.scalars(
            visible_threads()
            .options(joinedload(Thread.board), *list_statement_options(viewer))
            .order_by(Thread.last_post_at.desc(), Thread.id.desc())
            .offset((page - 1) * LATEST_PER_PAGE)
            .limit(LATEST_PER_PAGE + 1),
            {"viewer_id": viewer.id} if _is_member(viewer) else {},
        )
    )


def on_post_created(sender: User, *, post: Post, thread: Thread, is_new_thread: bool, **_: Any) -> None:
    """Posting clears the draft it came from, and the writer has read the thread up to it."""
    if is_new_thread:
        discard_draft(actor=sender, board=thread.board)
    else:
        discard_draft(actor=sender, thread=thread)
    _advance(sender.id, thread.id, last_read=post.position, seen=post.position)
