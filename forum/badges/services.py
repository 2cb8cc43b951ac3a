"""Employee badges: prove a work address by a one-time link, grant, revoke, expire.

Modelled on Lobsters hats (STYLE.md item 8): a badge row is granted by someone (the
verification or a moderator), chosen per post, revoked by timestamp and logged.
The work address is never stored: only its domain and a keyed hash of the normalized
address, so one address cannot badge several accounts (README, "Employee badges").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from markupsafe import Markup
from sqlalchemy import exists, func, select, update

from forum import events
from forum.auth.models import User
from forum.badges import permissions
from forum.badges.models import BadgeVerification, EmployeeBadge
from forum.badges.permissions import can_manage_badges
from forum.boards.models import Post, Thread
from forum.boards.visibility import post_is_visible
from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid, ServiceError, TooManyRequests
from forum.extensions import db
from forum.mail.models import OutgoingMail
from forum.mail.services import MAX_ATTEMPTS, queue_mail
from forum.moderation import audit

LINK_LIFETIME = timedelta(hours=24)
MAX_LINKS_PER_HOUR = 3
MAX_REASON_LENGTH = 500
DEFAULT_COMPANY = "the company"
FORGOTTEN_RECIPIENT = "address-removed@invalid"


class LinkError(ServiceError):
    """The one-time link cannot be used (unknown, used, expired): 400, like a bad reset token."""

    status = 400


# -- configuration -----------------------------------------------------------------------------


def company_name() -> str:
    return str(current_app.config.get("COMPANY_NAME") or DEFAULT_COMPANY)


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


def validity() -> timedelta:
    return timedelta(days=int(current_app.config.get("BADGE_VALIDITY_DAYS", 365)))


def notice_period() -> timedelta:
    return timedelta(days=int(current_app.config.get("BADGE_EXPIRY_NOTICE_DAYS", 30)))


def _hash_key() -> bytes:
    """FORUM_BADGE_HASH_KEY if set (survives a SECRET_KEY rotation), else derived from SECRET_KEY."""
    key = current_app.config.get("BADGE_HASH_KEY")
    if key:
        return str(key).encode()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"roundabout employee-badge address hash", hashlib.sha256).digest()


# -- work addresses ------------------------------------------------------------------------------


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


# -- verification by e-mail --------------------------------------------------------------------


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


# -- moderators ---------------------------------------------------------------------------------


def _check_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("Give a reason: it is kept in the moderation log.", "reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(f"Use at most {MAX_REASON_LENGTH} characters.", "reason")
    return reason


def grant_badge(user: User, *, actor: User, reason: str, company: str | None = None) -> EmployeeBadge:
    """A moderator grants the badge by hand (e.g. an employee without a company mailbox)."""
    permissions.forget_cached_badges()
    if not can_manage_badges(actor):
        raise Forbidden("Only moderators can grant employee badges.")
    if actor.id == user.id:
        raise Forbidden(
            "Nobody can grant a badge to themselves: ask another moderator, or verify your work address."
        )
    if user.deleted_at is not None:
        raise Invalid("This account is deleted.", "reason")
    reason = _check_reason(reason)
    now = utcnow()
    badge = EmployeeBadge(
        user_id=user.id, company=company or company_name(), method="moderator", granted_by_id=actor.id,
        grant_reason=reason, verified_at=now, expires_at=now + validity(),
    )  # fmt: skip
    db.session.add(badge)
    db.session.flush()
    audit.record(
        actor, "granted employee badge", target_type="user", target_id=user.id,
        target_label=user.username, reason=reason, affected_user=user,
        details=f"badge {badge.id}, expires {badge.expires_at:%Y-%m-%d}",
    )  # fmt: skip
    permissions.forget_cached_badges()
    return badge


def revoke_badge(user: User, *, actor: User, reason: str) -> int:
    """End the user's active badges now; a moderator gives a reason, a member may drop their own.

    Posts written with the badge keep it: they were written by a verified employee.
    """
    permissions.forget_cached_badges()
    own = actor.id == user.id
    if not own and not can_manage_badges(actor):
        raise Forbidden("Only moderators can revoke employee badges.")
    reason = (" ".join((reason or "").split()) or "Removed by the member.") if own else _check_reason(reason)
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid(f"Use at most {MAX_REASON_LENGTH} characters.", "reason")
    now = utcnow()
    badges = db.session.scalars(
        select(EmployeeBadge).where(
            EmployeeBadge.user_id == user.id,
            EmployeeBadge.revoked_at.is_(None),
            EmployeeBadge.expires_at > now,
        )
    ).all()
    if not badges:
        raise Conflict(f"{user.username} has no active employee badge.", "reason")
    for badge in badges:
        badge.revoked_at, badge.revoked_by_id, badge.revoke_reason = now, actor.id, reason
    db.session.flush()
    if not own:
        audit.record(
            actor, "revoked employee badge", target_type="user", target_id=user.id,
            target_label=user.username, reason=reason, affected_user=user,
            details=", ".join(f"badge {badge.id}" for badge in badges),
        )  # fmt: skip
    permissions.forget_cached_badges()
    return len(badges)


def badge_history(user: User) -> list[EmployeeBadge]:
    return list(
        db.session.scalars(
            select(EmployeeBadge).where(EmployeeBadge.user_id == user.id).order_by(EmployeeBadge.id.desc())
        )
    )


# -- expiry --------------------------------------------------------------------------------------


def expires_soon(badge: EmployeeBadge | None, now: datetime | None = None) -> bool:
    return (
        badge is not None and badge.is_active(now) and badge.expires_at <= (now or utcnow()) + notice_period()
    )


def last_badge(user: User) -> EmployeeBadge | None:
    """The member's longest-lasting badge that was not revoked (active or expired)."""
    return db.session.scalar(
        select(EmployeeBadge)
        .where(EmployeeBadge.user_id == user.id, EmployeeBadge.revoked_at.is_(None))
        .order_by(EmployeeBadge.expires_at.desc())
        .limit(1)
    )


def notify_expiring(now: datetime | None = None) -> int:
    """Tell each member whose badge ends within the notice period (once per badge); return how many.

    Sends `events.badge_expiring` (the notifications feature listens) and queues an e-mail
    to the account's address (never a work address: that is not stored). The caller commits.
    """
    now = now or utcnow()
    due = db.session.scalars(
        select(EmployeeBadge)
        .where(
            EmployeeBadge.revoked_at.is_(None),
            EmployeeBadge.expiry_notice_sent_at.is_(None),
            EmployeeBadge.expires_at > now,
            EmployeeBadge.expires_at <= now + notice_period(),
        )
        .order_by(EmployeeBadge.id)
    ).all()
    site = current_app.config["SITE_NAME"]
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    count = 0
    for badge in due:
        badge.expiry_notice_sent_at = now
        renewed = db.session.scalar(
            select(
                exists().where(
                    EmployeeBadge.user_id == badge.user_id,
                    EmployeeBadge.revoked_at.is_(None),
                    EmployeeBadge.expires_at > now + notice_period(),
                )
            )
        )
        if renewed or badge.user.deleted_at is not None:
            continue
        events.badge_expiring.send(None, user=badge.user, badge=badge, expires_at=badge.expires_at)
        if badge.user.email:
            day = f"{badge.expires_at:%d %B %Y}"
            link = f"{base}/settings/employee"
            queue_mail(
                badge.user.email,
                f"Your employee badge on {site} expires on {day}",
                f'Hello {badge.user.name},\n\nyour "{badge.label}" badge expires on {day}.\n'
                f"To keep it, verify your work address again: {link}\n\n"
                "Your posts keep the badge they were written with either way.\n",
                str(
                    Markup(
                        "<p>Hello {name},</p><p>your <strong>{label}</strong> badge expires on {day}. "
                        'To keep it, verify your work address again: <a href="{link}">{link}</a></p>'
                        "<p>Your posts keep the badge they were written with either way.</p>"
                    ).format(name=badge.user.name, label=badge.label, day=day, link=link)
                ),
            )
        count += 1
    db.session.flush()
    return count


# -- threads -------------------------------------------------------------------------------------


def refresh_employee_reply(thread: Thread) -> None:
    """Thread.has_employee_reply: is any visible reply posted with a badge?"""
    db.session.flush()
    thread.has_employee_reply = bool(
        db.session.scalar(
            select(
                exists().where(
                    Post.thread_id == thread.id,
                    Post.position > 1,
                    Post.badge_id.is_not(None),
                    post_is_visible(),
                )
            )
        )
    )


def _on_post_deleted(sender: object, *, post: Post, **extra: object) -> None:
    if post.badge_id is not None and not post.is_opening:
        refresh_employee_reply(post.thread)


def _on_moderation_action(sender: object, *, entry: object, **extra: object) -> None:
    """Hiding or showing a post is a logged moderator action: keep the thread's mark right."""
    if getattr(entry, "target_type", None) != "post" or getattr(entry, "target_id", None) is None:
        return
    post = db.session.get(Post, entry.target_id)  # type: ignore[attr-defined]
    if post is not None and post.badge_id is not None and not post.is_opening:
        refresh_employee_reply(post.thread)


def connect_receivers() -> None:
    """Called once by create_app (blinker ignores a second connection of the same function)."""
    events.post_deleted.connect(_on_post_deleted)
    events.moderation_action.connect(_on_moderation_action)
