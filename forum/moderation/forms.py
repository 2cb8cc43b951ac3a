from __future__ import annotations

import re

from wtforms import (
    BooleanField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from forum.auth.models import ROLES
from forum.db import MAX_ID
from forum.forms import ForumForm
from forum.markup import MAX_BODY_LENGTH
from forum.moderation.models import FLAG_REASONS
from forum.moderation.users import DURATIONS

REASON_HINT = "Shown to members (and in the moderation log)."
THREAD_REFERENCE = re.compile(r"^\s*(?:https?://[^/]+)?(?:/t/)?(\d{1,12})(?:/[^\s]*)?\s*$")


def thread_id_from(text: str | None) -> int | None:
    """A thread id from "123", "/t/123/slug" or a full thread URL."""
    match = THREAD_REFERENCE.match(text or "")
    number = int(match.group(1)) if match else None
    return number if number is not None and 0 < number <= MAX_ID else None


def choices(pairs: object) -> list[SelectChoice]:
    """SelectChoice options (WTForms 3.3 deprecates plain tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]  # type: ignore[attr-defined]


def reason_field(required: bool = False, label: str = "Reason") -> TextAreaField:
    validators = [DataRequired()] if required else [Optional()]
    return TextAreaField(label, validators=[*validators, Length(max=500)], description=REASON_HINT)


class ReasonForm(ForumForm):
    reason = reason_field()


class RequiredReasonForm(ForumForm):
    reason = reason_field(required=True)


class RenameForm(ForumForm):
    title = StringField("New title", validators=[DataRequired(), Length(max=150)])
    reason = reason_field()


class MoveForm(ForumForm):
    board = SelectField("Move to board", validators=[DataRequired()], validate_choice=True)
    reason = reason_field()


class MergeForm(ForumForm):
    target = StringField(
        "Merge into thread (its number or address)", validators=[DataRequired(), Length(max=300)]
    )
    reason = reason_field()


class DuplicateForm(ForumForm):
    original = StringField(
        "Original thread (its number or address)", validators=[DataRequired(), Length(max=300)]
    )
    reason = reason_field()


class SplitForm(ForumForm):
    posts = SelectMultipleField("Replies to move", coerce=int, validate_choice=True)
    title = StringField("Title of the new thread", validators=[DataRequired(), Length(max=150)])
    board = SelectField("In board", validators=[DataRequired()], validate_choice=True)
    reason = reason_field()


class FlagForm(ForumForm):
    reason = RadioField(
        "Why?", choices=choices(FLAG_REASONS.items()), validators=[DataRequired()], validate_choice=True
    )
    note = TextAreaField(
        "Anything the moderators should know (optional)", validators=[Optional(), Length(max=1000)]
    )


class ResolveForm(ForumForm):
    outcome = RadioField(
        "Decision",
        choices=choices([("hide", "Hide the post"), ("edit", "Edit the post"), ("warn", "Hide and warn the author"),
                         ("dismiss", "Dismiss: the post is fine")]),
        validators=[DataRequired()], validate_choice=True,
    )  # fmt: skip
    reason = reason_field(label="Reason (needed to hide or warn)")
    body = TextAreaField("Corrected text (for “Edit”)", validators=[Optional(), Length(max=MAX_BODY_LENGTH)])


DURATION_CHOICES = [
    ("1d", "1 day"),
    ("3d", "3 days"),
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("forever", "Until lifted"),
]
assert {value for value, _ in DURATION_CHOICES} == set(DURATIONS)


class SanctionForm(ForumForm):
    duration = SelectField(
        "For", choices=choices(DURATION_CHOICES), validators=[DataRequired()], validate_choice=True
    )
    reason = reason_field(required=True, label="Reason (shown to the member)")


class LiftForm(ForumForm):
    kind = SelectField(
        "Lift", choices=choices([("silence", "Silence"), ("suspension", "Suspension")]), validate_choice=True
    )
    reason = reason_field()


class DeleteAccountForm(ForumForm):
    reason = reason_field(required=True, label="Reason (e.g. “the member asked on 2 May”)")
    remove_posts = BooleanField("Also remove their posts (otherwise they stay under “Former member”)")
    confirm = StringField("Type the username to confirm", validators=[DataRequired(), Length(max=30)])


class RoleForm(ForumForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=30)])
    role = SelectField(
        "Role", choices=choices((role, role.capitalize()) for role in ROLES), validate_choice=True
    )
    board = SelectField("Only for board (moderators)", validate_choice=True)
