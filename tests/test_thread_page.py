"""The thread page shows what the permission predicates and the forms say, written out cheaply.

The page asks the predicates with a ThreadViewer (forum.boards.permissions) in place of the
user, which works out the reader's side of each rule once per page: these tests hold every
answer, and every link or button shown, to the predicates asked with the user. The reply box
is written out rather than rendered by WTForms: it is held to what WTForms would write.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import url_for
from flask_login import AnonymousUserMixin
from sqlalchemy import select

from forum.auth.models import User
from forum.boards import permissions as boards_permissions
from forum.boards import services as boards
from forum.boards.forms import ReplyForm
from forum.boards.models import Post, Thread
from forum.boards.permissions import thread_viewer
from forum.db import utcnow
from forum.extensions import db
from forum.moderation import services as moderation
from forum.moderation.flags import can_flag
from forum.qa import permissions as qa_permissions
from forum.qa import services as qa
from tests.factories import login, make_board, make_reply, make_thread
from tests.factories_moderation import make_admin, make_board_moderator, make_member, make_moderator

VIEWERS = ["anonymous", "asker", "replier", "other", "silenced", "silenced_replier", "board_mod",
           "other_board_mod", "moderator", "admin"]  # fmt: skip
POST_PREDICATES = {
    "can_edit_post": boards_permissions.can_edit_post,
    "can_delete_post": boards_permissions.can_delete_post,
    "can_see_post_body": boards_permissions.can_see_post_body,
    "can_vote_helpful": qa_permissions.can_vote_helpful,
    "can_flag": can_flag,
    "can_view_history": moderation.can_view_history,
}


def _build_thread(*, locked: bool) -> tuple[Thread, dict[str, User]]:
    """A question with every kind of post: edited, hidden, deleted by its author and by a
    moderator, the viewer's own, a solution and helpful votes."""
    board = make_board("Broadband", kind="questions")
    users = {
        "asker": make_member("asker"),
        "replier": make_member("replier"),
        "other": make_member("other"),
        "silenced": make_member("silenced", silenced_until=utcnow() + timedelta(days=3)),
        "silenced_replier": make_member("silenced_replier"),
        "board_mod": make_board_moderator(board, "board_mod"),
        "other_board_mod": make_board_moderator(make_board("Billing"), "other_board_mod"),
        "moderator": make_moderator("moderator_one"),
        "admin": make_admin("admin_one"),
    }
    thread = make_thread(board, users["asker"], title="Router drops wifi at night")
    asker, replier, moderator = users["asker"], users["replier"], users["moderator"]
    posts = [
        make_reply(thread, replier, "Try another channel."),
        make_reply(thread, asker, "Which channel?"),
        make_reply(thread, replier, "Channel 6."),
        make_reply(thread, users["silenced_replier"], "Have you tried turning it off?"),
        make_reply(thread, replier, "Spam link"),
        make_reply(thread, replier, "Regrettable"),
        make_reply(thread, users["other"], "Rude words"),
        make_reply(thread, users["board_mod"], "Please keep it civil."),
    ]
    boards.edit_post(posts[2], "Channel 6, or 11.", actor=replier)
    boards.edit_post(posts[1], "Which channel, please?", actor=asker)
    moderation.hide_post(posts[4], "Spam", actor=moderator)
    boards.delete_post(posts[5], actor=replier)
    boards.delete_post(posts[6], actor=moderator)
    qa.mark_solution(posts[2], actor=asker)
    qa.set_helpful(posts[0], actor=users["other"], helpful=True)
    qa.set_helpful(posts[2], actor=users["other"], helpful=True)
    users["silenced_replier"].silenced_until = utcnow() + timedelta(days=3)
    if locked:
        moderation.lock_thread(thread, "Answered", actor=moderator)
    db.session.commit()
    return thread, users


def _viewer_user(users: dict[str, User], name: str) -> Any:
    return AnonymousUserMixin() if name == "anonymous" else users[name]


@pytest.mark.parametrize("locked", [False, True], ids=["open", "locked"])
def test_a_thread_viewer_answers_every_post_predicate_as_its_user(app, locked):
    thread, users = _build_thread(locked=locked)
    posts = list(db.session.scalars(select(Post).where(Post.thread_id == thread.id)))
    with app.test_request_context():
        for name in [*VIEWERS, None]:
            user = None if name is None else _viewer_user(users, name)
            viewer = thread_viewer(user, thread)
            for post in posts:
                for predicate_name, predicate in POST_PREDICATES.items():
                    expected = predicate(user, post)
                    assert predicate(viewer, post) is expected, (name, post.position, predicate_name)
            assert viewer.moderates_board is boards_permissions.is_moderator_of(user, thread.board), name


def test_a_viewer_of_another_thread_is_asked_about_that_posts_thread(app):
    thread, users = _build_thread(locked=False)
    other_thread = make_thread(make_board("Other"), users["other"], title="A thread elsewhere")
    post = make_reply(other_thread, users["replier"], "Elsewhere")
    board_mod_viewer = thread_viewer(users["board_mod"], thread)
    assert boards_permissions.can_edit_post(board_mod_viewer, post) is False  # not this board's moderator
    assert boards_permissions.can_edit_post(thread_viewer(users["replier"], thread), post) is True


def _actions_shown(page: str) -> dict[int, set[str]]:
    """Per post id, the actions and states a reader sees in its <article>."""
    shown: dict[int, set[str]] = {}
    for match in re.finditer(r'<article class="post[^"]*" id="post-(\d+)"(.*?)</article>', page, re.DOTALL):
        post_id, html = int(match.group(1)), match.group(2)
        links = {
            "helpful form": url_for("qa.helpful", post_id=post_id),
            "mark solution": url_for("qa.mark_solution", post_id=post_id),
            "edit": url_for("boards.edit_post", post_id=post_id),
            "delete": url_for("boards.delete_post", post_id=post_id),
            "history": url_for("moderation.post_history", post_id=post_id),
            "flag": url_for("moderation.flag_post", post_id=post_id),
            "hide": url_for("moderation.hide_post", post_id=post_id),
            "restore": url_for("moderation.restore_post", post_id=post_id),
        }
        actions = {name for name, url in links.items() if f'"{url}"' in html}
        if "/solution/remove" in html:
            actions.add("unmark solution")
        if "/mod/users/" in html:
            actions.add("member actions")
        if 'class="post-body"' in html:
            actions.add("body")
        if 'aria-pressed="true"' in html:
            actions.add("voted")
        shown[post_id] = actions
    return shown


def _actions_allowed(user: Any, post: Post, thread: Thread) -> set[str]:
    """What the predicates, asked with the user, let `user` see and do with `post`."""
    allowed = set()
    member = bool(getattr(user, "is_authenticated", False))
    board = thread.board
    if post.is_visible and qa_permissions.can_vote_helpful(user, post):
        allowed.add("helpful form")
        if qa.has_voted(post, user):
            allowed.add("voted")
    if (
        post.is_visible
        and qa_permissions.can_mark_solution(user, thread)
        and qa_permissions.can_be_solution(post)
    ):
        allowed.add("unmark solution" if thread.solution_post_id == post.id else "mark solution")
    if member and boards_permissions.can_edit_post(user, post):
        allowed.add("edit")
    if member and boards_permissions.can_delete_post(user, post):
        allowed.add("delete")
    if member and post.edited_at and moderation.can_view_history(user, post):
        allowed.add("history")
    if member and can_flag(user, post):
        allowed.add("flag")
    if member and boards_permissions.is_moderator_of(user, board) and post.deleted_at is None:
        allowed.add("restore" if post.hidden_at else "hide")
        if user.is_moderator:
            allowed.add("member actions")
    if boards_permissions.can_see_post_body(user, post):
        allowed.add("body")
    return allowed


@pytest.mark.parametrize("locked", [False, True], ids=["open", "locked"])
def test_thread_page_shows_each_reader_exactly_the_actions_the_predicates_allow(app, make_client, locked):
    thread, users = _build_thread(locked=locked)
    posts = list(db.session.scalars(select(Post).where(Post.thread_id == thread.id).order_by(Post.position)))
    assert len(posts) == 9
    for name in VIEWERS:
        client = make_client()
        if name != "anonymous":
            login(client, users[name])
        page = client.get(thread.url).get_data(as_text=True)
        user = _viewer_user(users, name)
        with app.test_request_context():
            shown = _actions_shown(page)
            assert set(shown) == {post.id for post in posts}, name
            for post in posts:
                assert shown[post.id] == _actions_allowed(user, post, thread), (name, post.position)


def test_the_matrix_covers_every_action(app, make_client):
    """Each action is shown to somebody, so the comparison above cannot pass by showing nothing."""
    thread, users = _build_thread(locked=False)
    seen: set[str] = set()
    for name in VIEWERS:
        client = make_client()
        if name != "anonymous":
            login(client, users[name])
        page = client.get(thread.url).get_data(as_text=True)
        with app.test_request_context():
            for actions in _actions_shown(page).values():
                seen |= actions
    assert seen == {"helpful form", "voted", "mark solution", "unmark solution", "edit", "delete", "history",
                    "flag", "hide", "restore", "member actions", "body"}  # fmt: skip


class _Markup(HTMLParser):
    """Tags with their attributes (sorted, whitespace-normalized) and text: what a browser reads."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.items: list[tuple[str, ...]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        normal = sorted((name, " ".join((value or "").split())) for name, value in attrs)
        # The CSRF token is signed with a timestamp; the submission key is new for every form.
        if tag == "input" and (("name", "csrf_token") in normal or ("name", "submission") in normal):
            normal = [(name, "TOKEN" if name == "value" else value) for name, value in normal]
        self.items.append((tag, *(f"{name}={value}" for name, value in normal)))

    def handle_endtag(self, tag: str) -> None:
        self.items.append((f"/{tag}",))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.items.append((" ".join(data.split()),))


def test_the_reply_box_is_what_wtforms_and_render_field_would_write(app, client):
    thread = make_thread(make_board("Broadband"), make_member("asker"), title="Router drops wifi at night")
    login(client, make_member("reader"))
    page = client.get(thread.url).get_data(as_text=True)
    composer = re.search(r'<form [^>]*class="composer"[^>]*>(.*?)</form>', page, re.DOTALL)
    assert composer is not None
    with app.test_request_context():
        form = ReplyForm()
        forms = app.jinja_env.get_template("_macros/forms.html").module
        # What thread.html wrote before: {{ form.csrf_token }} {{ forms.render_field(form.body, rows=8) }}
        # <div class="actions">{{ form.preview(...) }} {{ form.submit(...) }}</div>
        # -- follow -- (issue #15): the box saves drafts (a button, and data-draft-url for the script).
        draft_url = f"/t/{thread.id}/draft"
        expected = (
            f"{form.csrf_token()}{form.submission()}{forms.render_field(form.body, rows=8, **{'data-draft-url': draft_url})}"
            f'<div class="actions">{form.preview(class_="button-secondary")} {form.submit(class_="button")}'
            f' {form.save_draft(class_="button-secondary")} <span class="draft-status" aria-live="polite"></span></div>'
        )
    assert ("input", "id=csrf_token", "name=csrf_token", "type=hidden", "value=TOKEN") in _Markup(
        expected
    ).items
    assert ("input", "id=submission", "name=submission", "type=hidden", "value=TOKEN") in _Markup(
        expected
    ).items
    # The composer.fields slot (uploads' file field and script) is the uploads feature's: test_uploads.
    written = re.sub(r'<div class="field upload-field".*?</script>', "", composer.group(1), flags=re.DOTALL)
    assert written != composer.group(1)
    assert _Markup(written).items == _Markup(expected).items
