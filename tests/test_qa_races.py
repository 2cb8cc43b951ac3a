"""Vote races through a real threaded HTTP server: simultaneous requests never create two
votes, never lose a counter update and never answer 500 (on SQLite and PostgreSQL). Helpful
votes, idea votes and "affected too" share their row and counter code (forum.counters.votes)."""

from __future__ import annotations

import json
import logging
import random
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from forum.boards.models import Thread
from forum.extensions import db
from forum.ideas import services as ideas
from forum.ideas.models import Idea, IdeaVote
from forum.known.models import AffectedMember, KnownIssue
from forum.notifications.models import Watch
from forum.qa import services as qa
from forum.qa.models import HelpfulVote
from tests.factories import login, make_thread, make_user
from tests.factories_known import make_question_board, set_status
from tests.factories_moderation import make_member, make_moderator
from tests.factories_qa import make_idea, make_ideas_board, make_question, vote_idea

pytestmark = pytest.mark.slow
THREADS = 8


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    worker = threading.Thread(target=server.serve_forever, daemon=True)
    worker.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    worker.join()


class Browser:
    """A logged-in member's cookie and CSRF token, for plain HTTP requests from many threads."""

    def __init__(self, make_client, user) -> None:
        client = make_client()
        login(client, user)
        self.token = client.csrf_token()
        self.cookie = client.get_cookie("session").value

    def post(self, url: str, data: dict[str, str]) -> tuple[int, dict]:
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        request = urllib.request.Request(
            url, data=body, headers={"Cookie": f"session={self.cookie}", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, json.loads(error.read() or b"{}")


def at_once(calls: list) -> list[tuple[int, dict]]:
    """Run the calls in threads released together by a barrier; return their answers in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index: int, call) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def count(model, **where) -> int:
    db.session.expire_all()
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query) or 0


def test_one_member_voting_many_times_at_once_makes_one_vote(live_server, make_client, caplog):
    thread, (answer,) = make_question()
    voter = make_user()
    browser = Browser(make_client, voter)
    url = f"{live_server}/p/{answer.id}/helpful"
    caplog.set_level(logging.INFO, logger="forum.qa")
    settled = 0
    for _round in range(5):  # until the unique constraint has settled at least one race
        answers = at_once([lambda: browser.post(url, {"helpful": "1"})] * THREADS)
        assert answers == [(200, {"post_id": answer.id, "helpful": True, "count": 1})] * THREADS
        assert count(HelpfulVote, post_id=answer.id) == 1
        db.session.refresh(answer)
        db.session.refresh(answer.author)
        assert (answer.helpful_count, answer.author.reputation) == (1, 1)
        settled = sum("settled a concurrent duplicate" in r.getMessage() for r in caplog.records)
        if settled:
            break
        assert browser.post(url, {"helpful": "0"})[0] == 200
    assert settled >= 1, "no request raced into the unique constraint in 5 rounds"


def test_many_members_voting_at_once_lose_no_update(live_server, make_client):
    thread, (answer,) = make_question()
    browsers = [Browser(make_client, make_user()) for _ in range(THREADS)]
    url = f"{live_server}/p/{answer.id}/helpful"
    answers = at_once([lambda b=b: b.post(url, {"helpful": "1"}) for b in browsers])
    assert all(status == 200 and body["helpful"] for status, body in answers), answers
    db.session.expire_all()
    assert count(HelpfulVote, post_id=answer.id) == THREADS
    assert (answer.helpful_count, answer.author.reputation) == (THREADS, THREADS)


def test_mixed_toggles_at_once_keep_counters_equal_to_rows(live_server, make_client):
    thread, (answer, other) = make_question(answerers=2)
    browsers = [Browser(make_client, make_user()) for _ in range(4)]
    rng = random.Random(5)
    answer_url, other_url = (f"{live_server}/p/{post.id}/helpful" for post in (answer, other))
    for _round in range(3):
        calls = [
            (lambda b=b, url=url, state=state: b.post(url, {"helpful": state}))
            for b in browsers
            for url, state in (
                (answer_url, rng.choice("01")),
                (other_url, rng.choice("01")),
                (answer_url, ""),
            )
        ]
        answers = at_once(calls)
        assert all(status == 200 for status, _ in answers), answers
    db.session.expire_all()
    helpful, users = qa.expected_counters()
    for post in (answer, other):
        assert post.helpful_count == helpful.get(post.id, 0) == count(HelpfulVote, post_id=post.id)
        assert (post.author.solution_count, post.author.reputation) == users[post.author_id]


def test_asker_and_moderator_choosing_at_once_keep_credit_right(live_server, make_client):
    asker, moderator = make_user(), make_user(role="moderator")
    thread, replies = make_question(asker, answerers=4)
    people = [Browser(make_client, asker), Browser(make_client, moderator)]
    urls = [f"{live_server}/p/{reply.id}/solution" for reply in replies]
    for _round in range(3):
        calls = [(lambda b=b, url=url: b.post(url, {})) for b, url in zip(people * 2, urls, strict=True)]
        answers = at_once(calls)
        # The first change wins; one that read a solution another request has just replaced gets a 409.
        assert all(status in (200, 409) for status, _ in answers), answers
        assert any(status == 200 for status, _ in answers)
    db.session.expire_all()
    _, users = qa.expected_counters()
    credited = [reply.author for reply in replies]
    assert sum(user.solution_count for user in credited) == 1
    for user in credited:
        assert (user.solution_count, user.reputation) == users[user.id]


@pytest.fixture
def budget_of_two(app_config):
    app_config["IDEA_VOTES_PER_MEMBER"] = 2


def test_idea_budget_holds_under_simultaneous_votes(budget_of_two, live_server, make_client):
    board = make_ideas_board()
    threads = [make_idea(board, title=f"Idea number {index}") for index in range(THREADS + 1)]
    voter = make_user()
    vote_idea(threads[0], voter)
    browser = Browser(make_client, voter)
    urls = [f"{live_server}/t/{t.id}/vote" for t in threads[1:]]
    answers = at_once([lambda url=url: browser.post(url, {"vote": "1"}) for url in urls])
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * (THREADS - 1), answers
    assert count(IdeaVote, user_id=voter.id) == 2
    assert ideas.active_vote_count(voter) == 2
    db.session.expire_all()
    assert sum(db.session.get(Idea, t.id).vote_count for t in threads) == 2


def test_one_member_voting_for_an_idea_many_times_at_once(live_server, make_client):
    thread = make_idea(make_ideas_board())
    browser = Browser(make_client, make_user())
    url = f"{live_server}/t/{thread.id}/vote"
    answers = at_once([lambda: browser.post(url, {"vote": "1"})] * THREADS)
    assert all(status == 200 and body["voted"] and body["count"] == 1 for status, body in answers), answers
    assert count(IdeaVote, thread_id=thread.id) == 1
    db.session.expire_all()
    assert db.session.get(Idea, thread.id).vote_count == 1


def test_one_member_saying_affected_many_times_at_once_counts_once(live_server, make_client):
    thread = make_thread(make_question_board(), make_member(), title="Calls drop after the update")
    set_status(thread, "reported", make_moderator())
    member = make_member()
    browser = Browser(make_client, member)
    url = f"{live_server}/t/{thread.id}/affected"
    for state, members in (("1", 1), ("0", 0), ("1", 1)):  # say it, take it back, say it again
        answers = at_once([lambda state=state: browser.post(url, {"affected": state})] * THREADS)
        expected = {"thread_id": thread.id, "affected": state == "1", "count": 1 + members}
        assert answers == [(200, expected)] * THREADS
        db.session.expire_all()
        assert count(AffectedMember, thread_id=thread.id) == members
        assert db.session.get(Thread, thread.id).affected_total == 1 + members
        assert db.session.get(KnownIssue, thread.id).recent_affected == members
        assert count(Watch, user_id=member.id, target_id=thread.id) == members
