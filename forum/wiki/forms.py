"""Wiki forms: they check shape only; the services check every rule."""

from __future__ import annotations

from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from forum.forms import ForumForm
from forum.markup import MAX_BODY_LENGTH
from forum.wiki.editing import MAX_SUMMARY_LENGTH, MAX_TITLE_LENGTH

BODY_HELP = (
    "Markdown, as in posts. Link to other pages with [[Page title]] or [[Page title|words to show]]; "
    "links to pages that do not exist yet invite readers to create them."
)


class PageForm(ForumForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=MAX_TITLE_LENGTH)])
    board_id = SelectField("Topic", coerce=int, validate_choice=True, default=0)
    body = TextAreaField(
        "Text", validators=[DataRequired(), Length(max=MAX_BODY_LENGTH)], description=BODY_HELP
    )
    summary = StringField(
        "Edit summary",
        validators=[Length(max=MAX_SUMMARY_LENGTH)],
        description="Briefly, what you changed and why (shown in the history).",
    )
    # The revision the editor started from: a later save by someone else is a conflict.
    base_revision_id = HiddenField()
    preview = SubmitField("Preview")
    submit = SubmitField("Save page")


class RenameForm(ForumForm):
    title = StringField("New title", validators=[DataRequired(), Length(max=MAX_TITLE_LENGTH)])
    reason = StringField("Reason", validators=[Length(max=MAX_SUMMARY_LENGTH)])
    submit = SubmitField("Rename page")


class RevertForm(ForumForm):
    revision_id = IntegerField(validators=[DataRequired()])
    base_revision_id = IntegerField(validators=[Optional()])
    reason = StringField("Reason", validators=[Length(max=MAX_SUMMARY_LENGTH)])


class ReasonForm(ForumForm):
    reason = StringField("Reason", validators=[Length(max=MAX_SUMMARY_LENGTH)])
