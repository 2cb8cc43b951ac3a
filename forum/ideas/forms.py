from __future__ import annotations

from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length

from forum.forms import ForumForm
from forum.ideas.models import IDEA_STATUSES
from forum.ideas.services import MAX_NOTE_LENGTH

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice

    STATUS_CHOICES: list = [SelectChoice(value, label) for value, label in IDEA_STATUSES.items()]
except ImportError:  # pragma: no cover (WTForms < 3.3)
    STATUS_CHOICES = list(IDEA_STATUSES.items())


class IdeaStatusForm(ForumForm):
    # The service checks the value (a clear message on the field rather than "Not a valid choice").
    status = SelectField("Status", choices=STATUS_CHOICES, validate_choice=False)
    note = StringField(
        "Note (optional)",
        validators=[Length(max=MAX_NOTE_LENGTH)],
        description="A sentence for the members who voted, e.g. what happens next.",
    )
    set_status = SubmitField("Set status")  # not "submit": the reply form on the same page has that id
