from __future__ import annotations

from wtforms import EmailField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from forum.forms import ForumForm


class WorkAddressForm(ForumForm):
    work_email = EmailField(
        "Work email address",
        validators=[DataRequired(), Length(max=254)],
        description="We mail it a one-time link and then forget it: only its domain is kept.",
    )
    submit = SubmitField("Send me a link")


class ReasonForm(ForumForm):
    reason = TextAreaField("Reason", validators=[Length(max=500)], description="Kept in the moderation log.")
    submit = SubmitField("Save")


class ConfirmForm(ForumForm):
    submit = SubmitField("Add the badge to my account")


class RemoveForm(ForumForm):
    reason = StringField("Why (optional)", validators=[Length(max=500)])
    submit = SubmitField("Remove my badge")
