"""Queue mail in the caller's transaction; deliver it after commit, retrying failures.

A mail server that is down never fails the request that queued the mail: the row stays
in the outbox with its next attempt time, and the next drain (after a later request, or
`flask mail send-pending`) tries again with a growing delay.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from forum.db import utcnow
from forum.extensions import db
from forum.mail.models import OutgoingMail

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 12


def queue_mail(
    recipient: str,
    subject: str,
    text_body: str,
    html_body: str,
    headers: dict[str, str] | None = None,
) -> OutgoingMail:
    """Add a message to the outbox in the current transaction; the caller commits."""
    header_lines = "\n".join(f"{name}: {value}" for name, value in (headers or {}).items())
    mail = OutgoingMail(
        recipient=recipient,
        subject=subject,
        text_body=text_body,
        html_body=html_body,
        headers=header_lines,
    )
    db.session.add(mail)
    db.session.flush()
    db.session.info["mail_queued"] = True  # the app drains the outbox after the response
    return mail


def build_message(mail: OutgoingMail) -> EmailMessage:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(mail.created_at.timestamp(), usegmt=True)
    message["Message-ID"] = make_msgid(domain=config["MAIL_SENDER"].rpartition("@")[2] or None)
    for line in mail.headers.splitlines():
        name, _, value = line.partition(": ")
        message[name] = value
    message.set_content(mail.text_body)
    message.add_alternative(mail.html_body, subtype="html")
    return message


def _deliver(message: EmailMessage) -> None:
    config = current_app.config
    server = config["MAIL_SERVER"]
    if not server:
        # Development: write the message to the instance folder and log where it went.
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        path = folder / f"{stamp}.eml"
        path.write_bytes(bytes(message))
        log.warning("Mail to %s (%s) written to %s", message["To"], message["Subject"], path)
        return
    port = int(config["MAIL_PORT"])
    timeout = float(config["MAIL_TIMEOUT"])
    if config["MAIL_USE_SSL"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            server, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(server, port, timeout=timeout)
    with smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)


def send_pending(limit: int = 100) -> tuple[int, int]:
    """Send due messages from the outbox; return (sent, failed). Commits per message.

    Several processes may drain at once (web workers, `flask worker`s on other machines):
    each message is first claimed with one conditional UPDATE that pushes its next attempt
    past a lease, so exactly one drainer owns it; the claim is committed before the SMTP
    conversation starts. A drainer that dies mid-send leaves the message to be retried
    once the lease ends.
    """
    now = utcnow()
    due_ids = db.session.scalars(
        select(OutgoingMail.id)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.next_attempt_at <= now)
        .where(OutgoingMail.attempts < MAX_ATTEMPTS)
        .order_by(OutgoingMail.id)
        .limit(limit)
    ).all()
    db.session.commit()  # end the read: each claim below is its own short transaction
    sent = failed = 0
    for mail_id in due_ids:
        mail = _claim(mail_id)
        if mail is None:
            continue  # another drainer has it
        try:
            _deliver(build_message(mail))
        except (OSError, smtplib.SMTPException, ValueError) as error:
            # ValueError: a header the email package refuses; that message is retried and
            # given up after MAX_ATTEMPTS, but never stops the rest of the outbox.
            mail.attempts += 1
            mail.last_error = f"{type(error).__name__}: {error}"[:500]
            mail.next_attempt_at = utcnow() + _retry_delay(mail.attempts)
            log.warning("Mail %s to %s not sent yet: %s", mail.id, mail.recipient, mail.last_error)
            failed += 1
        else:
            mail.sent_at = utcnow()
            mail.attempts += 1
            sent += 1
        db.session.commit()
    return sent, failed


def _claim(mail_id: int) -> OutgoingMail | None:
    """Take one due message for this drainer, or None when another drainer took it first."""
    now = utcnow()
    lease = timedelta(seconds=float(current_app.config["MAIL_CLAIM_LEASE"]))
    try:
        claimed = db.session.execute(
            update(OutgoingMail)
            .where(
                OutgoingMail.id == mail_id,
                OutgoingMail.sent_at.is_(None),
                OutgoingMail.next_attempt_at <= now,
                OutgoingMail.attempts < MAX_ATTEMPTS,
            )
            .values(next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    except OperationalError as error:  # SQLite busy past its timeout: leave it to the next drain
        db.session.rollback()
        log.warning("Mail %s not claimed (database busy): %s", mail_id, error)
        return None
    if claimed != 1:
        return None
    return db.session.get(OutgoingMail, mail_id, populate_existing=True)


def _retry_delay(attempts: int) -> timedelta:
    """Growing delay between attempts: MAIL_RETRY_BASE seconds doubled per attempt, capped."""
    base = float(current_app.config["MAIL_RETRY_BASE"])
    return timedelta(seconds=min(base * 2 ** min(attempts, 10), 6 * 3600))


def pending_count() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(OutgoingMail)
            .where(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < MAX_ATTEMPTS)
        )
        or 0
    )
