from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from forum.forms import ForumForm

EMAIL_CHOICES = [
    SelectChoice("immediate", "Right away (one mail per few minutes, however busy it gets)"),
    SelectChoice("digest", "A daily digest"),
    SelectChoice("never", "Never: I will check the bell"),
]
LEVEL_CHOICES = [
    SelectChoice("watching", "Watching: every new post"),
    SelectChoice("normal", "Normal: only what is about me (mentions, quotes)"),
    SelectChoice("muted", "Muted: nothing at all"),
    # Threads only (issue #17): what "I'm affected too" chooses.
    SelectChoice("affected", "Affected: only when it is solved, acknowledged, worked around or fixed"),
]


class PreferencesForm(ForumForm):
    notify_email = RadioField(
        "Email me about notifications", choices=EMAIL_CHOICES, validators=[DataRequired()]
    )
    watch_on_post = BooleanField("Watch threads I start or reply to")


class WatchForm(ForumForm):
    level = SelectField("Notifications", choices=LEVEL_CHOICES, validators=[DataRequired()])


class ResetRequestForm(ForumForm):
    email = EmailField("Email address", validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(ForumForm):
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 8 characters; a passphrase of 15 or more is best.",
    )
