"""`flask demo seed`: what `make run` shows a first-time visitor, added once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from forum.boards.models import Board
from forum.extensions import db


@pytest.mark.antispam  # with the real new-account limits, as `make run` has them
@pytest.mark.post_thresholds
def test_demo_seed_fills_an_empty_forum_once_with_working_logins(client, runner):
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    logins = dict(re.findall(r"^\s+(\w+)\s+(\S+)\s+\((?:member|moderator|admin)\)$", result.output, re.M))
    assert set(logins) == {"maria", "tom_h", "priya", "mod_sam", "jo_staff", "admin_ada"}
    assert re.search(r"^\s+admin_ada\s+\S+\s+\(admin\)$", result.output, re.M)  # printed with the others
    assert db.session.scalar(select(func.count()).select_from(Board)) == 6
    again = runner.invoke(args=["demo", "seed"])
    assert "demo data not added" in again.output
    assert db.session.scalar(select(func.count()).select_from(Board)) == 6

    home = client.get("/").get_data(as_text=True)
    assert "Router keeps dropping wifi every evening" in home
    thread = client.get("/t/1", follow_redirects=True).get_data(as_text=True)
    assert "Solved" in thread and "Employee" in thread
    assert "How to stop evening wifi drops" in client.get("/wiki").get_data(as_text=True)
    assert "Under review" in client.get("/b/ideas").get_data(as_text=True)
    response = client.post("/login", data={"login": "admin_ada", "password": logins["admin_ada"]})
    assert response.status_code == 302 and "/admin/roles" in client.get("/").get_data(
        as_text=True
    )  # admin menu
    client.post("/logout")
    response = client.post("/login", data={"login": "jo_staff", "password": logins["jo_staff"]})
    assert response.status_code == 302
    for name, password in [("admin", "admin"), ("maria", "maria"), ("maria", "password")]:
        assert client.post("/login", data={"login": name, "password": password}).status_code == 422
