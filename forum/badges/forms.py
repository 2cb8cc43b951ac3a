"""Badge forms check shape only; the services check every rule."""

from __future__ import annotations

from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from forum.forms import ForumForm


class WorkAddressForm(ForumForm):
    work_email = EmailField(
        "Work email address",
        validators=[DataRequired(), Length(max=254)],
        description="We mail it a one-time link and then forget it: only its domain is kept.",
    )


class ReasonForm(ForumForm):
    reason = TextAreaField("Reason", validators=[Length(max=500)], description="Kept in the moderation log.")


class ConfirmForm(ForumForm):
    """One button: the CSRF token is the whole form."""


class RemoveForm(ForumForm):
    reason = StringField("Why (optional)", validators=[Length(max=500)])
