from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length

from forum.forms import ForumForm
from forum.ideas.models import IDEA_STATUSES
from forum.ideas.services import MAX_NOTE_LENGTH


class IdeaStatusForm(ForumForm):
    # The service checks the value (a clear message on the field rather than "Not a valid choice").
    status = SelectField("Status", choices=list(IDEA_STATUSES.items()), validate_choice=False)
    note = StringField(
        "Note (optional)",
        validators=[Length(max=MAX_NOTE_LENGTH)],
        description="A sentence for the members who voted, e.g. what happens next.",
    )
    submit = SubmitField("Set status")
