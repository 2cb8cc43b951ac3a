"""Accounts: registration, logins as server-side sessions, passwords and profiles."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from datetime import datetime, timedelta
from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import Select, bindparam, delete, func, select
from sqlalchemy.orm import undefer

from forum.auth.models import ROLES, LoginSession, User
from forum.auth.passwords import check_password_rules, hash_password, needs_rehash, verify_password
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from forum.extensions import db
from forum.text import clean_line

USERNAME_PATTERN = re.compile(r"^[a-z0-9_]{3,30}$")
RESERVED_USERNAMES = frozenset(
    {"admin", "administrator", "moderator", "system", "anonymous", "deleted", "root", "support",
     "staff", "official", "roundabout", "mod", "mods", "null", "none"}
)  # fmt: skip
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
# Deferred User attributes every page shows for the logged-in member (the notification bell),
# loaded in the session query itself so they cost no query of their own.
LOAD_WITH_SESSION_USER = ("unread_notification_count", "latest_badge_id")


def normalize_username(username: str) -> str:
    return username.strip().lower()


def normalize_email(email: str) -> str:
    return email.strip().lower()


def is_suspended(user: User, now: datetime | None = None) -> bool:
    return user.suspended_until is not None and user.suspended_until > (now or utcnow())


def is_silenced(user: User, now: datetime | None = None) -> bool:
    return user.silenced_until is not None and user.silenced_until > (now or utcnow())


def check_username(username: str, field: str = "username") -> str:
    name = normalize_username(username)
    if not USERNAME_PATTERN.match(name):
        raise Invalid("Use 3 to 30 characters: lowercase letters, digits and underscores.", field)
    if name in RESERVED_USERNAMES:
        raise Invalid("This name is reserved; choose another.", field)
    return name


def check_email(email: str, field: str = "email") -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise Invalid(f"This is not a valid email address: {error}", field) from error
    return normalize_email(result.normalized)


def find_user_by_login(login: str) -> User | None:
    """A user by username or email address (case-insensitive)."""
    value = login.strip().lower()
    if not value:
        return None
    column = User.email if "@" in value else User.username
    return db.session.scalar(select(User).where(column == value))


def get_user_by_username(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == normalize_username(username)))
    if user is None or user.deleted_at is not None:
        raise NotFound(f"There is no member called {username!r}.")
    return user


def registration_problems(username: str, email: str, password: str) -> list[ServiceError]:
    """Every rule a registration breaks, not only the first: the form shows them all at once."""
    problems: list[ServiceError] = []
    checked: dict[str, str] = {}
    for field, check, value in (
        ("username", check_username, username),
        ("email", check_email, email),
        ("password", check_password_rules, password),
    ):
        try:
            checked[field] = check(value or "")
        except ServiceError as error:
            problems.append(error)
    if "username" in checked and db.session.scalar(
        select(User.id).where(User.username == checked["username"])
    ):
        problems.append(Conflict("This username is taken.", "username"))
    # A taken address is not a problem to show: saying so would tell anyone who has an
    # account here (issue #21); sign_up keeps it aside and mails its owner instead.
    return problems


def register_user(username: str, email: str, password: str, *, role: str = "member") -> User:
    """Create an account; the caller commits. Every rule is checked here, not in the form."""
    check_username(username)
    address = check_email(email)
    if db.session.scalar(select(User.id).where(User.email == address)) is not None:
        raise Conflict("An account with this email address exists already; log in instead.", "email")
    return _create_account(username, address, password, role)


def _create_account(username: str, address: str | None, password: str, role: str = "member") -> User:
    name = check_username(username)
    check_password_rules(password)
    if role not in ROLES:
        raise Invalid(f"Unknown role {role!r}.", "role")
    if db.session.scalar(select(User.id).where(User.username == name)) is not None:
        raise Conflict("This username is taken.", "username")
    user = User(username=name, email=address, password_hash=hash_password(password), role=role)
    db.session.add(user)
    db.session.flush()
    return user


def sign_up(username: str, email: str, password: str) -> tuple[User, User | None]:
    """Registration from the web: the new account, and the owner of its address if it had one.

    Saying "this address has an account" would tell anyone who has an account here, so an
    address that is taken is kept aside (`unconfirmed_email`) instead of refused: the page
    answers exactly as for a new address, and the caller mails the address's owner.
    """
    check_username(username)
    address = check_email(email)
    owner = db.session.scalar(select(User).where(User.email == address))
    if owner is None:
        return register_user(username, address, password), None
    user = _create_account(username, None, password)
    user.unconfirmed_email = address
    return user, owner


def authenticate(login: str, password: str) -> User | None:
    """The user these credentials belong to, or None; costs one hash check either way."""
    user = find_user_by_login(login)
    if user is None or user.deleted_at is not None:
        verify_password(None, password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    return user


def check_can_log_in(user: User) -> None:
    if is_suspended(user):
        until = user.suspended_until
        when = "indefinitely" if until is None or until.year >= 9999 else f"until {until:%Y-%m-%d %H:%M} UTC"
        reason = f" Reason: {user.sanction_reason}" if user.sanction_reason else ""
        raise Forbidden(f"This account is suspended {when}.{reason}")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_login_session(user: User, *, remember: bool) -> str:
    """Record a new login and return its secret token (for the cookie only)."""
    check_can_log_in(user)
    config = current_app.config
    now = utcnow()
    lifetime = config["REMEMBER_COOKIE_DURATION"] if remember else config["SESSION_IDLE_TIMEOUT"]
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            token_hash=_token_hash(token),
            user=user,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            remember=remember,
        )
    )
    user.last_seen_at = now
    db.session.flush()
    user.login_token = token
    return token


@cache
def _session_user_statement() -> Select[tuple[LoginSession, User]]:
    """load_session_user's select, built once per process: every page runs it for a member, and
    building a select (and its cache key) took longer than SQLite takes to run it."""
    user_options = [undefer(getattr(User, name)) for name in LOAD_WITH_SESSION_USER if hasattr(User, name)]
    return (
        select(LoginSession, User)
        .options(*user_options)
        .join(User, LoginSession.user_id == User.id)
        .where(LoginSession.token_hash == bindparam("token_hash"), LoginSession.expires_at > bindparam("now"))
    )


def load_session_user(token: str) -> User | None:
    """The user of a live login session; idle sessions are extended when touched."""
    now = utcnow()
    row = db.session.execute(
        _session_user_statement(), {"token_hash": _token_hash(token), "now": now}
    ).first()
    if row is None:
        return None
    login, user = row
    if user.deleted_at is not None or is_suspended(user, now):
        return None
    if now - login.last_seen_at > SESSION_TOUCH_INTERVAL:
        login.last_seen_at = now
        user.last_seen_at = now
        if not login.remember:
            login.expires_at = now + current_app.config["SESSION_IDLE_TIMEOUT"]
        db.session.commit()
    user.login_token = token
    return user


def end_login_session(token: str | None) -> None:
    if token:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _token_hash(token)))


def end_all_sessions(user: User, *, except_token: str | None = None) -> int:
    """Log the user out everywhere (but the current browser, if given)."""
    statement = delete(LoginSession).where(LoginSession.user_id == user.id)
    if except_token:
        statement = statement.where(LoginSession.token_hash != _token_hash(except_token))
    return db.session.execute(statement).rowcount or 0


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Set a new password; needs the current one and ends the user's other sessions."""
    if not verify_password(user.password_hash, current_password):
        raise Invalid("This is not your current password.", "current_password")
    check_password_rules(new_password, "new_password")
    user.password_hash = hash_password(new_password)
    end_all_sessions(user, except_token=user.login_token)


def set_password(user: User, new_password: str) -> None:
    """Set a password without the current one (admin CLI, password reset)."""
    check_password_rules(new_password)
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)


# Words that would make a display name look like a role (issue #21: "Sam (moderator)").
STAFF_WORDS = frozenset(
    {"admin", "admins", "administrator", "administrators", "moderator", "moderators", "mod", "mods",
     "staff", "official", "employee", "sysop", "webmaster"}
)  # fmt: skip


def check_display_name(user: User, display_name: str) -> str:
    """The cleaned display name, or Invalid: no staff words (unless staff), nobody else's username."""
    if "\x00" in display_name:
        raise Invalid("The text contains a NUL character, which cannot be saved.", "display_name")
    display_name = clean_line(display_name)
    if len(display_name) > 60:
        raise Invalid("Use at most 60 characters.", "display_name")
    folded = unicodedata.normalize("NFKC", display_name).casefold()
    words = set(re.findall(r"[^\W_]+", folded))
    if words & STAFF_WORDS and not user.is_moderator:
        raise Invalid(
            "A display name cannot say “moderator”, “admin”, “staff” or similar: roles are shown by the forum.",
            "display_name",
        )
    squashed = re.sub(r"[\W_]+", "", folded)
    if squashed and squashed != user.username.replace("_", ""):
        taken = db.session.scalar(
            select(User.id)
            .where(func.replace(User.username, "_", "") == squashed, User.id != user.id)
            .limit(1)
        )
        if taken is not None:
            raise Invalid(
                "That is another member's username; choose a display name of your own.", "display_name"
            )
    return display_name


def update_profile(user: User, *, display_name: str, bio: str) -> None:
    display_name = check_display_name(user, display_name)
    if len(bio) > 2000:
        raise Invalid("Use at most 2,000 characters.", "bio")
    if "\x00" in display_name or "\x00" in bio:
        raise Invalid("The text contains a NUL character, which cannot be saved.", "bio")
    user.display_name = display_name
    user.bio = bio.strip()


def set_role(user: User, role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", "role")
    user.role = role


def count_users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0
