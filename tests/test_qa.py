"""Accepted solutions, helpful votes, reputation and the unsolved/unanswered lists, through HTTP."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from forum import events
from forum.auth.models import User
from forum.boards import services as boards
from forum.extensions import db
from forum.moderation.models import AuditEntry
from forum.moderation.services import delete_thread
from forum.qa import services as qa
from forum.qa.models import HelpfulVote
from tests.factories import login, make_board, make_reply, make_thread, make_user
from tests.factories_moderation import make_moderator
from tests.factories_qa import make_question, mark, vote_helpful


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def vote_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(HelpfulVote)) or 0


@pytest.fixture
def received():
    """Collect the Q&A signals sent during the test (what the notifications feature will receive)."""
    seen: list[tuple[str, dict]] = []

    def on_solution(sender, **kwargs):
        seen.append(("solution", {"sender": sender.username, "post": kwargs["post"] and kwargs["post"].id}))

    def on_vote(sender, **kwargs):
        seen.append(
            ("vote", {"sender": sender.username, "post": kwargs["post"].id, "added": kwargs["added"]})
        )

    events.solution_marked.connect(on_solution)
    events.post_voted.connect(on_vote)
    yield seen
    events.solution_marked.disconnect(on_solution)
    events.post_voted.disconnect(on_vote)


# -- accepted solutions ------------------------------------------------------------------------


def make_client_page(url: str) -> str:
    """The page as a visitor sees it (no session)."""
    from flask import current_app

    return current_app.test_client().get(url).get_data(as_text=True)


def test_asker_marks_a_solution_shown_under_the_opening_post(client, received):
    asker = make_user("asker")
    thread, (answer,) = make_question(asker)
    solver = answer.author
    solver.display_name = "Helpful Hannah"
    db.session.commit()
    login(client, asker)

    response = client.post(f"/p/{answer.id}/solution")

    assert response.status_code == 302
    assert response.headers["Location"] == f"{thread.url}#post-{answer.id}"
    assert thread.solution_post_id == answer.id and thread.is_solved
    page = client.get(thread.url).get_data(as_text=True)
    opening_end = page.index("</article>")
    notice = page.index("Accepted answer")  # the answer itself under the question (issue #15)
    assert notice > opening_end and notice < page.index(f'id="post-{answer.id}"')
    block = page[notice : page.index("</aside>", notice)]
    assert f'<a href="/u/{solver.username}">Helpful Hannah</a>' in block
    assert re.search(rf'<a href="/p/{answer.id}">Read (the whole answer )?in context</a>', block)
    assert "Unmark solution" in page
    # "Solution" in the answer's own header, and in no other post's (also for a visitor).
    for shown in (page, make_client_page(thread.url)):
        headers = re.findall(r'<header class="post-header" id="post-(\d+)-meta">(.*?)</header>', shown, re.S)
        assert [int(post_id) for post_id, header in headers if "tag-solved" in header] == [answer.id]
        assert "Reputation: helpful votes and solutions" in dict(headers)[str(answer.id)]
    assert client.get(f"/p/{answer.id}").headers["Location"] == f"{thread.url}#post-{answer.id}"
    board_page = client.get(thread.board.url).get_data(as_text=True)
    assert 'aria-label="Solved"' in board_page
    assert (solver.solution_count, solver.reputation) == (1, 10)
    assert audit_actions() == []  # the asker's own choice is not a moderator action
    assert received == [("solution", {"sender": "asker", "post": answer.id})]


def test_moderator_choice_is_audited_for_the_asker(client, received):
    asker, moderator = make_user(), make_user("sam_mod", role="moderator")
    thread, (answer,) = make_question(asker)
    login(client, moderator)

    assert client.post(f"/p/{answer.id}/solution").status_code == 302
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.actor_id, entry.target_id, entry.affected_user_id) == (
        "chose the solution", moderator.id, answer.id, asker.id,
    )  # fmt: skip
    assert client.post(f"/t/{thread.id}/solution/remove").status_code == 302
    assert audit_actions() == ["chose the solution", "unmarked the solution"]
    assert thread.solution_post_id is None
    assert received == [
        ("solution", {"sender": "sam_mod", "post": answer.id}),
        ("solution", {"sender": "sam_mod", "post": None}),
    ]


@pytest.mark.parametrize("who", ["other member", "anonymous", "answerer"])
def test_only_asker_or_moderator_can_mark(client, who):
    asker = make_user()
    thread, (answer,) = make_question(asker)
    if who == "other member":
        login(client, make_user())
    elif who == "answerer":
        login(client, answer.author)

    response = client.post(f"/p/{answer.id}/solution")
    unmark = client.post(f"/t/{thread.id}/solution/remove")

    if who == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert unmark.status_code == 302 and "/login" in unmark.headers["Location"]
    else:
        assert response.status_code == 403 and unmark.status_code == 403
        assert "Only the person who asked or a moderator" in response.get_data(as_text=True)
    assert thread.solution_post_id is None
    assert answer.author.reputation == 0 and audit_actions() == []
    page = client.get(thread.url).get_data(as_text=True)
    assert "This solved it" not in page


def test_marking_needs_a_csrf_token_and_a_post(client):
    asker = make_user()
    thread, (answer,) = make_question(asker)
    login(client, asker)
    assert client.post(f"/p/{answer.id}/solution", csrf=False).status_code == 400
    assert client.get(f"/p/{answer.id}/solution").status_code == 405
    assert thread.solution_post_id is None


def test_asker_sees_this_solved_it_on_replies_only(client):
    asker = make_user()
    thread, replies = make_question(asker, answerers=2)
    login(client, asker)
    page = client.get(thread.url).get_data(as_text=True)
    assert page.count("This solved it") == 2
    assert f"/p/{thread.last_post_id}/solution" in page


def test_changing_and_unmarking_moves_the_credit(client):
    asker = make_user()
    thread, (first, second) = make_question(asker, answerers=2)
    login(client, asker)

    client.post(f"/p/{first.id}/solution")
    client.post(f"/p/{first.id}/solution")  # the same choice twice earns nothing extra
    assert (first.author.solution_count, first.author.reputation) == (1, 10)
    client.post(f"/p/{second.id}/solution")
    assert thread.solution_post_id == second.id
    assert (first.author.solution_count, first.author.reputation) == (0, 0)
    assert (second.author.solution_count, second.author.reputation) == (1, 10)
    client.post(f"/t/{thread.id}/solution/remove")
    assert thread.solution_post_id is None and second.author.reputation == 0
    assert "Accepted answer" not in client.get(thread.url).get_data(as_text=True)


def test_the_question_itself_cannot_be_the_solution(client):
    asker = make_user()
    thread, _ = make_question(asker)
    opening = boards.thread_posts(thread, 1, 1)[0]
    login(client, asker)
    response = client.post(f"/p/{opening.id}/solution")
    assert response.status_code == 422
    assert thread.solution_post_id is None


def test_boards_that_are_not_questions_have_no_solutions(client):
    asker = make_user()
    thread, (answer,) = make_question(asker, board=make_board(kind="discussion"))
    login(client, asker)
    assert "This solved it" not in client.get(thread.url).get_data(as_text=True)
    response = client.post(f"/p/{answer.id}/solution")
    assert response.status_code == 403
    assert "not questions" in response.get_data(as_text=True)


def test_answering_your_own_question_solves_it_but_earns_nothing(client):
    asker = make_user()
    thread, _ = make_question(asker)
    own = make_reply(thread, asker, "Fixed it myself: channel 11.")
    login(client, asker)
    assert client.post(f"/p/{own.id}/solution").status_code == 302
    assert thread.is_solved
    assert (asker.solution_count, asker.reputation) == (0, 0)
    client.post(f"/t/{thread.id}/solution/remove")
    assert (asker.solution_count, asker.reputation) == (0, 0)


def test_locked_thread_solution_is_for_moderators(client):
    asker, moderator = make_user(), make_user(role="moderator")
    thread, (answer,) = make_question(asker)
    thread.locked_at = thread.created_at
    db.session.commit()
    login(client, asker)
    assert client.post(f"/p/{answer.id}/solution").status_code == 403
    login(client, moderator)
    assert client.post(f"/p/{answer.id}/solution").status_code == 302


def test_deleting_the_solution_unsolves_the_thread(client, received):
    asker = make_user()
    thread, (answer,) = make_question(asker)
    mark(answer, asker)
    vote_helpful(answer, make_user())
    assert answer.author.reputation == 11
    login(client, answer.author)

    assert client.post(f"/p/{answer.id}/delete").status_code == 302

    assert thread.solution_post_id is None
    assert (answer.author.solution_count, answer.author.reputation) == (0, 0)
    assert received[-1] == ("solution", {"sender": answer.author.username, "post": None})
    assert "Accepted answer" not in client.get(thread.url).get_data(as_text=True)


# -- helpful votes -----------------------------------------------------------------------------


def test_member_marks_a_post_helpful_and_takes_it_back(client, received):
    thread, (answer,) = make_question()
    voter = make_user("voter")
    login(client, voter)

    response = client.post(f"/p/{answer.id}/helpful", data={"helpful": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"{thread.url}#post-{answer.id}"
    assert answer.helpful_count == 1 and answer.author.reputation == 1 and vote_rows() == 1
    page = client.get(thread.url).get_data(as_text=True)
    assert 'aria-pressed="true">Helpful ✓</button>' in page and "1 found this helpful" in page

    client.post(f"/p/{answer.id}/helpful", data={"helpful": "1"})  # a repeated click changes nothing
    assert answer.helpful_count == 1 and vote_rows() == 1
    client.post(f"/p/{answer.id}/helpful", data={"helpful": "0"})
    assert answer.helpful_count == 0 and answer.author.reputation == 0 and vote_rows() == 0
    client.post(f"/p/{answer.id}/helpful")  # no state given: toggles
    assert answer.helpful_count == 1
    assert received == [
        ("vote", {"sender": "voter", "post": answer.id, "added": True}),
        ("vote", {"sender": "voter", "post": answer.id, "added": False}),
        ("vote", {"sender": "voter", "post": answer.id, "added": True}),
    ]


def test_helpful_vote_answers_json_for_the_script(client):
    thread, (answer,) = make_question()
    login(client, make_user())
    response = client.post(
        f"/p/{answer.id}/helpful", data={"helpful": "1"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response.get_json() == {"post_id": answer.id, "helpful": True, "count": 1}


def test_helpful_script_is_served_and_forms_carry_the_hooks(client):
    thread, (answer,) = make_question()
    login(client, make_user())
    page = client.get(thread.url).get_data(as_text=True)
    assert 'src="/static/js/qa.js"' in page and "data-helpful" in page
    with client.get("/static/js/qa.js") as response:
        script = response.get_data(as_text=True)
    assert "X-CSRFToken" in script and "application/json" in script


def test_nobody_votes_on_their_own_post(client):
    thread, (answer,) = make_question()
    login(client, answer.author)
    assert f"/p/{answer.id}/helpful" not in client.get(thread.url).get_data(as_text=True)
    response = client.post(f"/p/{answer.id}/helpful", data={"helpful": "1"})
    assert response.status_code == 403
    assert "your own post" in response.get_data(as_text=True)
    assert vote_rows() == 0 and answer.author.reputation == 0


def test_anonymous_and_csrfless_votes_are_refused(client):
    thread, (answer,) = make_question()
    response = client.post(f"/p/{answer.id}/helpful", data={"helpful": "1"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    json_response = client.post(f"/p/{answer.id}/helpful", headers={"Accept": "application/json"})
    assert json_response.status_code == 401
    page = client.get(thread.url).get_data(as_text=True)
    assert "data-helpful" not in page
    login(client, make_user())
    assert client.post(f"/p/{answer.id}/helpful", data={"helpful": "1"}, csrf=False).status_code == 400
    assert client.get(f"/p/{answer.id}/helpful").status_code == 405
    assert vote_rows() == 0


def test_bad_vote_values_get_a_400(client):
    thread, (answer,) = make_question()
    login(client, make_user())
    response = client.post(f"/p/{answer.id}/helpful", data={"helpful": "yes please"})
    assert response.status_code == 400
    assert client.post("/p/999999/helpful", data={"helpful": "1"}).status_code == 404
    assert vote_rows() == 0


def test_deleted_posts_take_no_votes(client):
    thread, (answer,) = make_question()
    voter = make_user()
    boards.delete_post(answer, actor=answer.author)
    db.session.commit()
    login(client, voter)
    assert client.post(f"/p/{answer.id}/helpful", data={"helpful": "1"}).status_code == 409
    assert vote_rows() == 0


def test_moderators_vote_like_members(client):
    thread, (answer,) = make_question()
    login(client, make_user(role="moderator"))
    assert client.post(f"/p/{answer.id}/helpful", data={"helpful": "1"}).status_code == 302
    assert answer.helpful_count == 1


# -- reputation --------------------------------------------------------------------------------


def test_reputation_is_votes_plus_ten_per_solution(client):
    asker = make_user()
    helper = make_user("helper")
    voters = [make_user() for _ in range(3)]
    thread1, _ = make_question(asker)
    thread2, _ = make_question(asker)
    a1 = make_reply(thread1, helper, "Answer one")
    a2 = make_reply(thread2, helper, "Answer two")
    for voter in voters:
        vote_helpful(a1, voter)
    vote_helpful(a2, voters[0])
    mark(a1, asker)
    mark(a2, asker)
    assert (helper.solution_count, helper.reputation) == (2, 4 + 20)

    vote_helpful(a1, voters[1], helpful=False)  # -1
    qa.unmark_solution(thread2, actor=asker)  # -10
    db.session.commit()
    assert (helper.solution_count, helper.reputation) == (1, 3 + 10)
    boards.delete_post(a2, actor=helper)  # its one vote stops counting
    db.session.commit()
    assert (helper.solution_count, helper.reputation) == (1, 2 + 10)

    page = client.get(helper.url).get_data(as_text=True)
    assert re.search(r"<dt>Solutions</dt><dd>1</dd>", page)
    assert "Accepted solutions" in page and f'<a href="/p/{a1.id}">{thread1.title}</a>' in page
    assert f"/p/{a2.id}" not in page  # unmarked, then deleted
    asker_page = client.get(asker.url).get_data(as_text=True)
    assert "Accepted solutions" not in asker_page
    assert "Solved" in asker_page  # thread1's mark
    assert re.search(r"<dt>Reputation</dt><dd>12</dd>", page)
    thread_page = client.get(thread1.url).get_data(as_text=True)
    assert re.search(r'<span class="reputation"[^>]*>12<', thread_page)

    helpful, users = qa.expected_counters()
    assert users[helper.id] == (1, 12)
    assert helpful.get(a1.id) == a1.helpful_count == 2


def test_recount_command_repairs_drifted_counters(app, runner):
    asker = make_user()
    thread, (answer,) = make_question(asker)
    vote_helpful(answer, make_user())
    mark(answer, asker)
    result = runner.invoke(args=["qa", "recount"])
    assert result.exit_code == 0 and "0 counter row(s) corrected" in result.output
    answer.author.reputation = 999
    answer.helpful_count = 7
    db.session.commit()
    result = runner.invoke(args=["qa", "recount"])
    assert "2 counter row(s) corrected" in result.output
    db.session.expire_all()
    assert (answer.author.reputation, answer.helpful_count) == (11, 1)


# -- lists -------------------------------------------------------------------------------------


def make_lists():
    questions = make_board("Broadband", kind="questions")
    news = make_board("News", kind="announcements")
    asker, moderator = make_user(), make_user(role="moderator")
    solved, (answer,) = make_question(asker, questions)
    mark(answer, asker)
    answered = make_thread(questions, asker, title="Answered but not solved")
    make_reply(answered, make_user())
    lonely = make_thread(questions, asker, title="Nobody replied yet")
    notice = make_thread(news, moderator, title="Maintenance tonight")
    return questions, news, solved, answered, lonely, notice


def test_unsolved_and_unanswered_lists(client):
    questions, news, solved, answered, lonely, notice = make_lists()
    unsolved = client.get("/unsolved").get_data(as_text=True)
    assert "Answered but not solved" in unsolved and "Nobody replied yet" in unsolved
    assert solved.title not in unsolved and "Maintenance tonight" not in unsolved
    assert '/b/broadband">Broadband</a>' in unsolved
    unanswered = client.get("/unanswered").get_data(as_text=True)
    assert "Nobody replied yet" in unanswered
    assert "Answered but not solved" not in unanswered and "Maintenance tonight" not in unanswered
    assert '<a href="/unsolved">Unsolved</a>' in client.get("/").get_data(as_text=True)


def test_board_filters(client):
    questions, news, solved, answered, lonely, notice = make_lists()
    page = client.get("/b/broadband?filter=unsolved").get_data(as_text=True)
    assert "Answered but not solved" in page and "Nobody replied yet" in page and solved.title not in page
    assert 'href="/b/broadband?filter=unsolved" aria-current="page"' in page
    page = client.get("/b/broadband?filter=unanswered").get_data(as_text=True)
    assert "Nobody replied yet" in page and "Answered but not solved" not in page
    assert client.get("/b/broadband?filter=nonsense").status_code == 400
    assert client.get("/b/broadband?filter=unsolved&page=x").status_code == 400
    assert client.get("/b/broadband?filter=unsolved&page=9").status_code == 404
    assert client.get("/b/news?filter=unsolved").status_code == 404
    assert "?filter=unsolved" not in client.get("/b/news").get_data(as_text=True)
    delete_thread(lonely, "Asked twice", actor=make_moderator())
    db.session.commit()
    assert "Nobody replied yet" not in client.get("/b/broadband?filter=unanswered").get_data(as_text=True)


# -- query counts ------------------------------------------------------------------------------


def thread_with_votes(post_count: int):
    asker = make_user()
    thread, replies = make_question(asker, answerers=post_count)
    voter = make_user()
    for reply in replies:
        vote_helpful(reply, voter)
    mark(replies[-1], asker)
    return thread, voter


def test_thread_page_queries_do_not_grow_with_posts(client, count_queries):
    small, voter = thread_with_votes(3)
    large, _ = thread_with_votes(19)
    login(client, voter)
    counts = []
    for url in (small.url, large.url):
        client.get(url)  # warm up
        with count_queries() as counter:
            assert client.get(url).status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8, counts


@pytest.mark.parametrize(
    "url", ["/b/broadband?filter=unsolved", "/b/broadband?filter=unanswered", "/unsolved", "/unanswered"]
)
def test_list_pages_have_bounded_queries(client, count_queries, url):
    make_lists()
    board = boards.get_board("broadband")
    for index in range(12):
        make_thread(board, make_user(), title=f"Another question {index}")
    client.get(url)
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    assert counter.count <= 4, counter.report()


def test_reputation_shows_next_to_names(client):
    thread, (answer,) = make_question()
    vote_helpful(answer, make_user())
    page = client.get(thread.url).get_data(as_text=True)
    author_block = page[page.index(f'id="post-{answer.id}"') :]
    assert re.search(r'<span class="reputation"[^>]*>1<', author_block)
    user = db.session.get(User, answer.author_id)
    assert user.reputation == 1
