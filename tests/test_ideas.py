"""Ideas boards through HTTP: votes within a budget, statuses with history, sorting and filters."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from forum.extensions import db
from forum.ideas import services as ideas
from forum.ideas.models import Idea, IdeaStatusChange, IdeaVote
from forum.moderation.models import AuditEntry
from tests.factories import login, make_reply, make_user
from tests.factories_qa import make_idea, make_ideas_board, set_status, vote_idea


def vote_rows(user=None) -> int:
    query = select(func.count()).select_from(IdeaVote)
    if user is not None:
        query = query.where(IdeaVote.user_id == user.id)
    return db.session.scalar(query) or 0


def idea_of(thread) -> Idea:
    db.session.expire_all()
    return db.session.get(Idea, thread.id)


@pytest.fixture
def budget_of_three(app_config):
    app_config["IDEA_VOTES_PER_MEMBER"] = 3


def test_new_thread_in_an_ideas_board_is_a_new_idea(client):
    make_ideas_board(slug="ideas")
    author = make_user()
    login(client, author)
    response = client.post(
        "/b/ideas/new", data={"title": "Dark mode please", "body": "My eyes.", "submit": "x"}
    )
    assert response.status_code == 302
    thread_id = int(response.headers["Location"].split("/")[2])
    idea = db.session.get(Idea, thread_id)
    assert (idea.status, idea.vote_count) == ("new", 0)
    page = client.get("/b/ideas").get_data(as_text=True)
    assert "Dark mode please" in page and 'tag-idea-new">New</span>' in page
    assert "Suggest an idea" in page


def test_member_votes_and_takes_the_vote_back(client):
    board = make_ideas_board()
    thread = make_idea(board)
    voter = make_user()
    login(client, voter)

    response = client.post(f"/t/{thread.id}/vote", data={"vote": "1"})
    assert response.status_code == 302 and response.headers["Location"] == thread.url
    assert idea_of(thread).vote_count == 1 and vote_rows() == 1
    page = client.get(thread.url).get_data(as_text=True)
    assert "Voted ✓" in page and "<strong>1</strong> vote" in page and "You have 9 of 10 votes left." in page

    client.post(f"/t/{thread.id}/vote", data={"vote": "1"})  # repeated click: nothing changes
    assert idea_of(thread).vote_count == 1 and vote_rows() == 1
    client.post(f"/t/{thread.id}/vote", data={"vote": "0", "next": board.url + "?sort=newest"})
    assert idea_of(thread).vote_count == 0 and vote_rows() == 0
    response = client.post(f"/t/{thread.id}/vote", data={"next": "https://evil.example/"})  # toggles
    assert response.headers["Location"] == thread.url
    assert idea_of(thread).vote_count == 1


def test_vote_answers_json_for_the_script(client):
    thread = make_idea(make_ideas_board())
    login(client, make_user())
    response = client.post(f"/t/{thread.id}/vote", data={"vote": "1"}, headers={"Accept": "application/json"})
    assert response.get_json() == {"thread_id": thread.id, "voted": True, "count": 1, "votes_left": 9}


@pytest.mark.parametrize("who", ["author", "anonymous", "no csrf"])
def test_vote_refusals_change_nothing(client, who):
    author = make_user()
    thread = make_idea(make_ideas_board(), author)
    if who == "author":
        login(client, author)
        response = client.post(f"/t/{thread.id}/vote", data={"vote": "1"})
        assert response.status_code == 403 and "your own idea" in response.get_data(as_text=True)
        assert f"/t/{thread.id}/vote" not in client.get(thread.url).get_data(as_text=True)
    elif who == "anonymous":
        response = client.post(f"/t/{thread.id}/vote", data={"vote": "1"})
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        login(client, make_user())
        assert client.post(f"/t/{thread.id}/vote", data={"vote": "1"}, csrf=False).status_code == 400
    assert vote_rows() == 0 and idea_of(thread).vote_count == 0


def test_votes_only_on_ideas(client):
    from tests.factories import make_thread

    thread = make_thread()  # a question board
    login(client, make_user())
    assert client.post(f"/t/{thread.id}/vote", data={"vote": "1"}).status_code == 404
    assert client.post(f"/t/{thread.id}/vote", data={"vote": "maybe"}).status_code == 400
    assert vote_rows() == 0


def test_budget_of_active_votes_is_returned_when_an_idea_closes(budget_of_three, client):
    board = make_ideas_board()
    moderator = make_user(role="moderator")
    threads = [make_idea(board, title=f"Idea number {index}") for index in range(4)]
    voter = make_user()
    login(client, voter)
    for thread in threads[:3]:
        assert client.post(f"/t/{thread.id}/vote", data={"vote": "1"}).status_code == 302

    response = client.post(f"/t/{threads[3].id}/vote", data={"vote": "1"})
    assert response.status_code == 409
    assert "all 3 of your votes" in response.get_data(as_text=True)
    assert vote_rows(voter) == 3 and idea_of(threads[3]).vote_count == 0
    assert "You have 0 of 3 votes left." in client.get(board.url).get_data(as_text=True)

    set_status(threads[0], "done", moderator, note="Shipped in version 2.")
    assert ideas.active_vote_count(voter) == 2
    assert client.post(f"/t/{threads[3].id}/vote", data={"vote": "1"}).status_code == 302
    assert vote_rows(voter) == 4 and idea_of(threads[0]).vote_count == 1  # the closed idea keeps its count
    # Votes on a closed idea are a record: they cannot be added or taken back.
    assert client.post(f"/t/{threads[0].id}/vote", data={"vote": "0"}).status_code == 409
    other = make_user()
    login(client, other)
    assert client.post(f"/t/{threads[0].id}/vote", data={"vote": "1"}).status_code == 409
    assert idea_of(threads[0]).vote_count == 1
    # Declined ideas return votes too.
    set_status(threads[1], "declined", moderator)
    assert ideas.active_vote_count(voter) == 2


def test_reopening_an_idea_can_leave_a_member_over_budget(budget_of_three, client):
    board = make_ideas_board()
    moderator = make_user(role="moderator")
    threads = [make_idea(board, title=f"Idea number {index}") for index in range(4)]
    voter = make_user()
    vote_idea(threads[0], voter)
    set_status(threads[0], "declined", moderator)
    for thread in threads[1:]:
        vote_idea(thread, voter)
    set_status(threads[0], "under_review", moderator, note="Looking again.")
    assert ideas.active_vote_count(voter) == 4
    login(client, voter)
    assert "You have 0 of 3 votes left." in client.get(threads[0].url).get_data(as_text=True)
    client.post(f"/t/{threads[1].id}/vote", data={"vote": "0"})
    assert ideas.active_vote_count(voter) == 3


def test_moderator_sets_status_with_a_note_shown_in_thread_and_list(client):
    board = make_ideas_board()
    author = make_user()
    thread = make_idea(board, author, title="Export my bills as CSV")
    moderator = make_user("sam_mod", role="moderator")
    login(client, moderator)
    page = client.get(thread.url).get_data(as_text=True)
    assert "Set status" in page

    response = client.post(
        f"/t/{thread.id}/status", data={"status": "planned", "note": "Coming in <b>spring</b>."}
    )
    assert response.status_code == 302 and response.headers["Location"] == thread.url
    client.post(f"/t/{thread.id}/status", data={"status": "in_progress", "note": ""})

    assert idea_of(thread).status == "in_progress"
    history = db.session.scalars(select(IdeaStatusChange).order_by(IdeaStatusChange.id)).all()
    assert [(c.old_status, c.new_status, c.note) for c in history] == [
        ("new", "planned", "Coming in <b>spring</b>."), ("planned", "in_progress", ""),
    ]  # fmt: skip
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.action, e.details, e.affected_user_id) for e in entries] == [
        ("set idea status", "New → Planned", author.id), ("set idea status", "Planned → In progress", author.id),
    ]  # fmt: skip

    page = client.get(thread.url).get_data(as_text=True)
    assert "Status history" in page
    assert "Coming in &lt;b&gt;spring&lt;/b&gt;." in page and "<b>spring" not in page
    assert re.search(r'tag-idea-in_progress">In progress</span>', page)
    listing = client.get(board.url).get_data(as_text=True)
    assert 'tag-idea-in_progress">In progress</span>' in listing


@pytest.mark.parametrize("who", ["author", "other member", "anonymous"])
def test_only_moderators_set_status(client, who):
    author = make_user()
    thread = make_idea(make_ideas_board(), author)
    if who == "author":
        login(client, author)
    elif who == "other member":
        login(client, make_user())
    response = client.post(f"/t/{thread.id}/status", data={"status": "done", "note": "Mine!"})
    if who == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403
        assert "Set status" not in client.get(thread.url).get_data(as_text=True)
    assert idea_of(thread).status == "new"
    assert db.session.scalar(select(func.count()).select_from(IdeaStatusChange)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_bad_status_input_keeps_the_text(client):
    thread = make_idea(make_ideas_board())
    login(client, make_user(role="moderator"))
    response = client.post(f"/t/{thread.id}/status", data={"status": "shipped", "note": "my careful note"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose one of" in page and 'value="my careful note"' in page
    response = client.post(f"/t/{thread.id}/status", data={"status": "new", "note": ""})
    assert response.status_code == 422 and "new already" in response.get_data(as_text=True)
    response = client.post(f"/t/{thread.id}/status", data={"status": "planned", "note": "x" * 501})
    assert response.status_code == 422
    response = client.post(f"/t/{thread.id}/status", data={"status": "planned", "note": "nul\x00byte"})
    assert response.status_code == 422 and "NUL" in response.get_data(as_text=True)
    response = client.post(f"/t/{thread.id}/status", data={"status": "plan\x00ned"})
    assert response.status_code == 422
    assert client.post(f"/t/{thread.id}/status", data={"status": "planned"}, csrf=False).status_code == 400
    assert idea_of(thread).status == "new"
    assert client.get(f"/t/{thread.id}/status").status_code == 200


def test_sorting_and_status_filter(client):
    board = make_ideas_board(slug="ideas")
    moderator = make_user(role="moderator")
    popular = make_idea(board, title="Popular idea")
    quiet = make_idea(board, title="Quiet idea")
    newest = make_idea(board, title="Newest idea")
    for _ in range(3):
        vote_idea(popular, make_user())
    vote_idea(quiet, make_user())
    make_reply(quiet, make_user(), "Bump")  # most recently active
    set_status(popular, "planned", moderator)

    def order(url: str) -> list[str]:
        page = client.get(url).get_data(as_text=True)
        return re.findall(r'class="thread-title" href="[^"]+">([^<]+)</a>', page)

    assert order("/b/ideas") == ["Popular idea", "Quiet idea", "Newest idea"]
    assert order("/b/ideas?sort=newest") == ["Newest idea", "Quiet idea", "Popular idea"]
    assert order("/b/ideas?sort=active") == ["Quiet idea", "Newest idea", "Popular idea"]
    assert order("/b/ideas?status=planned") == ["Popular idea"]
    assert order("/b/ideas?sort=newest&status=new") == ["Newest idea", "Quiet idea"]
    assert "No ideas are done right now." in client.get("/b/ideas?status=done").get_data(as_text=True)
    assert client.get("/b/ideas?sort=loudest").status_code == 400
    assert client.get("/b/ideas?status=shipped").status_code == 400
    assert client.get("/b/ideas?page=7").status_code == 404
    assert newest.id  # listed with 0 votes


def test_ideas_board_queries_are_bounded(client, count_queries):
    board = make_ideas_board(slug="ideas")
    voter = make_user()
    for index in range(15):
        thread = make_idea(board, title=f"Idea number {index}")
        if index % 2:
            vote_idea(thread, voter)
    login(client, voter)
    for url in ("/b/ideas", "/b/ideas?status=new&sort=newest"):
        client.get(url)
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        assert counter.count <= 6, counter.report()


def test_idea_thread_page_queries_are_bounded(client, count_queries):
    board = make_ideas_board()
    moderator = make_user(role="moderator")
    thread = make_idea(board)
    for status in ("under_review", "planned", "in_progress"):
        set_status(thread, status, moderator, note="Progress.")
    for _ in range(5):
        make_reply(thread, make_user())
    login(client, moderator)
    url = thread.url
    client.get(url)
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    # thread, posts, session, helpful votes, idea, status history, own vote, vote budget,
    # watch level, promoted wiki page, own employee badge: one query each, whatever the size;
    # and, for moderators only, the merged-thread check before the view.
    assert counter.count <= 12, counter.report()
    for _ in range(5):
        make_reply(thread, make_user())
    set_status(thread, "planned", moderator, note="Again.")
    client.get(url)  # as before the first count: the visit to the new posts is recorded (one upsert)
    with count_queries() as again:
        assert client.get(url).status_code == 200
    assert again.count == counter.count, again.report()


def test_threads_that_became_ideas_later_get_an_idea_row(client):
    from tests.factories import make_board, make_thread

    board = make_board(kind="discussion")
    thread = make_thread(board, title="An old discussion")
    board.kind = "ideas"
    db.session.commit()
    assert db.session.get(Idea, thread.id) is None
    assert "An old discussion" in client.get(board.url).get_data(as_text=True)
    login(client, make_user())
    assert client.post(f"/t/{thread.id}/vote", data={"vote": "1"}).status_code == 302
    assert idea_of(thread).vote_count == 1


def test_recount_includes_idea_votes(app, runner):
    thread = make_idea(make_ideas_board())
    vote_idea(thread, make_user())
    idea = db.session.get(Idea, thread.id)
    idea.vote_count = 40
    db.session.commit()
    assert "1 counter row(s) corrected" in runner.invoke(args=["qa", "recount"]).output
    assert idea_of(thread).vote_count == 1


def test_idea_page_for_moderators_has_unique_ids_and_labels(client):
    thread = make_idea(make_ideas_board())
    make_reply(thread, make_user())
    login(client, make_user(role="moderator"))
    page = client.get(thread.url).get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert '<label for="status">Status</label>' in page and '<label for="note">' in page


def test_verified_employees_set_status_but_not_once_the_badge_is_revoked(client):
    from forum.badges import granting
    from tests.factories_badges import make_employee

    thread = make_idea(make_ideas_board(), make_user())
    employee = make_employee("jo_at_work")
    login(client, employee)
    response = client.post(
        f"/t/{thread.id}/status", data={"status": "under_review", "note": "Asked the product team."}
    )
    assert response.status_code == 302
    assert idea_of(thread).status == "under_review"
    moderator = make_user(role="moderator")
    granting.revoke_badge(employee, actor=moderator, reason="Left the company")
    db.session.commit()
    response = client.post(f"/t/{thread.id}/status", data={"status": "done", "note": "Shipped"})
    assert response.status_code == 403
    assert idea_of(thread).status == "under_review"
