from __future__ import annotations

import secrets
from typing import Any

from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields import BooleanField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from forum.boards.kinds import board_kinds
from forum.forms import ForumForm
from forum.markup import MAX_BODY_LENGTH


def new_submission_key() -> str:
    """A fresh key for each form shown: the same key sent twice is one post (issue #13)."""
    return secrets.token_hex(16)


BODY_HELP = "Markdown: **bold**, _italic_, `code`, > quotes, - lists, [links](https://…), ``` code blocks."


class ThreadForm(ForumForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=150)])
    body = TextAreaField(
        "Your question or story",
        validators=[DataRequired(), Length(max=MAX_BODY_LENGTH)],
        description=BODY_HELP,
    )
    preview = SubmitField("Preview")
    submit = SubmitField("Start thread")
    save_draft = SubmitField("Save draft")  # -- follow -- kept server-side (issue #15)
    # -- badges -- (shown to verified employees only; the view picks the actor's own badge)
    with_badge = BooleanField("Post with my employee badge", default=True)
    submission = HiddenField(default=new_submission_key)


class ReplyForm(ForumForm):
    body = TextAreaField(
        "Your reply", validators=[DataRequired(), Length(max=MAX_BODY_LENGTH)], description=BODY_HELP
    )
    preview = SubmitField("Preview")
    submit = SubmitField("Post reply")
    save_draft = SubmitField("Save draft")  # -- follow -- kept server-side (issue #15)
    # -- badges -- (shown to verified employees only; the view picks the actor's own badge)
    with_badge = BooleanField("Post with my employee badge", default=True)
    submission = HiddenField(default=new_submission_key)


class EditPostForm(ForumForm):
    title = StringField("Title", validators=[Length(max=150)])
    body = TextAreaField(
        "Text", validators=[DataRequired(), Length(max=MAX_BODY_LENGTH)], description=BODY_HELP
    )
    preview = SubmitField("Preview")
    submit = SubmitField("Save changes")


class BoardForm(ForumForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    slug = StringField(
        "Address", validators=[Length(max=60)],
        description="Lowercase letters, digits and dashes: the board lives at /b/<address>. Leave empty to derive it from the name.",
    )  # fmt: skip
    description = TextAreaField("Description", validators=[Length(max=1000)])
    kind = SelectField("Kind", validate_choice=True)  # the kinds the features registered
    submit = SubmitField("Save board")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = [SelectChoice(kind.name, kind.label) for kind in board_kinds()]
