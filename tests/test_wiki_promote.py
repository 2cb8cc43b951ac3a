"""Promoting a thread into a wiki page: the draft, the credits, and links both ways."""

from __future__ import annotations

from sqlalchemy import select

from forum.extensions import db
from forum.wiki.models import WikiPage, WikiRevision
from tests.factories import login, make_reply, make_thread, make_user, recount_counters
from tests.factories_wiki import make_editor


def solved_thread():  # noqa: ANN201
    asker, helper, chatter = make_user("asker"), make_user("helper"), make_user("chatter")
    thread = make_thread(
        author=asker, title="Router drops wifi every evening", body="My router drops **wifi** at 8pm."
    )
    make_reply(thread, chatter, body="Same here!")
    answer = make_reply(thread, helper, body="Change the wifi channel to 1, 6 or 11.")
    thread.solution_post_id = answer.id
    db.session.commit()
    recount_counters()
    return thread, answer


def test_draft_holds_question_accepted_answer_and_credits(client):
    thread, answer = solved_thread()
    login(client, make_editor("writer"))
    html = client.get(f"/wiki/promote/{thread.id}").get_data(as_text=True)
    assert "My router drops **wifi** at 8pm." in html
    assert "Change the wifi channel to 1, 6 or 11." in html
    assert "Same here!</textarea>" not in html and "## The answer" in html
    assert f"_Adapted from the thread [Router drops wifi every evening]({thread.url}) " in html
    assert "(question by @asker, answer by @helper)._" in html
    assert 'value="Router drops wifi every evening"' in html  # the title, editable


def test_promoting_creates_a_page_that_credits_and_links_back(client):
    thread, answer = solved_thread()
    login(client, make_editor("writer"))
    draft = client.get(f"/wiki/promote/{thread.id}").get_data(as_text=True)
    assert "accepted" in draft
    response = client.post(
        f"/wiki/promote/{thread.id}",
        data={
            "title": "Stop wifi drops in the evening",
            "board_id": thread.board_id,
            "body": "Change the **channel**.",
            "summary": "",
            "submit": "Save",
        },  # fmt: skip
    )
    assert (
        response.status_code == 302 and response.headers["Location"] == "/wiki/stop-wifi-drops-in-the-evening"
    )
    page = db.session.scalar(select(WikiPage))
    assert (page.source_thread_id, page.source_post_id, page.board_id) == (
        thread.id,
        answer.id,
        thread.board_id,
    )
    revision = db.session.get(WikiRevision, page.current_revision_id)
    assert (
        revision.summary
        == "Promoted from the thread “Router drops wifi every evening” (question by @asker, answer by @helper)"
    )
    shown = client.get(page.url).get_data(as_text=True)
    # The credit stays even when editors rewrite the text.
    assert f'Based on the thread <a href="{thread.url}">Router drops wifi every evening</a>' in shown
    assert (
        'question by <a href="/u/asker">asker</a>' in shown
        and 'answer by <a href="/u/helper">helper</a>' in shown
    )
    thread_html = client.get(thread.url).get_data(as_text=True)
    assert (
        'This thread is written up in the wiki: <a href="/wiki/stop-wifi-drops-in-the-evening">'
        in thread_html
    )


def test_a_chosen_reply_replaces_the_accepted_one(client):
    thread, answer = solved_thread()
    other = make_reply(thread, make_user("expert"), body="Or move the router away from the microwave.")
    login(client, make_editor("writer"))
    html = client.get(f"/wiki/promote/{thread.id}?post={other.id}").get_data(as_text=True)
    assert "Or move the router away from the microwave." in html and "answer by @expert" in html
    assert "Change the wifi channel" not in html.split("<textarea")[1]
    response = client.post(
        f"/wiki/promote/{thread.id}?post={other.id}",
        data={"title": "Microwave interference", "board_id": 0, "body": "Move it.", "submit": "Save"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(WikiPage.source_post_id)) == other.id


def test_unsolved_thread_drafts_the_question_only(client):
    thread = make_thread(author=make_user("asker"), title="Which plan is best", replies=2)
    login(client, make_editor("writer"))
    html = client.get(f"/wiki/promote/{thread.id}").get_data(as_text=True)
    assert "no accepted answer, so choose a reply" in html and "(question by @asker)._" in html


def test_bad_promotions_answer_clearly(client):
    thread, answer = solved_thread()
    elsewhere = make_thread(title="Another thread", replies=1)
    login(client, make_editor("writer"))
    foreign = elsewhere.last_post_id
    for url, status, message in [
        ("/wiki/promote/999999", 404, "no such thread"),
        (f"/wiki/promote/{thread.id}?post={foreign}", 422, "not a visible reply"),
        (f"/wiki/promote/{thread.id}?post=abc", 400, "whole number"),
    ]:
        response = client.get(url)
        assert response.status_code == status, url
        assert message in response.get_data(as_text=True), url
    client.post(
        f"/wiki/promote/{thread.id}",
        data={"title": "Wifi guide", "board_id": 0, "body": "x", "submit": "Save"},
    )
    response = client.post(
        f"/wiki/promote/{thread.id}",
        data={"title": "Wifi guide", "board_id": 0, "body": "y", "submit": "Save"},
    )
    assert response.status_code == 409 and "exists already" in response.get_data(as_text=True)
    assert len(db.session.scalars(select(WikiPage)).all()) == 1
