"""Account mail: confirming the email address, and resetting a forgotten password.

Confirmation links are signed (itsdangerous) and expire; reset links carry a random token
from `secrets` of which only the SHA-256 is stored, usable once, for one hour. Both links
are built from BASE_URL, never from the Host header of the request that asked for them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from forum.auth import services as accounts
from forum.auth.models import User
from forum.db import utcnow
from forum.errors import Invalid
from forum.extensions import db
from forum.notifications.mailer import absolute_url, queue_member_mail
from forum.notifications.models import PasswordResetToken

CONFIRM_SALT = "confirm-email"
RESET_LIFETIME = timedelta(hours=1)
MAX_RESETS_PER_HOUR = 3  # per account, so nobody can flood someone's inbox with reset mail
INVALID_CONFIRMATION = "This confirmation link is invalid or has expired; ask for a new one from any page."
INVALID_RESET = "This reset link is invalid, was used already, or has expired; ask for a new one."


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONFIRM_SALT)


def confirmation_token(user: User) -> str:
    """Signed (user id, address): confirming an address the account no longer has fails."""
    return str(_serializer().dumps({"u": user.id, "e": user.email}))


def queue_confirmation_mail(user: User) -> None:
    if user.email_confirmed_at is not None:
        return
    days = int(current_app.config["CONFIRM_EMAIL_MAX_AGE"]) // 86400
    queue_member_mail(
        user, "confirm_email", f"Confirm your email address for {current_app.config['SITE_NAME']}",
        confirm_url=absolute_url(f"/confirm-email/{confirmation_token(user)}"), days=max(days, 1),
    )  # fmt: skip


def queue_registration_attempt_mail(owner: User, new_account: User) -> None:
    """Tell an address's owner that someone registered with it (registration says nothing)."""
    queue_member_mail(
        owner, "registration_attempt", f"Someone registered at {current_app.config['SITE_NAME']} with your address",
        new_username=new_account.username, login_url=absolute_url("/login"),
        reset_url=absolute_url("/reset-password"),
    )  # fmt: skip


def user_for_confirmation(token: str) -> User:
    """The account a confirmation link is for; Invalid when forged, expired or out of date."""
    try:
        data = _serializer().loads(token, max_age=int(current_app.config["CONFIRM_EMAIL_MAX_AGE"]))
    except (BadSignature, SignatureExpired) as error:
        raise Invalid(INVALID_CONFIRMATION) from error
    user = db.session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.deleted_at is not None or user.email != data.get("e"):
        raise Invalid(INVALID_CONFIRMATION)
    return user


def confirm_email(token: str) -> User:
    user = user_for_confirmation(token)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_password_reset(address: str) -> None:
    """Mail a reset link if the address belongs to an account; say nothing either way."""
    address = address.strip().lower()
    user = db.session.scalar(select(User).where(User.email == address)) if address else None
    if user is None or user.deleted_at is not None:
        return
    now = utcnow()
    recent = db.session.scalar(
        select(func.count())
        .select_from(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.created_at > now - RESET_LIFETIME)
    )
    if (recent or 0) >= MAX_RESETS_PER_HOUR:
        return  # the same answer as always; the links already sent still work
    token = secrets.token_urlsafe(32)  # 256 bits
    db.session.add(
        PasswordResetToken(
            user_id=user.id, token_hash=_hash(token), created_at=now, expires_at=now + RESET_LIFETIME
        )
    )
    db.session.flush()
    queue_member_mail(
        user, "reset_password", f"Reset your password on {current_app.config['SITE_NAME']}",
        reset_url=absolute_url(f"/reset-password/{token}"), minutes=int(RESET_LIFETIME.total_seconds() // 60),
    )  # fmt: skip


def reset_token_row(token: str) -> PasswordResetToken:
    """The live token row for a link; Invalid when unknown, used or expired."""
    if not token or len(token) > 100:
        raise Invalid(INVALID_RESET)
    row = db.session.scalar(select(PasswordResetToken).where(PasswordResetToken.token_hash == _hash(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise Invalid(INVALID_RESET)
    return row


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link: ends every session, spends every open link."""
    row = reset_token_row(token)
    user = db.session.get(User, row.user_id)
    if user is None or user.deleted_at is not None:
        raise Invalid(INVALID_RESET)
    accounts.set_password(user, new_password)  # raises Invalid on the "password" field
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()  # the link reached the inbox: the address works
    return user
