"""Findings of the red-team run (issue #21), each reproduced, then fixed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.boards.models import Post
from forum.extensions import db
from forum.notifications.models import Notification
from tests.factories import login, make_board, make_reply, make_thread, recount_counters
from tests.factories_moderation import make_admin, make_member, make_moderator, make_new_member
from tests.factories_wiki import make_page

IMAGES = " ".join(f"![{n}](https://img.example/{n}.png)" for n in range(4))
LINKS = " ".join(f"https://site{n}.example/page" for n in range(6))


def _mention_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.kind == "mention")
    )


# -- new-account rules on edits and wiki pages ---------------------------------------------------


@pytest.fixture
def newcomer_post(client):
    thread = make_thread(make_board("Broadband"), make_member("asker"), title="Router drops wifi")
    user = make_new_member("newbie")
    for name in ("alice", "bob", "carol", "dave", "erin", "frank"):
        make_member(name)
    login(client, user)
    assert client.post(f"/t/{thread.id}/reply", data={"body": "Harmless text."}).status_code == 302
    return db.session.scalar(select(Post).where(Post.author_id == user.id))


def _edit(client, post, body):
    return client.post(f"/p/{post.id}/edit", data={"body": body})


def test_a_new_account_cannot_edit_in_images_or_mentions(client, newcomer_post):
    post = newcomer_post
    response = _edit(client, post, f"Look {IMAGES}")
    assert response.status_code == 422 and "at most 1 image" in response.get_data(as_text=True)
    response = _edit(client, post, "@alice @bob @carol @dave @erin @frank look")
    assert response.status_code == 422 and "mention at most 2 people" in response.get_data(as_text=True)
    db.session.refresh(post)
    assert post.body_source == "Harmless text." and _mention_count() == 0


def test_edits_cannot_rotate_mentions_past_the_limit(client, newcomer_post):
    post = newcomer_post
    assert _edit(client, post, "@alice @bob have a look").status_code == 302
    assert _mention_count() == 2
    assert _edit(client, post, "Never mind.").status_code == 302
    response = _edit(client, post, "@carol @dave have a look")
    assert response.status_code == 422 and "earlier versions" in response.get_data(as_text=True)
    assert _mention_count() == 2


def test_a_new_accounts_edit_with_many_links_is_held_for_review(client, newcomer_post):
    post = newcomer_post
    assert _edit(client, post, f"Deals: {LINKS}").status_code == 302
    db.session.refresh(post)
    assert post.hidden_at is not None and post.hidden_by_id is None
    page = client.get(post.thread.url).get_data(as_text=True)
    assert "Waiting for a moderator" in page and "site5.example" not in page
    moderator = make_moderator("moddy")
    login(client, moderator)
    assert "site5.example" in client.get("/mod/queue").get_data(as_text=True)


def test_established_members_edit_freely(client):
    thread = make_thread(make_board(), make_member("asker"))
    author = make_member("regular")
    post = make_reply(thread, author, "Short.")
    login(client, author)
    assert _edit(client, post, f"{IMAGES} {LINKS} @a_1 @b_2 @c_3").status_code == 302
    db.session.refresh(post)
    assert post.hidden_at is None and post.body_source.startswith("![0]")


@pytest.fixture
def wiki_newcomer(app, client):
    app.config.update(WIKI_MIN_ACCOUNT_AGE_DAYS=0, WIKI_MIN_POSTS=0)
    page = make_page("Reset your router", " ".join(f"https://old{n}.example" for n in range(5)))
    login(client, make_new_member("newbie"))
    return page


def test_a_new_account_cannot_add_many_links_images_or_mentions_to_the_wiki(client, wiki_newcomer):
    page = wiki_newcomer
    base = {"base_revision_id": str(page.current_revision_id)}
    for body, message in (
        (f"New page {LINKS}", "add at most 2 links"),
        (f"New page {IMAGES}", "at most 1 image"),
        ("@alice @bob @carol look", "mention at most 2 people"),
    ):
        response = client.post("/wiki/new", data={"title": "A newcomer's page", "body": body})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        response = client.post(f"/wiki/{page.slug}/edit", data={"body": body, **base})
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    # The links the page already had do not count against the newcomer.
    kept = page.current_revision.body_source + "\n\nAlso unplug the phone line."
    assert client.post(f"/wiki/{page.slug}/edit", data={"body": kept, **base}).status_code == 302


# -- flags ---------------------------------------------------------------------------------------


def _flag(make_client, post, user):
    browser = make_client()
    login(browser, user)
    return browser.post(f"/p/{post.id}/flag", data={"reason": "spam"})


@pytest.mark.parametrize("author_kind", ["admin", "member"])
def test_flags_from_new_accounts_do_not_hide_a_post(make_client, author_kind):
    thread = make_thread(make_board(), make_member("asker"))
    author = make_admin("boss") if author_kind == "admin" else make_member("target")
    post = make_reply(thread, author, "A fine answer.")
    for index in range(3):
        assert _flag(make_client, post, make_new_member(f"sock{index}")).status_code == 302
    db.session.refresh(post)
    assert post.hidden_at is None
    moderator = make_client()
    login(moderator, make_moderator("moddy"))
    assert "A fine answer." in moderator.get("/mod/queue").get_data(as_text=True)  # still reviewed


def test_staff_posts_are_never_hidden_by_flags(make_client):
    thread = make_thread(make_board(), make_member("asker"))
    post = make_reply(thread, make_moderator("moddy"), "Please stay on topic.")
    for _ in range(3):
        _flag(make_client, post, make_member())
    db.session.refresh(post)
    assert post.hidden_at is None


def test_an_automatic_hide_says_so(client, make_client):
    thread = make_thread(make_board(), make_member("asker"))
    post = make_reply(thread, make_member("spammer"), "Buy cheap routers")
    for _ in range(3):
        _flag(make_client, post, make_member())
    page = client.get(thread.url).get_data(as_text=True)
    assert "Hidden after members&#39; flags, awaiting review." in page
    assert "Hidden by a moderator" not in page and "Buy cheap routers" not in page


# -- low findings --------------------------------------------------------------------------------


@pytest.fixture
def limited(app_config):
    app_config.update(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_POSTING="2 per minute"
    )
    return app_config


@pytest.mark.parametrize("who", ["member", "anonymous"])
def test_a_bad_csrf_post_after_the_posting_limit_is_not_a_500(limited, client, who):
    thread = make_thread(make_board("Broadband"), make_member("asker"))
    if who == "member":
        login(client, make_member("fast"))
    statuses = [
        client.post(
            f"/t/{thread.id}/reply", data={"body": "Hello", "csrf_token": "forged"}, csrf=False
        ).status_code
        for _ in range(4)
    ]
    assert 500 not in statuses
    assert statuses[-1] == 429


@pytest.mark.parametrize(
    ("url", "statuses"),
    [
        ("/u/a%00b", {404}),
        ("/b/a%00b", {404}),
        ("/b/a%00b/new", {404, 302}),
        ("/feeds/u/a%00b.atom", {404}),
        ("/feeds/b/a%00b.atom", {404}),
        ("/wiki/a%00b", {404}),
        ("/mod/log?action=%00", {400}),
        ("/mod/log?actor=a%00b&user=x", {400}),
        ("/mod/log?board=%00", {400}),
        ("/search?q=a%00b", {400}),
    ],
)
def test_nul_bytes_in_paths_and_filters_are_not_a_500(client, url, statuses):
    login(client, make_moderator("moddy"))
    assert client.get(url).status_code in statuses


def test_a_text_field_sent_as_a_file_is_a_400(client):
    from io import BytesIO

    make_board("Broadband", slug="broadband")
    login(client, make_member("writer"))
    response = client.post(
        "/b/broadband/new",
        data={"title": "A fine title", "body": (BytesIO(b"file body"), "body.txt")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400 and "takes no files" in response.get_data(as_text=True)


def test_control_and_bidi_characters_leave_titles_and_feeds_stay_valid_xml(client):
    import feedparser

    make_board("Broadband", slug="broadband")
    author = make_member("writer")
    login(client, author)
    title = "Router\x01 \u202eevil\u202c drops\x1f wifi"
    response = client.post("/b/broadband/new", data={"title": title, "body": "Body\x01 text"})
    assert response.status_code == 302
    thread = db.session.scalar(select(Post).where(Post.author_id == author.id)).thread
    assert thread.title == "Router evil drops wifi"
    for url in (
        "/feeds/latest.atom",
        "/feeds/b/broadband.atom",
        f"/feeds/t/{thread.id}.atom",
        "/feeds/u/writer.atom",
    ):
        feed = feedparser.parse(client.get(url).get_data())
        assert not feed.bozo, (url, feed.bozo_exception)
        assert feed.entries and "Router evil drops wifi" in feed.entries[0].title


def test_a_thread_cannot_be_closed_as_a_duplicate_of_one_its_moderator_cannot_see(client):
    from tests.factories_moderation import make_board_moderator

    public = make_board("Public")
    other = make_board("Other")
    hidden = make_thread(other, make_member("asker"), title="Secret hidden title")
    hidden.hidden_at = hidden.created_at
    db.session.commit()
    recount_counters()  # hidden by hand: its board no longer counts it
    thread = make_thread(public, make_member("asker2"), title="Router drops wifi")
    login(client, make_board_moderator(public, "boardmod"))
    response = client.post(f"/t/{thread.id}/duplicate", data={"duplicate-original": str(hidden.id)})
    assert response.status_code == 422
    assert "There is no such thread" in response.get_data(as_text=True)
    db.session.refresh(thread)
    assert thread.duplicate_of_id is None and not thread.is_locked
    anonymous = client.application.test_client()
    assert "Secret hidden title" not in anonymous.get(thread.url).get_data(as_text=True)


def test_registration_does_not_say_whether_an_address_has_an_account(make_client):
    from forum.mail.models import OutgoingMail

    make_member("owner", email="owner@example.org")
    answers = []
    for username, email in (("fresh_one", "fresh@example.org"), ("prober", "OWNER@example.org")):
        browser = make_client()
        response = browser.post(
            "/register", data={"username": username, "email": email, "password": "a long enough password 1"}
        )
        page = browser.get(response.headers.get("Location", "/")).get_data(as_text=True)
        answers.append((response.status_code, "Welcome to the forum" in page, email.lower() in page.lower()))
    assert answers[0] == answers[1] == (302, True, True)
    mails = {mail.recipient: mail for mail in db.session.scalars(select(OutgoingMail))}
    assert set(mails) == {"fresh@example.org", "owner@example.org"}
    assert "prober" in mails["owner@example.org"].text_body
    assert "already belongs to your account" in mails["owner@example.org"].text_body


def test_the_login_throttle_counts_the_account_whatever_name_is_typed(limited, client):
    from tests.factories import PASSWORD

    make_member("victim", email="victim@example.org")
    names = ["victim", "victim@example.org", "VICTIM", "Victim@Example.org", "victim"]
    for index, name in enumerate(names):
        data = {"login": name, "password": "wrong password"}
        assert (
            client.post("/login", data=data, environ_base={"REMOTE_ADDR": f"10.0.0.{index}"}).status_code
            == 422
        )
    right = client.post("/login", data={"login": "victim@example.org", "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.0.9.9"})  # fmt: skip
    assert right.status_code == 429


@pytest.mark.parametrize(
    ("display_name", "message"),
    [
        ("Sam (moderator)", "cannot say “moderator”"),
        ("Forum ADMIN", "cannot say “moderator”"),
        ("Ｓｔａｆｆ Sam", "cannot say “moderator”"),
        ("Other_Member", "another member&#39;s username"),
        ("other member", "another member&#39;s username"),
    ],
)
def test_display_names_cannot_pose_as_staff_or_other_members(client, display_name, message):
    make_member("other_member")
    user = make_member("sam")
    login(client, user)
    response = client.post("/settings", data={"profile-display_name": display_name, "profile-bio": ""})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.display_name == ""


def test_display_names_lose_bidi_controls_and_staff_keep_their_words(client):
    user = make_moderator("moddy")
    login(client, user)
    response = client.post(
        "/settings", data={"profile-display_name": "Mod\u202e Sam\u2066", "profile-bio": ""}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.display_name == "Mod Sam"
