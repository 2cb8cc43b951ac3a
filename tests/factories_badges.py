"""Employee badge test data, built through the services (then committed)."""

from __future__ import annotations

import re
from typing import Any

from forum.auth.models import User
from forum.badges import granting
from forum.badges.models import EmployeeBadge
from forum.extensions import db
from tests.factories import make_user

COMPANY = "Example Telecom"
DOMAIN = "example-telecom.com"
BADGE_CONFIG = {"COMPANY_NAME": COMPANY, "EMPLOYEE_EMAIL_DOMAINS": f"{DOMAIN}, example-telecom.net"}
LINK_PATTERN = re.compile(r"http://forum\.test(/settings/employee/verify/[A-Za-z0-9_\-]+)")


def make_employee(username: str | None = None, *, moderator: User | None = None, **fields: Any) -> User:
    """A member with an active badge granted by a moderator."""
    user = make_user(username, **fields)
    make_badge(user, moderator=moderator)
    return user


def make_badge(
    user: User, *, moderator: User | None = None, reason: str = "Known employee."
) -> EmployeeBadge:
    moderator = moderator or make_user(role="moderator")
    badge = granting.grant_badge(user, actor=moderator, reason=reason)
    db.session.commit()
    return badge


def link_path_in(text: str) -> str:
    """The path of the one-time link in a mail's text."""
    match = LINK_PATTERN.search(text)
    assert match, f"no verification link in: {text!r}"
    return match.group(1)
