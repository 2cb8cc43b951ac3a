"""Moderator actions on members: warn, silence, suspend, lift, roles, account deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, select

from forum import events
from forum.auth.models import ROLES, User
from forum.auth.services import end_all_sessions, is_silenced, is_suspended
from forum.boards.models import Board, Post, Thread
from forum.counters import add_to
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid
from forum.extensions import db
from forum.mail.services import queue_mail
from forum.moderation import audit
from forum.moderation.models import BoardModerator, UserNotice
from forum.moderation.scopes import forget_scopes
from forum.moderation.services import check_reason, recount_board, recount_thread

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
DURATIONS = {"1d": timedelta(days=1), "3d": timedelta(days=3), "7d": timedelta(days=7),
             "30d": timedelta(days=30), "forever": None}  # fmt: skip


def until_from_duration(duration: str) -> datetime:
    if duration not in DURATIONS:
        raise Invalid("Choose how long: 1, 3, 7 or 30 days, or indefinitely.", "duration")
    length = DURATIONS[duration]
    return FOREVER if length is None else utcnow() + length


def describe_until(until: datetime | None) -> str:
    if until is None or until.year >= 9999:
        return "indefinitely"
    return f"until {until:%Y-%m-%d %H:%M} UTC"


def sanction_notice(user: object) -> str | None:
    """What a silenced member sees where the reply box would be."""
    if not getattr(user, "is_authenticated", False) or not is_silenced(user):  # type: ignore[arg-type]
        return None
    reason = f" Reason: {user.sanction_reason}" if user.sanction_reason else ""  # type: ignore[attr-defined]
    return f"You cannot post {describe_until(user.silenced_until)}.{reason}"  # type: ignore[attr-defined]


def can_sanction(actor: object, user: User) -> bool:
    """Site-wide moderators sanction members; only admins sanction moderators; nobody an admin."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_moderator:  # type: ignore[attr-defined]
        return False
    if actor.id == user.id or user.is_admin or user.deleted_at is not None:  # type: ignore[attr-defined]
        return False
    return not user.is_moderator or actor.is_admin  # type: ignore[attr-defined]


def _require_sanction(actor: User, user: User) -> None:
    if not can_sanction(actor, user):
        raise Forbidden("You cannot take action against this account.")


def notify(user: User, kind: str, message: str, *, subject: str) -> UserNotice:
    """A private notice on the member's notices page, and the same by e-mail."""
    notice = UserNotice(user_id=user.id, kind=kind, message=message)
    db.session.add(notice)
    db.session.flush()
    events.notice_sent.send(None, user=user, notice=notice)  # the same in the notifications inbox
    if user.email:
        link = current_app.config["BASE_URL"].rstrip("/") + "/me/notices"
        html = Markup('<p>{}</p><p><a href="{}">Your notices</a></p>').format(message, link)
        queue_mail(user.email, subject, f"{message}\n\nYour notices: {link}\n", str(html))
    return notice


def warn_user(user: User, reason: str, *, actor: User) -> None:
    _require_sanction(actor, user)
    reason = check_reason(reason)
    notify(user, "warning", f"A moderator has warned you: {reason}", subject="A warning from the moderators")
    _record_user(actor, "warned user", user, reason)


def silence_user(user: User, until: datetime, reason: str, *, actor: User) -> None:
    """The member can read but not post until `until` (FOREVER: until lifted)."""
    _require_sanction(actor, user)
    reason = check_reason(reason)
    user.silenced_until, user.sanction_reason = until, reason
    notify(user, "silenced", f"You cannot post {describe_until(until)}. Reason: {reason}",
           subject="Your account is silenced")  # fmt: skip
    _record_user(actor, "silenced user", user, reason, details=describe_until(until))


def suspend_user(user: User, until: datetime, reason: str, *, actor: User) -> None:
    """The member cannot log in until `until`; every session of theirs ends now."""
    _require_sanction(actor, user)
    reason = check_reason(reason)
    user.suspended_until, user.sanction_reason = until, reason
    end_all_sessions(user)
    notify(user, "suspended", f"Your account is suspended {describe_until(until)}. Reason: {reason}",
           subject="Your account is suspended")  # fmt: skip
    _record_user(actor, "suspended user", user, reason, details=describe_until(until))


def lift_sanction(user: User, kind: str, reason: str = "", *, actor: User) -> None:
    _require_sanction(actor, user)
    reason = check_reason(reason, required=False)
    if kind == "silence":
        if not is_silenced(user):
            raise Conflict("This member is not silenced.")
        user.silenced_until = None
    elif kind == "suspension":
        if not is_suspended(user):
            raise Conflict("This member is not suspended.")
        user.suspended_until = None
    else:
        raise Invalid("Say what to lift: silence or suspension.", "kind")
    if not is_silenced(user) and not is_suspended(user):
        user.sanction_reason = None
    notify(user, "lifted", f"Your {kind} has been lifted.", subject=f"Your {kind} is lifted")
    _record_user(actor, f"lifted {kind}", user, reason)


def delete_account(user: User, reason: str, *, actor: User, remove_posts: bool = False) -> None:
    """At the member's request: personal data goes; posts stay under an anonymous name or go too."""
    if not getattr(actor, "is_admin", False):
        raise Forbidden("Only administrators can delete accounts.")
    if user.id == actor.id or user.is_admin:
        raise Forbidden("Administrators cannot be deleted here; change their role first.")
    if user.deleted_at is not None:
        raise Conflict("This account is deleted already.")
    reason = check_reason(reason)
    now = utcnow()
    touched: set[Board] = set()
    if remove_posts:
        posts = db.session.scalars(select(Post).where(Post.author_id == user.id, Post.deleted_at.is_(None)))
        for post in posts:
            post.deleted_at, post.deleted_by_id = now, actor.id
            touched.add(post.thread.board)
        threads = db.session.scalars(
            select(Thread).where(Thread.author_id == user.id, Thread.deleted_at.is_(None))
        )
        for thread in threads:
            thread.deleted_at = now
        db.session.flush()
        for thread in {
            post.thread for post in db.session.scalars(select(Post).where(Post.author_id == user.id))
        }:
            recount_thread(thread)
    label = user.username
    end_all_sessions(user)
    db.session.execute(delete(BoardModerator).where(BoardModerator.user_id == user.id))
    db.session.execute(delete(UserNotice).where(UserNotice.user_id == user.id))
    user.username = f"deleted_{user.id}"
    user.display_name = "Former member"
    user.email = None
    user.password_hash = None
    user.bio = ""
    user.role = "member"
    user.moderated_board_count = 0
    user.last_seen_at = None
    user.email_confirmed_at = None
    user.deleted_at = now
    if remove_posts:
        user.post_count = user.thread_count = 0
    for board in touched:
        recount_board(board)
    audit.record(actor, "deleted account", target_type="user", target_id=user.id, target_label=label,
                 reason=reason, details="posts removed" if remove_posts else "posts kept anonymously")  # fmt: skip
    forget_scopes(user)


def _record_user(actor: User, action: str, user: User, reason: str, details: str = "") -> None:
    audit.record(actor, action, target_type="user", target_id=user.id, target_label=user.username,
                 reason=reason, affected_user=user, details=details)  # fmt: skip


# -- roles -------------------------------------------------------------------------------------


def set_role(user: User, role: str, *, board: Board | None = None, actor: User | None) -> str:
    """Grant or remove a role (site-wide, or moderator of one board); `actor` None is the CLI.

    Returns what changed, in words, for the flash message and the command line.
    """
    if actor is not None and not actor.is_admin:
        raise Forbidden("Only administrators can change roles.")
    if role not in ROLES:
        raise Invalid(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", "role")
    if user.deleted_at is not None:
        raise Invalid("This account is deleted.", "username")
    if board is not None:
        if role == "admin":
            raise Invalid("Board scopes are for moderators; admins moderate everything.", "role")
        existing = db.session.scalar(
            select(BoardModerator).where(
                BoardModerator.user_id == user.id, BoardModerator.board_id == board.id
            )
        )
        if role == "moderator":
            if existing is not None:
                raise Conflict(f"{user.username} moderates /b/{board.slug} already.")
            db.session.add(
                BoardModerator(user_id=user.id, board_id=board.id, granted_by_id=actor.id if actor else None)
            )
            add_to(user, moderated_board_count=1)
            change = f"{user.username} now moderates /b/{board.slug}"
        else:
            if existing is None:
                raise Conflict(f"{user.username} does not moderate /b/{board.slug}.")
            db.session.delete(existing)
            add_to(user, moderated_board_count=-1)
            change = f"{user.username} no longer moderates /b/{board.slug}"
    else:
        if user.role == role:
            raise Conflict(f"{user.username} is {role} already.")
        if user.is_admin and _admin_count() <= 1:
            raise Conflict("This is the last administrator; make someone else admin first.")
        change = f"{user.username}: {user.role} → {role}"
        user.role = role
    forget_scopes(user)
    audit.record(actor, "changed role", target_type="user", target_id=user.id, target_label=user.username,
                 board_id=board.id if board else None, affected_user=user, details=change)  # fmt: skip
    return change


def _admin_count() -> int:
    return len(
        db.session.scalars(select(User.id).where(User.role == "admin", User.deleted_at.is_(None))).all()
    )


def staff() -> list[tuple[User, list[Board]]]:
    """Moderators and admins, and board moderators with their boards."""
    scoped: dict[int, list[Board]] = {}
    for row in db.session.scalars(select(BoardModerator).order_by(BoardModerator.id)):
        scoped.setdefault(row.user_id, []).append(row.board)
    users = db.session.scalars(
        select(User).where((User.role != "member") | User.id.in_(scoped.keys())).order_by(User.username)
    )
    return [(user, scoped.get(user.id, [])) for user in users]
