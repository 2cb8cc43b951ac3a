"""The periodic work of the features that exist: what cron used to be asked to do."""

from __future__ import annotations

from flask import current_app

from forum.extensions import db
from forum.jobs.periodic import forget_old_runs, periodic_job

MINUTE, HOUR, DAY = 60, 3600, 86400


def _deliver_mail() -> tuple[int, int]:
    from forum.mail.services import send_pending

    total_sent = total_failed = 0
    while True:
        sent, failed = send_pending()
        total_sent += sent
        total_failed += failed
        if sent + failed == 0 or (sent == 0 and failed):
            return total_sent, total_failed


@periodic_job("mail", MINUTE, "send the mail outbox, retrying failed messages")
def mail_outbox() -> str:
    sent, failed = _deliver_mail()
    return f"sent {sent}, failed {failed}"


@periodic_job("notification-batches", MINUTE, "mail notification batches that waited long enough")
def notification_batches() -> str:
    from forum.notifications.delivery import send_immediate_batches

    queued = send_immediate_batches()
    sent, failed = _deliver_mail()
    return f"queued {queued}, sent {sent}, failed {failed}"


@periodic_job("digests", HOUR, "mail the daily digests that are due")
def digests() -> str:
    from forum.notifications.delivery import send_digests

    queued = send_digests()
    sent, failed = _deliver_mail()
    return f"queued {queued}, sent {sent}, failed {failed}"


@periodic_job("badge-expiry", DAY, "warn members before their employee badge ends")
def badge_expiry() -> str:
    from forum.badges.expiry import notify_expiring
    from forum.badges.verification import forget_old_addresses

    told = notify_expiring()
    forgotten = forget_old_addresses()
    db.session.commit()
    sent, failed = _deliver_mail()
    return f"told {told}, forgot {forgotten} address(es), sent {sent}"


@periodic_job("search-outbox", MINUTE, "apply search outbox rows the web servers left behind")
def search_outbox() -> str:
    from forum.search import outbox

    applied = outbox.drain(wait=float(current_app.config.get("SEARCH_LOCK_WAIT", 2.0)))
    return f"applied {applied}, {outbox.backlog()} left"


@periodic_job("search-consistency", 10 * MINUTE, "rebuild the search index if it is behind the database")
def search_consistency() -> str:
    """After an upgrade or a restore the index may miss what the database holds (issue #13)."""
    from forum.search.services import catch_up

    return catch_up()


@periodic_job("search-vocabulary", HOUR, 'list the words of thread titles again, for "did you mean"')
def search_vocabulary() -> str:
    from forum.search import engine

    refresh = getattr(engine.backend(), "refresh_vocabulary", None)
    if refresh is None:
        return "not needed: the Whoosh index lists its own words"
    words = refresh(db.session)
    db.session.commit()
    return f"{words} words"


@periodic_job("semantic-embeddings", MINUTE, "vectors of new and changed threads (semantic layer)")
def semantic_embeddings() -> str:
    """Never in a request: a thread waits here a minute at most, lexical in the box meanwhile."""
    from forum.semantic.services import embed_new_threads

    return embed_new_threads()


@periodic_job("job-history", DAY, "forget periodic job runs older than 30 days")
def job_history() -> str:
    forgotten = forget_old_runs()
    db.session.commit()
    return f"forgot {forgotten} run(s)"
