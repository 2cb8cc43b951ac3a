from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from forum.forms import ForumForm


class RegisterForm(ForumForm):
    username = StringField(
        "Username",
        validators=[DataRequired(), Length(max=30)],
        description="3 to 30 characters: lowercase letters, digits and underscores.",
    )
    email = EmailField(
        "Email", validators=[DataRequired(), Length(max=254)],
        description="Never shown to anyone.",
    )  # fmt: skip
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 8 characters; a passphrase of 15 or more is best.",
    )


class LoginForm(ForumForm):
    login = StringField("Username or email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])
    remember = BooleanField("Remember me on this device for 30 days")


class ChangePasswordForm(ForumForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=256)],
        description="At least 8 characters; a passphrase of 15 or more is best.",
    )


class ProfileForm(ForumForm):
    display_name = StringField("Display name", validators=[Length(max=60)])
    bio = TextAreaField("About you", validators=[Length(max=2000)])
