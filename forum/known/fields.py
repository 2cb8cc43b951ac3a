"""Problem details: per-board fields an administrator defines, the values askers give, and
their edit history. Filters (`?model=hub-4`) and search (`model:hub-4`) use value_key."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from forum.auth.models import User
from forum.boards.models import Board, Thread
from forum.boards.services import slugify
from forum.errors import Forbidden, Invalid, NotFound
from forum.extensions import db
from forum.known import permissions
from forum.known.models import FIELD_KINDS, TEXT_VALUE_MAX, ProblemField, ProblemValue, ProblemValueChange

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Keys that already mean something in a board's address or a search query.
RESERVED_KEYS = {"page", "filter", "sort", "status", "board", "q", "is", "in", "by", "before", "after", "tag"}
MAX_CHOICES = 100
FORM_PREFIX = "problem-"


def value_key(value: str) -> str:
    """The value as it appears in a filter or search term: "Hub 4" -> "hub-4"."""
    return slugify(value, max_length=TEXT_VALUE_MAX) or value.strip().lower()[:TEXT_VALUE_MAX]


def board_fields(board_id: int) -> list[ProblemField]:
    return list(
        db.session.scalars(
            select(ProblemField)
            .where(ProblemField.board_id == board_id)
            .order_by(ProblemField.position, ProblemField.id)
        )
    )


def get_field(board: Board, field_id: int) -> ProblemField:
    field = db.session.get(ProblemField, field_id)
    if field is None or field.board_id != board.id:
        raise NotFound("There is no such problem field in this board.")
    return field


@dataclass
class FieldDefinition:
    label: str
    key: str
    kind: str
    choices: str
    required: bool
    position: int


def check_definition(
    board: Board, data: FieldDefinition, *, field: ProblemField | None = None
) -> FieldDefinition:
    label = " ".join((data.label or "").split())
    if not label or len(label) > 80:
        raise Invalid("Give the field a name of 1 to 80 characters, like “Model”.", "label")
    key = (data.key or "").strip().lower() or slugify(label, 40).replace("-", "_")
    if not KEY_PATTERN.match(key):
        raise Invalid(
            "The key is a lowercase word (letters, digits, _), starting with a letter, like “model”.", "key"
        )
    if key in RESERVED_KEYS:
        raise Invalid(
            f"“{key}” already means something in board addresses and searches; choose another.", "key"
        )
    clash = db.session.scalar(
        select(ProblemField.id).where(ProblemField.board_id == board.id, ProblemField.key == key)
    )
    if clash is not None and (field is None or clash != field.id):
        raise Invalid(f"This board already has a field with the key “{key}”.", "key")
    if data.kind not in FIELD_KINDS:
        raise Invalid("Choose a fixed list or short text.", "kind")
    lines = [" ".join(line.split()) for line in (data.choices or "").splitlines()]
    lines = list(dict.fromkeys(line for line in lines if line))
    if data.kind == "choice":
        if not lines:
            raise Invalid("A fixed list needs its choices, one a line.", "choices")
        if len(lines) > MAX_CHOICES:
            raise Invalid(f"At most {MAX_CHOICES} choices.", "choices")
        long = [line for line in lines if len(line) > TEXT_VALUE_MAX]
        if long:
            raise Invalid(
                f"Each choice has at most {TEXT_VALUE_MAX} characters: “{long[0][:40]}…” is longer.",
                "choices",
            )
    else:
        lines = []
    if not -1000 <= int(data.position) <= 1000:
        raise Invalid("The position is a number from -1000 to 1000.", "position")
    return FieldDefinition(label, key, data.kind, "\n".join(lines), bool(data.required), int(data.position))


def define_field(board: Board, data: FieldDefinition, *, actor: User) -> ProblemField:
    if not permissions.can_define_problem_fields(actor, board):
        raise Forbidden("Only administrators define problem fields.")
    clean = check_definition(board, data)
    field = ProblemField(board_id=board.id, **clean.__dict__)
    db.session.add(field)
    db.session.flush()
    return field


def update_field(field: ProblemField, data: FieldDefinition, *, actor: User) -> ProblemField:
    """Change a field. A choice that values still use may be dropped: those values stay as given."""
    if not permissions.can_define_problem_fields(actor):
        raise Forbidden("Only administrators define problem fields.")
    board = db.session.get(Board, field.board_id)
    clean = check_definition(board, data, field=field)
    for name, value in clean.__dict__.items():
        setattr(field, name, value)
    db.session.flush()
    return field


def remove_field(field: ProblemField, *, actor: User) -> None:
    """Remove a field with its values and their history (the question texts stay)."""
    if not permissions.can_define_problem_fields(actor):
        raise Forbidden("Only administrators define problem fields.")
    db.session.execute(delete(ProblemValueChange).where(ProblemValueChange.field_id == field.id))
    db.session.execute(delete(ProblemValue).where(ProblemValue.field_id == field.id))
    db.session.delete(field)
    db.session.flush()


# -- values -----------------------------------------------------------------------------------


class ProblemErrors(Invalid):
    """Several fields at once: `errors` maps the form field name to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        first = next(iter(errors.items()))
        super().__init__(first[1], first[0])
        self.errors = errors


def parse_values(
    fields: list[ProblemField], form: Mapping[str, str], *, partial: bool = False
) -> dict[int, str]:
    """The submitted `problem-<key>` values, checked: every error at once, on its field.

    Unknown `problem-*` names are refused (a form of another board, or a hand-made request).
    """
    by_name = {FORM_PREFIX + field.key: field for field in fields}
    errors: dict[str, str] = {}
    for name in form:
        if name.startswith(FORM_PREFIX) and name not in by_name:
            errors[name] = f"This board has no problem field “{name[len(FORM_PREFIX) :][:40]}”."
    values: dict[int, str] = {}
    for name, field in by_name.items():
        raw = " ".join((form.get(name) or "").split())
        if not raw:
            if field.required:
                errors[name] = f"{field.label} is required: choose or type a value."
            values[field.id] = ""
            continue
        if len(raw) > TEXT_VALUE_MAX:
            errors[name] = f"{field.label} has at most {TEXT_VALUE_MAX} characters (this has {len(raw)})."
        elif field.kind == "choice" and raw not in field.choice_list:
            errors[name] = f"“{raw[:40]}” is not one of the choices for {field.label}."
        values[field.id] = raw
    if errors:
        raise ProblemErrors(errors)
    return values


def thread_values(thread_id: int) -> list[ProblemValue]:
    return list(
        db.session.scalars(
            select(ProblemValue)
            .join(ProblemField, ProblemField.id == ProblemValue.field_id)
            .where(ProblemValue.thread_id == thread_id)
            .order_by(ProblemField.position, ProblemField.id)
        )
    )


def values_of_threads(thread_ids: list[int]) -> dict[int, list[ProblemValue]]:
    found: dict[int, list[ProblemValue]] = {}
    if not thread_ids:
        return found
    rows = db.session.scalars(
        select(ProblemValue)
        .join(ProblemField, ProblemField.id == ProblemValue.field_id)
        .where(ProblemValue.thread_id.in_(thread_ids))
        .order_by(ProblemField.position, ProblemField.id)
    )
    for row in rows:
        found.setdefault(row.thread_id, []).append(row)
    return found


def save_values(thread: Thread, values: dict[int, str], *, actor: User, record: bool) -> int:
    """Store the values; `record` writes each change to the history (edits, not the first asking)."""
    current = {row.field_id: row for row in thread_values(thread.id)}
    changed = 0
    for field_id, value in values.items():
        row = current.get(field_id)
        old = row.value if row else ""
        if old == value:
            continue
        changed += 1
        if row is None:
            db.session.add(
                ProblemValue(thread_id=thread.id, field_id=field_id, value=value, value_key=value_key(value))
            )
        elif value:
            row.value, row.value_key = value, value_key(value)
        else:
            db.session.delete(row)
        if record:
            db.session.add(
                ProblemValueChange(
                    thread_id=thread.id, field_id=field_id, actor_id=actor.id, old_value=old, new_value=value
                )
            )
    db.session.flush()
    return changed


def fill_in_when_asking(thread: Thread, form: Mapping[str, str], *, actor: User) -> None:
    """The asker's values, given with the question (checked again: the view checked them first)."""
    fields = board_fields(thread.board_id)
    if fields:
        save_values(thread, parse_values(fields, form), actor=actor, record=False)


def edit_values(thread: Thread, form: Mapping[str, str], *, actor: User) -> int:
    if not permissions.can_edit_problem_details(actor, thread):
        raise Forbidden("Only the asker and moderators can change the problem details.")
    values = parse_values(board_fields(thread.board_id), form)
    return save_values(thread, values, actor=actor, record=True)


def history(thread_id: int) -> list[ProblemValueChange]:
    return list(
        db.session.scalars(
            select(ProblemValueChange)
            .where(ProblemValueChange.thread_id == thread_id)
            .order_by(ProblemValueChange.created_at.desc(), ProblemValueChange.id.desc())
        )
    )


def filters_from_args(fields: list[ProblemField], args: Mapping[str, str]) -> list[tuple[ProblemField, str]]:
    """(field, value_key) pairs for the board's fields named in the query string."""
    by_key = {field.key: field for field in fields}
    return [(by_key[key], value_key(args[key])) for key in args if key in by_key and args[key].strip()]


def thread_filter_clause(pairs: list[tuple[ProblemField, str]], thread_id: Any = Thread.id):  # noqa: ANN201
    """Threads having every given value: one EXISTS per key, on the (field, value_key) index.

    Without a board chosen, a key several boards define ("model") names each board's field:
    a thread has the value in any of them, as a thread has one board's fields only (one
    EXISTS per field asked for all of them, and found nothing). `thread_id` is the column
    to match, Thread.id or another table's thread id (a SQL clause list).
    """
    fields_by_key: dict[tuple[str, str], list[int]] = {}
    for field, key in pairs:
        fields_by_key.setdefault((field.key, key), []).append(field.id)
    return [
        select(ProblemValue.id)
        .where(
            ProblemValue.thread_id == thread_id,
            ProblemValue.field_id.in_(ids) if len(ids) > 1 else ProblemValue.field_id == ids[0],
            ProblemValue.value_key == key,
        )
        .exists()
        for (_, key), ids in fields_by_key.items()
    ]
