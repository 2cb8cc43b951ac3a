"""Verification by a work address: a one-time link mailed to it grants a badge.

The work address is never stored: only its domain and a keyed hash of the normalized
address, so one address cannot badge several accounts (README, "Employee badges"); the
outbox row that carried the link forgets it once sent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from markupsafe import Markup
from sqlalchemy import func, select, update

from forum.auth.models import User
from forum.badges import permissions
from forum.badges.granting import company_name, validity
from forum.badges.models import BadgeVerification, EmployeeBadge
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid, ServiceError, TooManyRequests
from forum.extensions import db
from forum.mail.models import OutgoingMail
from forum.mail.services import MAX_ATTEMPTS, queue_mail

LINK_LIFETIME = timedelta(hours=24)
MAX_LINKS_PER_HOUR = 3
FORGOTTEN_RECIPIENT = "address-removed@invalid"


class LinkError(ServiceError):
    """The one-time link cannot be used (unknown, used, expired): 400, like a bad reset token."""

    status = 400


# -- work addresses ------------------------------------------------------------------------------


def employee_domains() -> list[str]:
    """FORUM_EMPLOYEE_EMAIL_DOMAINS: a comma-separated string (or a list in instance/config.py)."""
    raw = current_app.config.get("EMPLOYEE_EMAIL_DOMAINS") or ""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    return [str(item).strip().lstrip("@").strip(".").lower() for item in items if str(item).strip()]


def allow_subdomains() -> bool:
    value = current_app.config.get("EMPLOYEE_ALLOW_SUBDOMAINS", False)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _hash_key() -> bytes:
    """FORUM_BADGE_HASH_KEY if set (survives a SECRET_KEY rotation), else derived from SECRET_KEY."""
    key = current_app.config.get("BADGE_HASH_KEY")
    if key:
        return str(key).encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"roundabout employee-badge address hash", hashlib.sha256).digest()


def normalize_work_address(address: str, field: str = "work_email") -> tuple[str, str]:
    """(normalized address, domain): lowercased, IDNA domain, "+tag" dropped from the local part.

    Dropping the tag matters: jo+1@ and jo+2@ reach the same mailbox and must hash alike.
    """
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise Invalid(f"This is not a valid email address: {error}", field) from error
    local = result.local_part.lower().split("+", 1)[0]
    domain = result.ascii_domain.lower()
    if not local:
        raise Invalid("This is not a valid email address.", field)
    return f"{local}@{domain}", domain


def is_employee_domain(domain: str) -> bool:
    for allowed in employee_domains():
        if domain == allowed or (allow_subdomains() and domain.endswith("." + allowed)):
            return True
    return False


def hash_address(normalized: str) -> str:
    return hmac.new(_hash_key(), normalized.encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- the one-time link --------------------------------------------------------------------------


def request_verification(user: User, address: str) -> tuple[BadgeVerification, str]:
    """Check the address and mail it a one-time link; return the row and the link. The caller commits.

    Nothing says whether the address already badges an account: that is only told to
    whoever opens the link, i.e. someone who can read that mailbox.
    """
    if not employee_domains():
        raise Invalid("Employee verification is not set up on this forum.", "work_email")
    normalized, domain = normalize_work_address(address)
    if not is_employee_domain(domain):
        allowed = ", ".join(f"@{d}" for d in employee_domains())
        raise Invalid(f"Use your work address at {company_name()} ({allowed}).", "work_email")
    now = utcnow()
    recent = db.session.scalar(
        select(func.count())
        .select_from(BadgeVerification)
        .where(BadgeVerification.user_id == user.id, BadgeVerification.created_at > now - timedelta(hours=1))
    )
    if (recent or 0) >= MAX_LINKS_PER_HOUR:
        raise TooManyRequests(
            f"We sent {MAX_LINKS_PER_HOUR} links in the last hour; please use one of them or wait.",
            "work_email",
        )
    token = secrets.token_urlsafe(32)
    verification = BadgeVerification(
        user_id=user.id, token_hash=_token_hash(token), domain=domain,
        address_hash=hash_address(normalized), created_at=now, expires_at=now + LINK_LIFETIME,
    )  # fmt: skip
    db.session.add(verification)
    link = f"{str(current_app.config['BASE_URL']).rstrip('/')}/settings/employee/verify/{token}"
    site = current_app.config["SITE_NAME"]
    text = (
        f"Someone asked {site} to confirm that this work address belongs to a member, to show\n"
        f'the "Employee · {company_name()}" badge on their posts.\n\n'
        f"If it was you, open this link within 24 hours while logged in to the forum:\n\n{link}\n\n"
        "The link works once. The forum does not keep this address: only its domain and a\n"
        "fingerprint, so it cannot badge a second account.\n\n"
        "If it was not you, ignore this message; nothing changes.\n"
    )
    html = Markup(
        "<p>Someone asked {site} to confirm that this work address belongs to a member, to show the "
        "<strong>Employee · {company}</strong> badge on their posts.</p>"
        '<p>If it was you, open this link within 24 hours while logged in to the forum:</p><p><a href="{link}">{link}</a></p>'
        "<p>The link works once. The forum does not keep this address: only its domain and a fingerprint, "
        "so it cannot badge a second account.</p><p>If it was not you, ignore this message; nothing changes.</p>"
    ).format(site=site, company=company_name(), link=link)
    mail = queue_mail(normalized, f"Confirm your work address for {site}", text, str(html))
    verification.mail_id = mail.id
    db.session.flush()
    return verification, link


def check_link(token: str, *, actor: User) -> BadgeVerification:
    """The pending verification behind `token`, if `actor` may use it now; else why not."""
    verification = db.session.scalar(
        select(BadgeVerification).where(BadgeVerification.token_hash == _token_hash(token))
    )
    if verification is None:
        raise LinkError("This link is not valid. Copy the whole link from the message, or ask for a new one.")
    if verification.used_at is not None:
        raise LinkError("This link was used already: each link works once. Ask for a new one if you need to.")
    if verification.expires_at <= utcnow():
        raise LinkError("This link has expired (links last 24 hours). Ask for a new one in your settings.")
    if verification.user_id != actor.id:
        raise Forbidden(
            "This link was asked for by another account. Log in as that account to use it, "
            "or ask for a link from your own settings."
        )
    return verification


def confirm_verification(token: str, *, actor: User) -> EmployeeBadge:
    """Use the one-time link: grant a fresh badge to `actor`. The caller commits."""
    permissions.forget_cached_badges()
    verification = check_link(token, actor=actor)
    taken = db.session.scalar(
        select(EmployeeBadge.id).where(
            EmployeeBadge.address_hash == verification.address_hash,
            EmployeeBadge.user_id != actor.id,
            EmployeeBadge.revoked_at.is_(None),
        )
    )
    if taken is not None:
        raise Conflict(
            "This work address already verified another account. One address badges one account; "
            "ask a moderator if that account is no longer yours."
        )
    now = utcnow()
    # Claim the link atomically: of two simultaneous clicks, only one grants a badge.
    claimed = db.session.execute(
        update(BadgeVerification)
        .where(BadgeVerification.id == verification.id, BadgeVerification.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise LinkError("This link was used already: each link works once. Ask for a new one if you need to.")
    verification.used_at = now
    forget_address(verification)
    badge = EmployeeBadge(
        user_id=actor.id, company=company_name(), method="email", domain=verification.domain,
        address_hash=verification.address_hash, verified_at=now, expires_at=now + validity(),
    )  # fmt: skip
    db.session.add(badge)
    db.session.flush()
    permissions.forget_cached_badges()
    return badge


def forget_address(verification: BadgeVerification) -> None:
    """Blank the work address in the outbox row that carried the link, once it has been sent."""
    if verification.mail_id is None:
        return
    result = db.session.execute(
        update(OutgoingMail)
        .where(
            OutgoingMail.id == verification.mail_id,
            (OutgoingMail.sent_at.is_not(None)) | (OutgoingMail.attempts >= MAX_ATTEMPTS),
        )
        .values(recipient=FORGOTTEN_RECIPIENT)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        verification.mail_id = None


def forget_old_addresses(now: datetime | None = None) -> int:
    """Blank the addresses of links that were used or have expired; return how many."""
    now = now or utcnow()
    done = 0
    for verification in db.session.scalars(
        select(BadgeVerification).where(
            BadgeVerification.mail_id.is_not(None),
            (BadgeVerification.used_at.is_not(None)) | (BadgeVerification.expires_at <= now),
        )
    ):
        forget_address(verification)
        done += verification.mail_id is None
    return done
