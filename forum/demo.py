"""`flask demo seed`: boards, members and conversations to explore a fresh forum.

Runs once (it does nothing when boards exist). Demo members get random passwords, printed
and kept in <instance>/demo-logins.txt: there are no default credentials.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import click
from flask import Blueprint, Flask, current_app
from sqlalchemy import select

from forum.auth import services as accounts
from forum.auth.models import User
from forum.badges import granting as badges
from forum.boards import services as boards
from forum.boards.models import Board, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.known import fields
from forum.known import services as known

bp = Blueprint("demo", __name__, cli_group="demo")


def init_app(app: Flask) -> None:
    """The `flask demo seed` command."""
    app.register_blueprint(bp)


BOARDS = [
    ("Broadband", "broadband", "Connection drops, speeds, routers and outages.", "questions"),
    ("TV", "tv", "Set-top boxes, channels, apps and recordings.", "questions"),
    ("Phone", "phone", "Mobile and landline: signal, porting numbers, roaming.", "questions"),
    ("Billing", "billing", "Bills, refunds, price rises and contracts.", "questions"),
    ("Moving home", "moving-home", "Taking your services with you, and installs.", "questions"),
    ("Ideas", "ideas", "What should the service do better? Vote for ideas.", "ideas"),
]
MEMBERS = [
    ("maria", "Maria G.", "member"),
    ("tom_h", "Tom H.", "member"),
    ("priya", "Priya S.", "member"),
    ("mod_sam", "Sam (moderator)", "moderator"),
    ("jo_staff", "Jo", "member"),  # a verified employee (badge granted below)
    ("admin_ada", "Ada (administrator)", "admin"),
]
CONVERSATIONS = [
    ("broadband", "maria", "Router keeps dropping wifi every evening",
     "Every evening around 8pm my wifi drops for a minute or two. The router lights stay green.\n\n"
     "- Router: Hub 4\n- Tried: restarting it, moving it away from the TV\n\nAny ideas?",
     [("tom_h", "Same here last month. Changing the wifi **channel** from auto to 6 fixed it for me: "
                "the evening drop was a neighbour's network on the same channel."),
      ("jo_staff", "Evening drops with green lights are usually channel congestion. In the hub's settings:\n\n"
                   "1. Open http://192.168.1.1\n2. Advanced → Wireless\n3. Set the 2.4 GHz channel to 1, 6 or 11"),
      ("maria", "Channel 11 did it: no drops for three evenings now. Thanks both!")]),
    ("billing", "priya", "Charged twice for October",
     "My October bill shows the monthly charge twice. Has anyone had this refunded?",
     [("tom_h", "Yes: the billing chat can refund it, ask for a *duplicate charge correction*. Took 5 days for me.")]),
    ("tv", "tom_h", "Recordings disappeared after the box update",
     "After last night's update my recordings list is empty. Are they gone?",
     []),
    ("moving-home", "maria", "How early should I book the move of my broadband?",
     "Moving on the 15th of next month. When should I tell them?",
     [("priya", "Three weeks ahead worked for me; the engineer slot was the bottleneck.")]),
]  # fmt: skip


def _seed_answers_ideas_and_wiki(users: dict[str, User]) -> None:
    """A solved question with helpful votes, an idea with votes and a status, a wiki page."""
    from sqlalchemy import select

    from forum.boards.models import Post, Thread
    from forum.ideas import services as ideas
    from forum.qa import services as qa
    from forum.wiki import editing as wiki

    wifi = db.session.scalar(select(Thread).where(Thread.title == CONVERSATIONS[0][2]))
    answer = db.session.scalar(select(Post).where(Post.thread_id == wifi.id, Post.position == 3))
    qa.mark_solution(answer, actor=users["maria"])
    qa.set_helpful(answer, actor=users["tom_h"], helpful=True)
    qa.set_helpful(answer, actor=users["priya"], helpful=True)
    idea = boards.start_thread(
        boards.get_board("ideas"), "Let us choose the wifi channel in the app",
        "Many evening drops are channel congestion. A channel picker in the app would save a call.",
        actor=users["tom_h"],
    )  # fmt: skip
    ideas.set_idea_vote(idea, actor=users["maria"], vote=True)
    ideas.set_idea_vote(idea, actor=users["priya"], vote=True)
    ideas.set_idea_status(idea, "under_review", "Passed on to the app team.", actor=users["mod_sam"])
    wiki.create_page(
        "How to stop evening wifi drops",
        "Evening drops with green router lights are usually **channel congestion**.\n\n"
        "1. Open the router page (usually http://192.168.1.1)\n"
        "2. Advanced → Wireless\n"
        "3. Set the 2.4 GHz channel to 1, 6 or 11 and save\n\n"
        "Still dropping? See [[Booking an engineer visit]].",
        actor=users["maria"],
        summary="From the solved thread about evening drops",
        board_id=boards.get_board("broadband").id,
        source_thread=wifi,
        source_post=answer,
    )


@bp.cli.command("seed")
def seed() -> None:
    """Create demo boards, members and threads (once)."""
    if db.session.query(Board.id).first() is not None:
        click.echo("The forum has boards already: demo data not added.")
        return
    # The operator writes the demo conversations in one go: the new-account posting rates
    # (moderation anti-spam) are for members typing, not for this command.
    current_app.config.update(NEW_ACCOUNT_REPLY_INTERVAL=0, NEW_ACCOUNT_THREAD_INTERVAL=0)
    logins: list[tuple[str, str, str]] = []
    users: dict[str, User] = {}
    for username, display_name, role in MEMBERS:
        password = secrets.token_urlsafe(12)
        user = accounts.register_user(username, f"{username}@example.org", password, role=role)
        user.display_name = display_name
        user.created_at = utcnow() - timedelta(days=90)
        user.email_confirmed_at = utcnow()  # demo addresses are not real: no reminder banner
        users[username] = user
        logins.append((username, password, role))
    # -- badges -- jo_staff is a verified employee and replies with the badge.
    company = badges.company_name()  # the configured name, as everywhere else (make run: Example Telecom)
    if company == badges.DEFAULT_COMPANY:
        company = "Example Telecom"  # an unconfigured demo still names a company
    jo_badge = badges.grant_badge(
        users["jo_staff"], actor=users["mod_sam"], reason="Demo data: a verified employee.", company=company
    )
    for name, slug, description, kind in BOARDS:
        boards.create_board(name, slug=slug, description=description, kind=kind)
    for slug, author, title, body, replies in CONVERSATIONS:
        board = boards.get_board(slug)
        thread = boards.start_thread(board, title, body, actor=users[author])
        for replier, text in replies:
            boards.reply(
                thread, text, actor=users[replier], badge=jo_badge if replier == "jo_staff" else None
            )
    _seed_answers_ideas_and_wiki(users)
    _seed_known_problem(users, jo_badge)
    db.session.commit()
    lines = [f"{username:<10} {password}  ({role})" for username, password, role in logins]
    path = Path(current_app.instance_path) / "demo-logins.txt"
    path.write_text("Demo logins (username, password):\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)
    click.echo("Demo data added. Log in as one of these (also in instance/demo-logins.txt):")
    for line in lines:
        click.echo("  " + line)
    click.echo("admin_ada is an administrator; create your own with: flask --app forum users create-admin")


def _seed_known_problem(users: dict[str, User], jo_badge: object) -> None:
    """A known problem to see on /known-issues and /response: the TV board asks for the box
    model, the recordings question is acknowledged by the employee, two members are affected."""
    tv = boards.get_board("tv")
    model = fields.define_field(
        tv,
        fields.FieldDefinition("Box model", "model", "choice", "TV Box 4K\nTV Box Mini", False, 0),
        actor=users["admin_ada"],
    )
    recordings = db.session.scalar(select(Thread).where(Thread.title == CONVERSATIONS[2][2]))
    fields.save_values(recordings, {model.id: "TV Box 4K"}, actor=users["tom_h"], record=False)
    known.set_known_status(recordings, "reported", actor=users["mod_sam"])
    known.set_known_status(
        recordings,
        "acknowledged",
        "The recordings are on the box; the update hides the list. A fix is being tested.",
        actor=users["jo_staff"],
        badge=jo_badge,
    )
    for member in ("maria", "priya"):
        known.set_affected(recordings, actor=users[member], affected=True)
