"""Moderator actions on threads and posts; each checks its rule, keeps counters and is audited.

Counters after moves, merges and splits are recounted from rows (a handful of COUNT
queries per board) rather than adjusted step by step: these actions are rare and must
leave the board index exactly right.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from forum import events
from forum.auth.models import User
from forum.boards import services as boards
from forum.boards.models import Board, Post, Thread
from forum.boards.permissions import can_see_thread, is_moderator_of, thread_viewer
from forum.counters import add_to, lock_row, recount_row
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.moderation import audit
from forum.moderation.models import PostRevision

MAX_REASON_LENGTH = 500


def check_reason(reason: str | None, *, required: bool = True, field: str = "reason") -> str:
    reason = " ".join((reason or "").split())
    if required and not reason:
        raise Invalid("Give a reason: members see it.", field)
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(f"Use at most {MAX_REASON_LENGTH} characters.", field)
    if "\x00" in reason:
        raise Invalid("The text contains a NUL character, which cannot be saved.", field)
    return reason


def _require_moderator(actor: User, board: Board, what: str) -> None:
    if not is_moderator_of(actor, board):
        raise Forbidden(f"Only moderators of this board can {what}.")


def get_thread(thread_id: int) -> Thread:
    thread = db.session.get(Thread, thread_id)
    if thread is None:
        raise NotFound("There is no such thread.")
    return thread


def get_post(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None:
        raise NotFound("There is no such post.")
    return post


# -- counters ----------------------------------------------------------------------------------


def recount_thread(thread: Thread) -> None:
    db.session.flush()
    recount_row(thread, "post_count", "reply_count")
    boards.refresh_thread_last_post(thread)


def recount_board(board: Board) -> None:
    db.session.flush()
    recount_row(board, "thread_count", "post_count")
    boards.refresh_board_last_thread(board)


def _renumber(thread: Thread, posts: list[Post]) -> None:
    """Give `posts` positions 1..n in order; two passes so the unique (thread, position) holds."""
    for index, post in enumerate(posts, start=1):
        post.position = -index
    db.session.flush()
    for index, post in enumerate(posts, start=1):
        post.thread = thread
        post.position = index
    db.session.flush()


def _posts_of(thread: Thread) -> list[Post]:
    return list(db.session.scalars(select(Post).where(Post.thread_id == thread.id).order_by(Post.position)))


# -- threads -----------------------------------------------------------------------------------


def lock_thread(thread: Thread, reason: str, *, actor: User) -> None:
    _require_moderator(actor, thread.board, "lock threads")
    reason = check_reason(reason)
    if thread.is_locked:
        raise Conflict("This thread is locked already.")
    thread.locked_at, thread.lock_reason = utcnow(), reason
    _record_thread(actor, "locked thread", thread, reason)


def unlock_thread(thread: Thread, reason: str = "", *, actor: User) -> None:
    _require_moderator(actor, thread.board, "unlock threads")
    reason = check_reason(reason, required=False)
    if not thread.is_locked:
        raise Conflict("This thread is not locked.")
    thread.locked_at, thread.lock_reason, thread.duplicate_of_id = None, None, None
    _record_thread(actor, "unlocked thread", thread, reason)


def set_pinned(thread: Thread, pinned: bool, *, actor: User) -> None:
    _require_moderator(actor, thread.board, "pin threads")
    if thread.is_pinned == pinned:
        raise Conflict("This thread is pinned already." if pinned else "This thread is not pinned.")
    thread.is_pinned = pinned
    _record_thread(actor, "pinned thread" if pinned else "unpinned thread", thread, "")


def rename_thread(thread: Thread, title: str, reason: str = "", *, actor: User) -> None:
    _require_moderator(actor, thread.board, "rename threads")
    title = boards.check_title(title)
    reason = check_reason(reason, required=False)
    previous = thread.title
    thread.title, thread.slug = title, boards.slugify(title)
    _record_thread(actor, "renamed thread", thread, reason, details=f"Previous title: {previous}")


def move_thread(thread: Thread, board: Board, reason: str = "", *, actor: User) -> None:
    """Move to another board: both boards' counters and latest threads are recounted."""
    source = thread.board
    _require_moderator(actor, source, "move threads")
    _require_moderator(actor, board, "move threads into that board")
    if board.id == source.id:
        raise Invalid("The thread is in this board already.", "board")
    reason = check_reason(reason, required=False)
    thread.board = board
    recount_board(source)
    recount_board(board)
    _record_thread(actor, "moved thread", thread, reason, details=f"From /b/{source.slug} to /b/{board.slug}")


def merge_threads(source: Thread, target: Thread, reason: str = "", *, actor: User) -> None:
    """Move every post of `source` into `target`, interleaved by time; `source` redirects there."""
    _require_moderator(actor, source.board, "merge threads")
    _require_moderator(actor, target.board, "merge threads")
    if source.id == target.id:
        raise Invalid("Choose another thread to merge into.", "target")
    if target.deleted_at is not None or target.merged_into_id is not None:
        raise Invalid("That thread is gone; choose another.", "target")
    reason = check_reason(reason, required=False)
    merged = sorted(_posts_of(target) + _posts_of(source), key=lambda p: (p.created_at, p.id))
    _renumber(target, merged)
    source.merged_into_id = target.id
    source.deleted_at = utcnow()
    source.is_pinned = False
    if source.solution_post_id and not target.solution_post_id:
        target.solution_post_id = source.solution_post_id
    if target.solution_post_id and merged[0].id == target.solution_post_id:
        target.solution_post_id = None  # an opening post cannot be the answer
    source.solution_post_id = None
    add_to(source.author, thread_count=-1)
    recount_thread(target)
    recount_thread(source)
    for board in {source.board, target.board}:
        recount_board(board)
    events.threads_combined.send(actor, source=source, target=target, how="merge")
    _record_thread(
        actor, "merged thread", source, reason, details=f"Into thread {target.id} ({target.title})"
    )


def split_thread(
    thread: Thread, post_ids: list[int], title: str, board: Board, reason: str = "", *, actor: User
) -> Thread:
    """Move the chosen replies into a new thread (in `board`); the earliest opens it."""
    _require_moderator(actor, thread.board, "split threads")
    _require_moderator(actor, board, "start threads in that board")
    title = boards.check_title(title)
    reason = check_reason(reason, required=False)
    chosen = [post for post in _posts_of(thread) if post.id in set(post_ids)]
    if not chosen or len(chosen) != len(set(post_ids)):
        raise Invalid("Choose one or more replies of this thread.", "posts")
    if any(post.is_opening for post in chosen):
        raise Invalid("The opening post stays; choose replies only.", "posts")
    chosen.sort(key=lambda p: (p.created_at, p.id))
    first = chosen[0]
    new = Thread(
        board=board, author_id=first.author_id, title=title, slug=boards.slugify(title),
        created_at=first.created_at, last_post_at=first.created_at,
    )  # fmt: skip
    db.session.add(new)
    db.session.flush()
    _renumber(new, chosen)
    _renumber(thread, _posts_of(thread))
    if thread.solution_post_id in {post.id for post in chosen}:
        thread.solution_post_id = None
    add_to(first.author, thread_count=1)
    recount_thread(new)
    recount_thread(thread)
    for each in {thread.board, board}:
        recount_board(each)
    _record_thread(actor, "split thread", thread, reason,
                   details=f"{len(chosen)} posts into thread {new.id} ({new.title})")  # fmt: skip
    return new


def close_as_duplicate(thread: Thread, original: Thread, reason: str = "", *, actor: User) -> None:
    """Lock the thread, pointing readers at the original."""
    _require_moderator(actor, thread.board, "close threads")
    # The original must be one every reader can open, and one the moderator may see: a hidden
    # thread's title reached the public page, the export and the static site (issue #21).
    # Unknown and unseeable threads get the same answer.
    if (
        original.id == thread.id
        or original.deleted_at is not None
        or original.hidden_at is not None
        or not can_see_thread(actor, original)
    ):
        raise NotFound("There is no such thread; give its number or address, like /t/123.", "original")
    # No title in the default reason: the original may be hidden later, the reason stays.
    reason = check_reason(reason, required=False) or f"Duplicate of thread /t/{original.id}"
    thread.duplicate_of_id = original.id
    thread.locked_at, thread.lock_reason = utcnow(), reason
    events.threads_combined.send(actor, source=thread, target=original, how="duplicate")
    _record_thread(actor, "closed as duplicate", thread, reason, details=f"Original: thread {original.id}")


def delete_thread(thread: Thread, reason: str, *, actor: User) -> None:
    """Remove a whole thread from its board (rows stay for the log); counters are recounted."""
    _require_moderator(actor, thread.board, "delete threads")
    reason = check_reason(reason)
    if thread.deleted_at is not None:
        raise Conflict("This thread is deleted already.")
    thread.deleted_at = utcnow()
    thread.is_pinned = False
    add_to(thread.author, thread_count=-1)
    recount_board(thread.board)
    _record_thread(actor, "deleted thread", thread, reason)


def _record_thread(actor: User, action: str, thread: Thread, reason: str, details: str = "") -> None:
    audit.record(
        actor, action, target_type="thread", target_id=thread.id, target_label=thread.title,
        reason=reason, board_id=thread.board_id, affected_user=thread.author, details=details,
    )  # fmt: skip


# -- posts -------------------------------------------------------------------------------------


def hide_post(post: Post, reason: str, *, actor: User | None, automatic: bool = False) -> None:
    """Hide a post from members (moderators still read it); `actor` None: the forum itself."""
    if actor is not None:
        _require_moderator(actor, post.thread.board, "hide posts")
    reason = check_reason(reason)
    lock_row(post, "position")  # decide on the latest state: the author may be deleting it
    if post.deleted_at is not None:
        raise Conflict("This post is deleted.")
    if post.hidden_at is not None:
        raise Conflict("This post is hidden already.")
    post.hidden_at, post.hidden_reason = utcnow(), reason
    post.hidden_by_id = actor.id if actor else None
    boards.post_left_view(post)
    audit.record(
        actor, "auto-hid post" if automatic else "hid post", target_type="post", target_id=post.id,
        target_label=post.thread.title, reason=reason, board_id=post.thread.board_id,
        affected_user=post.author, details=post.body_source[:2000],
    )  # fmt: skip


def restore_post(post: Post, reason: str = "", *, actor: User) -> None:
    """Show a hidden post again; its counters come back (unless it was deleted meanwhile)."""
    _require_moderator(actor, post.thread.board, "restore posts")
    reason = check_reason(reason, required=False)
    lock_row(post, "position")
    if post.hidden_at is None:
        raise Conflict("This post is not hidden.")
    post.hidden_at, post.hidden_reason, post.hidden_by_id = None, None, None
    if post.deleted_at is None:
        boards.post_came_back(post)
    audit.record(
        actor, "restored post", target_type="post", target_id=post.id, target_label=post.thread.title,
        reason=reason, board_id=post.thread.board_id, affected_user=post.author,
    )  # fmt: skip


def record_revision(sender: User | None, *, post: Post, previous_source: str, **_: object) -> None:
    """forum.events.post_edited receiver: keep the previous text; audit edits by someone else."""
    number = (
        db.session.scalar(select(func.max(PostRevision.number)).where(PostRevision.post_id == post.id)) or 0
    ) + 1
    db.session.add(
        PostRevision(post_id=post.id, number=number, body_source=previous_source,
                     editor_id=sender.id if sender else None, created_at=post.edited_at or utcnow())
    )  # fmt: skip
    if sender is not None and sender.id != post.author_id:
        audit.record(
            sender, "edited post", target_type="post", target_id=post.id, target_label=post.thread.title,
            board_id=post.thread.board_id, affected_user=post.author, details=previous_source[:2000],
        )  # fmt: skip


def can_view_history(user: object, post: Post) -> bool:
    """The author and the board's moderators. `user` may be a ThreadViewer."""
    viewer = thread_viewer(user, post.thread)
    return viewer.is_member and (post.author_id == viewer.id or viewer.moderates_board)


@dataclass
class Version:
    number: int
    body_source: str
    editor: User | None
    saved_at: datetime
    diff: list[tuple[str, str]]  # (kind, line): kind is "add", "del", "same" or "gap"


def post_history(post: Post, *, viewer: object) -> list[Version]:
    """Every version of the post, newest first, each with its diff against the one before."""
    if not can_view_history(viewer, post):
        raise Forbidden("Only the author and moderators can see the edit history.")
    revisions = list(
        db.session.scalars(
            select(PostRevision).where(PostRevision.post_id == post.id).order_by(PostRevision.number)
        )
    )
    texts = [rev.body_source for rev in revisions] + [post.body_source]
    # Version 1 was written by the author when posting; version k+1 by the editor of revision k.
    editors: list[User | None] = [post.author] + [rev.editor for rev in revisions]
    times = [post.created_at] + [rev.created_at for rev in revisions]
    versions = []
    for index, text in enumerate(texts):
        previous = texts[index - 1] if index else ""
        versions.append(
            Version(index + 1, text, editors[index], times[index], line_diff(previous, text) if index else [])
        )
    return versions[::-1]


def line_diff(before: str, after: str) -> list[tuple[str, str]]:
    lines = []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=2):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            lines.append(("gap", "…"))
        elif line.startswith("+"):
            lines.append(("add", line[1:]))
        elif line.startswith("-"):
            lines.append(("del", line[1:]))
        else:
            lines.append(("same", line[1:]))
    return lines
