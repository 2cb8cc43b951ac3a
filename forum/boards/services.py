"""Boards, threads and posts: every rule and counter lives here, never in views.

Counters are denormalized (board thread/post counts and latest thread, thread reply count
and last post, user post count) so that list pages never count rows; every function that
creates, deletes or moves content keeps them right.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache

from markupsafe import Markup
from sqlalchemy import Select, and_, bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, undefer
from sqlalchemy.orm.attributes import set_committed_value

from forum import events
from forum.auth.models import User
from forum.badges.models import EmployeeBadge
from forum.badges.permissions import can_wear_badge
from forum.boards import permissions
from forum.boards.models import BOARD_KINDS, Board, Post, PostSubmission, Thread
from forum.boards.visibility import post_is_visible, thread_is_visible
from forum.counters import add_to, lock_row
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.markup import render_markdown
from forum.text import clean_line

MAX_TITLE_LENGTH = 150
MIN_TITLE_LENGTH = 5
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(text: str, max_length: int = 80) -> str:
    """ASCII words joined by dashes; used in URLs, never as an identifier."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "thread"


# -- boards ------------------------------------------------------------------------------------


def list_boards() -> list[Board]:
    """All boards in display order, with their latest thread and its last poster."""
    return list(
        db.session.scalars(
            select(Board)
            .options(joinedload(Board.last_thread).joinedload(Thread.last_poster))
            .order_by(Board.position, Board.id)
        ).unique()
    )


@cache
def _board_statement() -> Select[tuple[Board]]:
    return select(Board).where(Board.slug == bindparam("slug"))


def get_board(slug: str) -> Board:
    board = db.session.scalar(_board_statement(), {"slug": slug})
    if board is None:
        raise NotFound(f"There is no board at /b/{slug}.")
    return board


def _check_board_fields(name: str, slug: str, description: str, kind: str) -> None:
    if not clean_line(name) or len(name) > 80:
        raise Invalid("A board needs a name of at most 80 characters.", "name")
    if not SLUG_PATTERN.match(slug) or len(slug) > 60:
        raise Invalid("Use lowercase letters, digits and single dashes (at most 60).", "slug")
    if len(description) > 1000:
        raise Invalid("Use at most 1,000 characters.", "description")
    if kind not in BOARD_KINDS:
        raise Invalid(f"Choose one of: {', '.join(BOARD_KINDS)}.", "kind")


def create_board(
    name: str, *, slug: str | None = None, description: str = "", kind: str = "questions",
    position: int | None = None, actor: User | None = None,
) -> Board:  # fmt: skip
    """Create a board; `actor` None means the command line (an operator)."""
    if actor is not None and not permissions.can_manage_boards(actor):
        raise Forbidden("Only administrators can create boards.")
    slug = slug or slugify(name, 60)
    _check_board_fields(name, slug, description, kind)
    if db.session.scalar(select(Board.id).where(Board.slug == slug)) is not None:
        raise Conflict(f"A board at /b/{slug} exists already.", "slug")
    if position is None:
        position = (db.session.scalar(select(func.max(Board.position))) or 0) + 1
    board = Board(
        name=clean_line(name), slug=slug, description=description.strip(), kind=kind, position=position
    )
    db.session.add(board)
    db.session.flush()
    return board


def update_board(
    board: Board, *, name: str, slug: str, description: str, kind: str, actor: User | None = None
) -> None:
    if actor is not None and not permissions.can_manage_boards(actor):
        raise Forbidden("Only administrators can change boards.")
    _check_board_fields(name, slug, description, kind)
    if slug != board.slug and db.session.scalar(select(Board.id).where(Board.slug == slug)) is not None:
        raise Conflict(f"A board at /b/{slug} exists already.", "slug")
    board.name, board.slug, board.description, board.kind = clean_line(name), slug, description.strip(), kind


def move_board(board: Board, offset: int, *, actor: User | None = None) -> None:
    """Swap a board with its neighbour above (-1) or below (+1) in the display order."""
    if actor is not None and not permissions.can_manage_boards(actor):
        raise Forbidden("Only administrators can reorder boards.")
    boards = list(db.session.scalars(select(Board).order_by(Board.position, Board.id)))
    index = boards.index(board)
    other = index + offset
    if not 0 <= other < len(boards):
        return
    boards[index], boards[other] = boards[other], boards[index]
    for position, item in enumerate(boards, start=1):
        item.position = position


# -- threads and posts -------------------------------------------------------------------------


def check_title(title: str) -> str:
    """The title without control or bidirectional formatting characters (forum.text), or Invalid."""
    if "\x00" in title:
        raise Invalid("The title contains a NUL character, which cannot be saved.", "title")
    title = clean_line(title)
    if len(title) < MIN_TITLE_LENGTH:
        raise Invalid(f"A title needs at least {MIN_TITLE_LENGTH} characters.", "title")
    if len(title) > MAX_TITLE_LENGTH:
        raise Invalid(f"Use at most {MAX_TITLE_LENGTH} characters (this has {len(title)}).", "title")
    return title


def check_body(body: str) -> str:
    if not body.strip():
        raise Invalid("Write something first.", "body")
    return body


def preview(body: str) -> str:
    """The HTML a body would be stored as; raises Invalid like saving would."""
    return render_markdown(check_body(body))


def start_thread(
    board: Board, title: str, body: str, *, actor: User, badge: EmployeeBadge | None = None,
    submission_key: str | None = None,
) -> Thread:  # fmt: skip
    """Open a thread with its first post; the caller commits. `badge`: the actor's own, shown on
    the post; `submission_key`: the form's one-time key (PostedAlready if it made a post)."""
    if not permissions.can_start_thread(actor, board):
        if board.archived_at is not None:
            raise Forbidden("This board is archived: it takes no new threads.")
        raise Forbidden("You cannot start threads in this board.")
    title = check_title(title)
    html = render_markdown(check_body(body))
    now = utcnow()
    thread = Thread(
        board=board, author=actor, title=title, slug=slugify(title), created_at=now,
        last_post_at=now, last_poster_id=actor.id, post_count=1, reply_count=0,
    )  # fmt: skip
    db.session.add(thread)
    post = Post(thread=thread, author=actor, position=1, body_source=body, body_html=html, created_at=now)
    post.badge = _checked_badge(actor, badge)
    db.session.add(post)
    db.session.flush()
    thread.last_post_id = post.id
    add_to(board, thread_count=1, post_count=1)
    _bring_thread_to_top(board, thread)
    add_to(actor, thread_count=1, post_count=1)
    _remember_submission(actor, post, submission_key)
    events.post_created.send(actor, post=post, thread=thread, is_new_thread=True)
    return thread


def reply(
    thread: Thread, body: str, *, actor: User, badge: EmployeeBadge | None = None,
    submission_key: str | None = None,
) -> Post:  # fmt: skip
    """Add a reply at the end of the thread; the caller commits. `badge`: the actor's own, shown
    on the post; `submission_key`: the form's one-time key (PostedAlready if it made a post)."""
    if not permissions.can_reply(actor, thread):
        if thread.is_locked:
            reason = f" Reason: {thread.lock_reason}" if thread.lock_reason else ""
            raise Conflict(f"This thread is locked: it takes no new replies.{reason}")
        if thread.board.archived_at is not None:
            raise Forbidden("This board is archived: it takes no new replies.")
        raise Forbidden("You cannot reply to this thread.")
    html = render_markdown(check_body(body))
    badge = _checked_badge(actor, badge)
    # One UPDATE takes the next position and counts the reply; it holds the thread's row lock
    # until commit, so concurrent replies to one thread queue here (issue #13).
    add_to(thread, post_count=1, reply_count=1)
    db.session.refresh(thread, ["post_count"])
    now = utcnow()
    post = Post(
        thread=thread, author=actor, position=thread.post_count, body_source=body,
        body_html=html, created_at=now, badge=badge,
    )  # fmt: skip
    db.session.add(post)
    db.session.flush()
    if badge is not None:
        thread.has_employee_reply = True
    thread.last_post_at = now
    thread.last_post_id = post.id
    thread.last_poster_id = actor.id
    board = thread.board
    if thread.hidden_at is None:  # a hidden thread's posts are not in its board's counts
        add_to(board, post_count=1)
        _bring_thread_to_top(board, thread)
    add_to(actor, post_count=1)
    _remember_submission(actor, post, submission_key)
    events.post_created.send(actor, post=post, thread=thread, is_new_thread=False)
    return post


# -- a retried POST posts once (issue #13) --------------------------------------------------------

SUBMISSION_KEY = re.compile(r"[0-9a-f]{32}")


class PostedAlready(Conflict):
    """This form's key made a post already: a browser or proxy sent the form again after a lost
    response. The caller rolls back and shows the post that exists (`posted_with`)."""

    def __init__(self) -> None:
        super().__init__("This was posted already: the form was sent twice.")


def posted_with(actor: User, submission_key: str | None) -> Post | None:
    """The post the actor's form with this key made, if it made one."""
    if not actor.is_authenticated or not submission_key or not SUBMISSION_KEY.fullmatch(submission_key):
        return None
    return db.session.scalar(
        select(Post)
        .join(PostSubmission, PostSubmission.post_id == Post.id)
        .where(PostSubmission.user_id == actor.id, PostSubmission.key == submission_key)
    )


def _remember_submission(actor: User, post: Post, submission_key: str | None) -> None:
    """Record the key with the post, in its transaction: of two simultaneous sends of one form,
    the second waits on the key's row and fails here (a key that is not ours is ignored)."""
    if not submission_key or not SUBMISSION_KEY.fullmatch(submission_key):
        return
    db.session.add(PostSubmission(user_id=actor.id, key=submission_key, post_id=post.id))
    try:
        db.session.flush()
    except IntegrityError as error:
        raise PostedAlready() from error


def _checked_badge(actor: User, badge: EmployeeBadge | None) -> EmployeeBadge | None:
    """Employees choose per post whether to show their badge; nobody posts with another's."""
    if badge is not None and not can_wear_badge(actor, badge):
        raise Forbidden("You can post only with your own, active employee badge.", "with_badge")
    return badge


def edit_post(post: Post, body: str, *, actor: User, title: str | None = None) -> None:
    """Replace a post's text (and the thread title, for an opening post)."""
    if not permissions.can_edit_post(actor, post):
        raise Forbidden("You cannot edit this post.")
    html = render_markdown(check_body(body))
    if title is not None and post.is_opening:
        title = check_title(title)
        post.thread.title = title
        post.thread.slug = slugify(title)
    previous_source = post.body_source
    post.body_source = body
    post.body_html = html
    post.edited_at = utcnow()
    post.edited_by_id = actor.id
    db.session.flush()
    events.post_edited.send(actor, post=post, previous_source=previous_source)


def delete_post(post: Post, *, actor: User) -> None:
    """Soft-delete: the row stays (so positions and links hold), its text is no longer shown."""
    # Decide on the latest state: a moderator may have hidden it since it was read, and a
    # hidden post has left the counters already (issue #13: it was taken out twice).
    lock_row(post, "position")
    if not permissions.can_delete_post(actor, post):
        raise Forbidden("You cannot delete this post.")
    was_visible = post.is_visible
    post.deleted_at = utcnow()
    post.deleted_by_id = actor.id
    if was_visible:
        post_left_view(post)
    events.post_deleted.send(actor, post=post)


def post_left_view(post: Post) -> None:
    """Counters after a visible post stops being visible (deleted or hidden); SQL decrements."""
    thread = post.thread
    board = thread.board
    if not post.is_opening:
        add_to(thread, reply_count=-1)
    if thread.deleted_at is None and thread.hidden_at is None:
        add_to(board, post_count=-1)
    add_to(post.author, post_count=-1)
    if thread.last_post_id == post.id:
        refresh_thread_last_post(thread)
        refresh_board_last_thread(board)


def post_came_back(post: Post) -> None:
    """Counters after a hidden post is shown again (the reverse of `post_left_view`)."""
    thread = post.thread
    if not post.is_opening:
        add_to(thread, reply_count=1)
    if thread.deleted_at is None and thread.hidden_at is None:
        add_to(thread.board, post_count=1)
    add_to(post.author, post_count=1)
    refresh_thread_last_post(thread)
    refresh_board_last_thread(thread.board)


def refresh_thread_last_post(thread: Thread) -> None:
    """Point the thread's "last post" at its latest visible post."""
    db.session.flush()
    last = db.session.scalar(
        select(Post)
        .where(Post.thread_id == thread.id, post_is_visible())
        .order_by(Post.position.desc())
        .limit(1)
    )
    if last is None:
        thread.last_post_id, thread.last_poster_id, thread.last_post_at = None, None, thread.created_at
    else:
        thread.last_post_id, thread.last_poster_id, thread.last_post_at = (
            last.id,
            last.author_id,
            last.created_at,
        )


def _bring_thread_to_top(board: Board, thread: Thread) -> None:
    """After `thread` got a post: it becomes the board's latest thread unless a later one is.

    The caller holds the board's row lock (`add_to`), so the board's latest thread read here
    is the one every committed transaction agreed on; comparing with that one row keeps a
    post from sorting all of a big board's threads.
    """
    db.session.flush()
    db.session.refresh(board, ["last_thread_id"])
    current_id = board.last_thread_id
    if current_id == thread.id:
        return
    current = None
    if current_id is not None:
        current = db.session.execute(
            select(Thread.last_post_at).where(Thread.id == current_id, thread_is_visible())
        ).first()
    if current is None or thread.deleted_at is not None or thread.hidden_at is not None:
        refresh_board_last_thread(board)
    elif (current.last_post_at, current_id) < (thread.last_post_at, thread.id):
        board.last_thread_id = thread.id


def refresh_board_last_thread(board: Board) -> None:
    db.session.flush()
    board.last_thread_id = db.session.scalar(
        select(Thread.id)
        .where(Thread.board_id == board.id, thread_is_visible())
        .order_by(Thread.last_post_at.desc(), Thread.id.desc())
        .limit(1)
    )


# -- reading -----------------------------------------------------------------------------------


# Deferred columns other features attach to Thread (forum.wiki: has_wiki_pages) that the
# thread page reads: loaded in get_thread's query instead of one query each.
LOAD_WITH_THREAD = ("has_wiki_pages", "known_status", "has_problem_values", "board_has_problem_fields")
# The same for a member's own relation to the thread (forum.notifications: the watch level
# they chose) and to each post (forum.qa: whether they found it helpful): these take the
# member's id as the "viewer_id" parameter, so they are loaded for members only.
LOAD_WITH_THREAD_FOR_MEMBER = (
    "viewer_watch_level", "viewer_last_read", "viewer_seen", "viewer_draft", "viewer_unread_notifications",
    "viewer_is_affected",
)  # fmt: skip
LOAD_WITH_POSTS_FOR_MEMBER = ("viewer_found_helpful", "viewer_bookmarked")
# A member's reading state with each thread of a list (forum.follow: unread counts).
LOAD_WITH_LISTED_THREAD_FOR_MEMBER = ("viewer_last_read", "viewer_board_marked_at")
# Deferred columns loaded with every page of posts (forum.lifeboat: an imported post's origin).
LOAD_WITH_POSTS = ("lifeboat_origin",)


def _viewer_params(viewer: object) -> dict[str, int]:
    """{"viewer_id": ...} for a logged-in member, else nothing."""
    return {"viewer_id": viewer.id} if getattr(viewer, "is_authenticated", False) else {}  # type: ignore[attr-defined]


def _undefer(model: type, names: tuple[str, ...]) -> list[object]:
    return [undefer(getattr(model, name)) for name in names if hasattr(model, name)]


# The thread page's statements are built once per process, with parameters for the values:
# building a select and its cache key took longer than SQLite takes to run it (0.15 ms of the
# 0.35 ms get_thread took, timed in a request).


@cache
def _thread_statement(for_member: bool) -> Select[tuple[Thread]]:
    names = LOAD_WITH_THREAD + (LOAD_WITH_THREAD_FOR_MEMBER if for_member else ())
    return (
        select(Thread)
        .options(joinedload(Thread.board), joinedload(Thread.author), *_undefer(Thread, names))
        .where(Thread.id == bindparam("thread_id"))
    )


@cache
def _thread_posts_statement(for_member: bool) -> Select[tuple[Post]]:
    """A page of posts by position, and the accepted answer when "solution_id" names one (shown
    under the question on the first page, issue #15): one statement either way."""
    names = LOAD_WITH_POSTS + (LOAD_WITH_POSTS_FOR_MEMBER if for_member else ())
    return (
        select(Post)
        .options(joinedload(Post.author), *_undefer(Post, names))
        .where(
            # Each side of the OR on its own index (SQLite's MULTI-INDEX OR, a BitmapOr on
            # PostgreSQL): with thread_id outside the OR, SQLite read every post of the thread.
            or_(
                and_(
                    Post.thread_id == bindparam("thread_id"),
                    Post.position >= bindparam("first"),
                    Post.position < bindparam("after"),
                ),
                Post.id == bindparam("solution_id"),
            ),
        )
        .order_by(Post.position)
    )


def list_statement_options(viewer: object) -> list[object]:
    """Options for a list of threads: authors, last posters, and a member's reading state
    (needs the "viewer_id" parameter when `viewer` is a member)."""
    names = LOAD_WITH_LISTED_THREAD_FOR_MEMBER if _viewer_params(viewer) else ()
    return [joinedload(Thread.author), joinedload(Thread.last_poster), *_undefer(Thread, names)]


def get_thread(thread_id: int, *, viewer: object) -> Thread:
    """The thread, if `viewer` may see it; for a member, with their LOAD_WITH_THREAD_FOR_MEMBER."""
    params = _viewer_params(viewer)
    thread = db.session.scalar(_thread_statement(bool(params)), {"thread_id": thread_id, **params})
    if thread is None or not permissions.can_see_thread(viewer, thread):
        raise NotFound("There is no such thread; it may have been removed.")
    return thread


def get_post(post_id: int, *, viewer: object) -> Post:
    post = db.session.scalar(
        select(Post).options(joinedload(Post.thread).joinedload(Thread.board)).where(Post.id == post_id)
    )
    if post is None or not permissions.can_see_thread(viewer, post.thread):
        raise NotFound("There is no such post; it may have been removed.")
    return post


@cache
def _board_threads_statement(for_member: bool) -> Select[tuple[Thread]]:
    names = LOAD_WITH_LISTED_THREAD_FOR_MEMBER if for_member else ()
    return (
        select(Thread)
        .options(joinedload(Thread.author), joinedload(Thread.last_poster), *_undefer(Thread, names))
        .where(Thread.board_id == bindparam("board_id"), thread_is_visible())
        .order_by(Thread.is_pinned.desc(), Thread.last_post_at.desc(), Thread.id.desc())
        .offset(bindparam("offset"))
        .limit(bindparam("limit"))
    )


def board_threads(board: Board, page: int, per_page: int, *, viewer: object = None) -> list[Thread]:
    """One page of a board: pinned first, then by latest activity (with a member's reading state)."""
    params = _viewer_params(viewer)
    values = {"board_id": board.id, "offset": (page - 1) * per_page, "limit": per_page, **params}
    return list(db.session.scalars(_board_threads_statement(bool(params)), values))


def thread_posts(thread: Thread, page: int, per_page: int, *, viewer: object = None,
                 with_solution: bool = False) -> list[Post]:  # fmt: skip
    """One page of a thread by position, with authors (and, for a member `viewer`, their
    LOAD_WITH_POSTS_FOR_MEMBER), in one query. `with_solution`: the accepted answer comes too
    (remembered on the thread as `loaded_solution`), wherever it stands."""
    first = (page - 1) * per_page + 1
    params = _viewer_params(viewer)
    statement = _thread_posts_statement(bool(params))
    solution_id = thread.solution_post_id if with_solution else None
    rows = list(
        db.session.scalars(
            statement,
            {
                "thread_id": thread.id,
                "first": first,
                "after": first + per_page,
                "solution_id": solution_id,
                **params,
            },
        )
    )
    for post in rows:  # every per-post predicate reads post.thread: skip the lazy loader
        set_committed_value(post, "thread", thread)
    posts = [post for post in rows if first <= post.position < first + per_page]
    thread.loaded_solution = next((post for post in rows if post.id == solution_id), None)  # type: ignore[attr-defined]
    return posts


def count_posts() -> int:
    return db.session.scalar(select(func.count()).select_from(Post)) or 0


def rerender_posts(batch_size: int = 500) -> Iterator[int]:
    """Render every stored body again (after the Markdown rules change), a batch at a time.

    Yields how many posts each committed batch held, for a progress bar. A body that the
    current rules refuse is kept, shown as escaped plain text.
    """
    last_id = 0
    while True:
        posts = db.session.scalars(
            select(Post).where(Post.id > last_id).order_by(Post.id).limit(batch_size)
        ).all()
        if not posts:
            return
        for post in posts:
            try:
                post.body_html = render_markdown(post.body_source)
            except Invalid:
                post.body_html = str(Markup("<p>{}</p>").format(post.body_source))
        last_id = posts[-1].id
        db.session.commit()
        yield len(posts)
