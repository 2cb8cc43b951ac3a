"""Record types of known problems (issue #17): `problem_field`, `problem_value`,
`problem_value_change`, `known_issue`, `known_issue_change` (public) and `affected_member`
(full backups only: who is affected is for moderators; the count travels on the thread
record as `affected_count`, so a public archive shows the same numbers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import func, select, update

from forum.boards.models import Thread
from forum.exchange.exporter import batched
from forum.exchange.fields import RecordError, flag, ident, iso, text, timestamp
from forum.exchange.importer import Checker, Links, Loader, Parsed
from forum.exchange.qa_ideas import _public_threads
from forum.extensions import db
from forum.known.fields import value_key
from forum.known.models import (
    FIELD_KINDS,
    KNOWN_STATUSES,
    NOTE_MAX,
    TEXT_VALUE_MAX,
    AffectedMember,
    KnownIssue,
    KnownIssueChange,
    ProblemField,
    ProblemValue,
    ProblemValueChange,
)
from forum.known.services import recount_statement


def _one_of(record: dict[str, Any], name: str, allowed: Any, *, required: bool = True) -> str | None:
    value = text(record, name, required=required, max_length=20, nullable=not required)
    if value is None and not required:
        return None
    if value not in allowed:
        raise RecordError(f"{name!r} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _number(record: dict[str, Any], name: str) -> int:
    value = record.get(name, 0)
    if type(value) is not int or not -1000 <= value <= 1000:
        raise RecordError(f"{name!r} must be a whole number from -1000 to 1000, not {value!r}")
    return value


# -- problem_field (public) --------------------------------------------------------------------


def parse_problem_field(r: dict[str, Any]) -> Parsed:
    choices = r.get("choices", [])
    if not isinstance(choices, list) or not all(
        isinstance(c, str) and 0 < len(c) <= TEXT_VALUE_MAX for c in choices
    ):
        raise RecordError(f"'choices' must be a list of strings of 1 to {TEXT_VALUE_MAX} characters")
    return {
        "id": ident(r, "id"),
        "category_id": ident(r, "category_id"),
        "key": text(r, "key", max_length=40),
        "label": text(r, "label", max_length=80),
        "kind": _one_of(r, "kind", FIELD_KINDS),
        "choices": "\n".join(choices),
        "required": flag(r, "required", required=False),
        "position": _number(r, "position"),
        "created_at": timestamp(r, "created_at"),
    }


PROBLEM_FIELD = Links("problem_field", {"category_id": "category"})


def check_problem_field(c: Checker, p: Parsed) -> None:
    PROBLEM_FIELD.check(c, p)
    c.add_name("problem_field_key", f"{p['category_id']}:{p['key']}")


def load_problem_field(loader: Loader, p: Parsed) -> None:
    row = PROBLEM_FIELD.row(loader, p)
    row["board_id"] = row.pop("category_id")
    loader.add("problem_fields", row)


def export_problem_fields(full: bool) -> Iterator[dict[str, Any]]:
    for f in batched(select(ProblemField), ProblemField.id):
        yield {
            "type": "problem_field", "id": f.id, "category_id": f.board_id, "key": f.key, "label": f.label,
            "kind": f.kind, "choices": f.choice_list, "required": f.required, "position": f.position,
            "created_at": iso(f.created_at),
        }  # fmt: skip


# -- problem_value and problem_value_change (public) -------------------------------------------


def parse_problem_value(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "thread_id": ident(r, "thread_id"),
        "field_id": ident(r, "field_id"),
        "value": text(r, "value", max_length=TEXT_VALUE_MAX),
    }


PROBLEM_VALUE = Links("problem_value", {"thread_id": "thread", "field_id": "problem_field"})


def check_problem_value(c: Checker, p: Parsed) -> None:
    PROBLEM_VALUE.check(c, p)
    c.add_name("problem_value_pair", f"{p['thread_id']}:{p['field_id']}")


def load_problem_value(loader: Loader, p: Parsed) -> None:
    loader.add("problem_values", PROBLEM_VALUE.row(loader, p, value_key=value_key(p["value"])))


def export_problem_values(full: bool) -> Iterator[dict[str, Any]]:
    statement = _public_threads(select(ProblemValue), ProblemValue.thread_id, full)
    for v in batched(statement, ProblemValue.id):
        yield {
            "type": "problem_value",
            "id": v.id,
            "thread_id": v.thread_id,
            "field_id": v.field_id,
            "value": v.value,
        }


def parse_problem_value_change(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "thread_id": ident(r, "thread_id"),
        "field_id": ident(r, "field_id"),
        "actor_id": ident(r, "actor_id", required=False),
        "old_value": text(r, "old_value", required=False, max_length=TEXT_VALUE_MAX) or "",
        "new_value": text(r, "new_value", required=False, max_length=TEXT_VALUE_MAX) or "",
        "created_at": timestamp(r, "created_at"),
    }


PROBLEM_VALUE_CHANGE = Links(
    "problem_value_change", {"thread_id": "thread", "field_id": "problem_field", "actor_id": "user"}
)


def check_problem_value_change(c: Checker, p: Parsed) -> None:
    PROBLEM_VALUE_CHANGE.check(c, p)


def load_problem_value_change(loader: Loader, p: Parsed) -> None:
    loader.add("problem_value_changes", PROBLEM_VALUE_CHANGE.row(loader, p))


def export_problem_value_changes(full: bool) -> Iterator[dict[str, Any]]:
    statement = _public_threads(select(ProblemValueChange), ProblemValueChange.thread_id, full)
    for ch in batched(statement, ProblemValueChange.id):
        yield {
            "type": "problem_value_change", "id": ch.id, "thread_id": ch.thread_id, "field_id": ch.field_id,
            "actor_id": ch.actor_id, "old_value": ch.old_value, "new_value": ch.new_value,
            "created_at": iso(ch.created_at),
        }  # fmt: skip


# -- known_issue and known_issue_change (public) -----------------------------------------------


def parse_known_issue(r: dict[str, Any]) -> Parsed:
    return {
        "thread_id": ident(r, "thread_id"),
        "status": _one_of(r, "status", KNOWN_STATUSES),
        "marked_at": timestamp(r, "marked_at"),
        "status_changed_at": timestamp(r, "status_changed_at"),
        "acknowledged_at": timestamp(r, "acknowledged_at", required=False),
        "fixed_at": timestamp(r, "fixed_at", required=False),
    }


KNOWN_ISSUE = Links("known_issue", {"thread_id": "thread"}, id="thread_id")


def check_known_issue(c: Checker, p: Parsed) -> None:
    KNOWN_ISSUE.check(c, p)


def load_known_issue(loader: Loader, p: Parsed) -> None:
    loader.add("known_issues", KNOWN_ISSUE.row(loader, p))


def export_known_issues(full: bool) -> Iterator[dict[str, Any]]:
    statement = _public_threads(select(KnownIssue), KnownIssue.thread_id, full).order_by(KnownIssue.thread_id)
    for issue in db.session.scalars(statement):
        yield {
            "type": "known_issue", "thread_id": issue.thread_id, "status": issue.status,
            "marked_at": iso(issue.marked_at), "status_changed_at": iso(issue.status_changed_at),
            "acknowledged_at": iso(issue.acknowledged_at), "fixed_at": iso(issue.fixed_at),
        }  # fmt: skip
    db.session.expunge_all()


def parse_known_issue_change(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "thread_id": ident(r, "thread_id"),
        "old_status": _one_of(r, "old_status", KNOWN_STATUSES, required=False),
        "new_status": _one_of(r, "new_status", KNOWN_STATUSES),
        "note": text(r, "note", required=False, max_length=NOTE_MAX) or "",
        "actor_id": ident(r, "actor_id", required=False),
        "badge_id": ident(r, "badge_id", required=False),
        "created_at": timestamp(r, "created_at"),
    }


KNOWN_ISSUE_CHANGE = Links(
    "known_issue_change", {"thread_id": "known_issue", "actor_id": "user", "badge_id": "employee_badge"}
)


def check_known_issue_change(c: Checker, p: Parsed) -> None:
    KNOWN_ISSUE_CHANGE.check(c, p)


def load_known_issue_change(loader: Loader, p: Parsed) -> None:
    loader.add("known_issue_changes", KNOWN_ISSUE_CHANGE.row(loader, p))


def export_known_issue_changes(full: bool) -> Iterator[dict[str, Any]]:
    statement = _public_threads(select(KnownIssueChange), KnownIssueChange.thread_id, full)
    for ch in batched(statement, KnownIssueChange.id):
        yield {
            "type": "known_issue_change", "id": ch.id, "thread_id": ch.thread_id, "old_status": ch.old_status,
            "new_status": ch.new_status, "note": ch.note, "actor_id": ch.actor_id, "badge_id": ch.badge_id,
            "created_at": iso(ch.created_at),
        }  # fmt: skip


# -- affected_member (full only) ---------------------------------------------------------------


def parse_affected_member(r: dict[str, Any]) -> Parsed:
    return {
        "id": ident(r, "id"),
        "thread_id": ident(r, "thread_id"),
        "user_id": ident(r, "user_id"),
        "created_at": timestamp(r, "created_at"),
    }


AFFECTED_MEMBER = Links("affected_member", {"thread_id": "thread", "user_id": "user"})


def check_affected_member(c: Checker, p: Parsed) -> None:
    AFFECTED_MEMBER.check(c, p)
    c.add_name("affected_pair", f"{p['thread_id']}:{p['user_id']}")


def load_affected_member(loader: Loader, p: Parsed) -> None:
    created: Any = p["created_at"]
    created_on = date(created.year, created.month, created.day)
    loader.add("affected_members", AFFECTED_MEMBER.row(loader, p, created_on=created_on))


def export_affected_members(full: bool) -> Iterator[dict[str, Any]]:
    if not full:
        return
    for row in batched(select(AffectedMember), AffectedMember.id):
        yield {
            "type": "affected_member", "id": row.id, "thread_id": row.thread_id, "user_id": row.user_id,
            "created_at": iso(row.created_at),
        }  # fmt: skip


def recompute_affected_counts(loader: Loader) -> None:
    """A file with affected_member records (a full backup) gets the counts from them; one
    without (a public archive) keeps the `affected_count` its thread records carry. The
    register's 7-day counts are not in any file: they are counted from the loaded reports."""
    loader.connection.execute(recount_statement())
    if loader.checker.counts.get("affected_member"):
        counted = (
            select(func.count(AffectedMember.id))
            .where(AffectedMember.thread_id == Thread.id)
            .scalar_subquery()
        )
        loader.connection.execute(update(Thread).values(affected_count=counted))
