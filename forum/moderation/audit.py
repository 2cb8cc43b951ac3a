"""Write the audit log. Every moderator/admin action calls `record` in its own transaction."""

from __future__ import annotations

from forum import events
from forum.auth.models import User
from forum.extensions import db
from forum.moderation.models import AuditEntry


def record(
    actor: User | None,
    action: str,
    *,
    target_type: str,
    target_id: int | None,
    target_label: str = "",
    reason: str = "",
    board_id: int | None = None,
    affected_user: User | None = None,
    details: str = "",
) -> AuditEntry:
    """Add an audit row to the caller's transaction (the caller commits with the action)."""
    entry = AuditEntry(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:300],
        reason=reason,
        board_id=board_id,
        affected_user_id=affected_user.id if affected_user else None,
        details=details,
    )
    db.session.add(entry)
    db.session.flush()
    events.moderation_action.send(actor, entry=entry, affected_user=affected_user)
    return entry
