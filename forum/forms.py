"""The base form: service errors land on fields, and NUL characters are refused."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import Field

from forum.errors import ServiceError


class ForumForm(FlaskForm):
    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and "\x00" in field.data:
                field.errors = [*field.errors, "This contains a NUL character, which cannot be saved."]
                valid = False
        return valid

    def add_service_error(self, error: ServiceError) -> None:
        """Show a service's refusal on its field (or on the form as a whole)."""
        field: Field | None = getattr(self, error.field, None) if error.field else None
        if isinstance(field, Field):
            field.errors = [*field.errors, error.message]
        else:
            self.form_errors.append(error.message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or bool(self.form_errors)
