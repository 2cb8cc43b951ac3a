from __future__ import annotations

from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from forum.forms import ForumForm
from forum.markup import MAX_BODY_LENGTH

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


class ReplyForm(ForumForm):
    body = TextAreaField(
        "Your reply", validators=[DataRequired(), Length(max=MAX_BODY_LENGTH)], description=BODY_HELP
    )
    preview = SubmitField("Preview")
    submit = SubmitField("Post reply")


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
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice("questions", "Questions (threads can be marked solved)"),
            SelectChoice("discussion", "Discussion"),
            SelectChoice("ideas", "Ideas (members vote)"),
            SelectChoice("announcements", "Announcements (only moderators start threads)"),
        ],
        validate_choice=True,
    )
    submit = SubmitField("Save board")
