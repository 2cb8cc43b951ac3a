"""A confirmation step before irreversible moderation (merge, split, delete, suspend).

It works without JavaScript: the first POST answers with a page that says what will happen and
carries the submitted fields over; only its "Yes" button (which adds confirmed=yes) acts.
"""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

CONFIRMED = "confirmed"


class ConfirmationNeeded(Exception):
    """Raised by a view's action before it changes anything; the view answers with `page`."""

    def __init__(self, page: ResponseReturnValue) -> None:
        super().__init__("confirmation needed")
        self.page = page


def ask_first(*, title: str, question: str, consequence: str, button: str, cancel_url: str) -> None:
    """Return if this POST is the confirmed one; else raise ConfirmationNeeded with the page that asks."""
    if request.form.get(CONFIRMED) == "yes":
        return
    fields = [
        (name, value)
        for name, value in request.form.items(multi=True)
        if name not in ("csrf_token", CONFIRMED)
    ]
    page = render_template(
        "moderation/confirm.html",
        title=title,
        question=question,
        consequence=consequence,
        button=button,
        cancel_url=cancel_url,
        action=request.path,
        fields=fields,
    )
    raise ConfirmationNeeded(page)
