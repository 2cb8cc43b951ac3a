"""Known problems (issue #17): problem fields, the register, /response (figures computed by
hand on a fixture forum), the exchange round trip and the authorization matrix."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from forum.badges import granting
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.known import register, response, services
from forum.known.models import AffectedMember, KnownIssue, ProblemValueChange
from forum.qa import services as qa
from tests.factories import login, make_thread
from tests.factories_badges import make_employee
from tests.factories_exchange import empty_database, read_records, run
from tests.factories_known import define, make_question_board, say_affected, set_status
from tests.factories_moderation import make_admin, make_member, make_moderator

# -- problem fields ----------------------------------------------------------------------------


def _board_with_fields():
    board = make_question_board("Broadband")
    admin = make_admin()
    define(board, admin, "Model", choices="Hub 3\nHub 4", required=True, key="model")
    define(board, admin, "Area", kind="text", position=1)
    return board, admin


def test_fields_are_asked_shown_filtered_and_edited_with_history(app, client):
    board, _ = _board_with_fields()
    asker = make_member()
    login(client, asker)
    form = client.get(f"{board.url}/new").get_data(as_text=True)
    assert 'name="problem-model"' in form and "<option>Hub 4</option>" in form
    data = {"title": "Wi-Fi drops every night", "body": "Since the update.", "submit": "1"}
    missing = client.post(f"{board.url}/new", data=data)
    assert missing.status_code == 422
    assert "Model is required" in missing.get_data(as_text=True)
    wrong = client.post(f"{board.url}/new", data={**data, "problem-model": "Hub 9"})
    assert wrong.status_code == 422 and "is not one of the choices" in wrong.get_data(as_text=True)
    too_long = client.post(
        f"{board.url}/new", data={**data, "problem-model": "Hub 4", "problem-area": "x" * 101}
    )
    assert too_long.status_code == 422 and "at most 100 characters" in too_long.get_data(as_text=True)
    unknown = client.post(
        f"{board.url}/new", data={**data, "problem-model": "Hub 4", "problem-colour": "red"}
    )
    assert unknown.status_code == 422 and "no problem field “colour”" in unknown.get_data(as_text=True)
    made = client.post(f"{board.url}/new", data={**data, "problem-model": "Hub 4", "problem-area": "Leeds"})
    assert made.status_code == 302
    thread = db.session.scalar(select(Thread).where(Thread.title == "Wi-Fi drops every night"))
    other = make_thread(board, make_member(), title="Slow speeds")  # no details
    page = client.get(thread.url).get_data(as_text=True)
    assert "<dt>Model</dt>" in page and f'href="{board.url}?model=hub-4"' in page and "Leeds" in page
    # board filter: ?model=hub-4 (case and spaces as the value reads too)
    for query in ("model=hub-4", "model=Hub+4"):
        listed = client.get(f"{board.url}?{query}").get_data(as_text=True)
        assert thread.title in listed and other.title not in listed
    none = client.get(f"{board.url}?model=hub-3").get_data(as_text=True)
    assert thread.title not in none
    # edited by the asker, with history
    edited = client.post(f"/t/{thread.id}/details", data={"problem-model": "Hub 3", "problem-area": "Leeds"})
    assert edited.status_code == 302
    history = client.get(f"/t/{thread.id}/details").get_data(as_text=True)
    assert "“Hub 4”" in history and "“Hub 3”" in history and asker.name in history
    changes = db.session.scalars(select(ProblemValueChange)).all()
    assert [(c.old_value, c.new_value) for c in changes] == [("Hub 4", "Hub 3")]


def test_problem_details_authorization(app, make_client):
    board, admin = _board_with_fields()
    asker, stranger, moderator = make_member(), make_member(), make_moderator()
    thread = make_thread(board, asker)
    cases = [(None, 302), (stranger, 403), (asker, 302), (moderator, 302)]
    for user, status in cases:
        client = make_client()
        if user is not None:
            login(client, user)
        response = client.post(f"/t/{thread.id}/details", data={"problem-model": "Hub 3"})
        assert response.status_code == status, (user, response.status_code)
    anon = make_client().post(f"/t/{thread.id}/details", data={"problem-model": "Hub 3"})
    assert "/login" in anon.headers["Location"]
    # defining fields: administrators only
    for user, status in ((moderator, 403), (asker, 403), (admin, 302)):
        client = make_client()
        login(client, user)
        response = client.post(
            f"/admin/boards/{board.slug}/fields", data={"label": "Connection", "kind": "text"}
        )
        assert response.status_code == status
    client = make_client()
    login(client, admin)
    clash = client.post(
        f"/admin/boards/{board.slug}/fields", data={"label": "Model 2", "key": "model", "kind": "text"}
    )
    assert clash.status_code == 422 and "already has a field with the key" in clash.get_data(as_text=True)
    empty = client.post(
        f"/admin/boards/{board.slug}/fields", data={"label": "Plan", "kind": "choice", "choices": ""}
    )
    assert empty.status_code == 422 and "needs its choices" in empty.get_data(as_text=True)
    # CSRF: a form post without the token changes nothing
    no_token = client.post(
        f"/admin/boards/{board.slug}/fields", data={"label": "Speed", "kind": "text"}, csrf=False
    )
    assert no_token.status_code == 400


def test_search_filters_by_a_problem_field(app, client):
    board, _ = _board_with_fields()
    asker = make_member()
    login(client, asker)
    for model, title in (("Hub 4", "Router reboots at night"), ("Hub 3", "Router reboots in the morning")):
        response = client.post(
            f"{board.url}/new", data={"title": title, "body": "It reboots.", "problem-model": model}
        )
        assert response.status_code == 302
    found = re.sub(r"</?mark>", "", client.get("/search?q=reboots+model:hub-4").get_data(as_text=True))
    assert "Router reboots at night" in found and "Router reboots in the morning" not in found
    only_filter = re.sub(r"</?mark>", "", client.get("/search?q=model:hub-3").get_data(as_text=True))
    assert "Router reboots in the morning" in only_filter and "Router reboots at night" not in only_filter
    unknown = client.get("/search?q=colour:red").get_data(as_text=True)
    assert "is not a filter we know" in unknown


# -- the register -------------------------------------------------------------------------------


def test_register_orders_by_recent_affected_and_draws_the_chart(app, client):
    board = make_question_board()
    moderator = make_moderator()
    now = utcnow()
    quiet = make_thread(board, make_member(), title="Old outage, many affected long ago")
    busy = make_thread(board, make_member(), title="Outage this week")
    fixed = make_thread(board, make_member(), title="Fixed already")
    for thread in (quiet, busy, fixed):
        set_status(thread, "reported", moderator)
    set_status(fixed, "fixed", moderator)
    say_affected(quiet, *(make_member() for _ in range(4)))
    say_affected(busy, *(make_member() for _ in range(2)))
    # quiet's reports were 20 days ago; busy's today: the hourly recount has seen both
    old = now - timedelta(days=20)
    db.session.execute(
        update(AffectedMember)
        .where(AffectedMember.thread_id == quiet.id)
        .values(created_at=old, created_on=old.date())
    )
    services.recount_recent_affected(now=now)
    db.session.commit()
    rows = register.register_rows(register.RegisterFilters())
    assert [r.thread.id for r in rows] == [busy.id, quiet.id]  # open only, fixed left out
    assert [r.last_7_days for r in rows] == [2, 0]
    days = register.chart_days(register.RegisterFilters(), now=now)
    assert len(days) == 30 and days[-1].count == 2 and days[-1].day == now.date()
    assert {d.day: d.count for d in days}[old.date()] == 4 and sum(d.count for d in days) == 6
    page = client.get("/known-issues")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.index("Outage this week") < html.index("Old outage")
    assert "<svg" in html and "<rect" in html and "6 reports in 30 days" in html
    everything = client.get("/known-issues?status=all").get_data(as_text=True)
    assert "Fixed already" in everything
    assert client.get("/known-issues?status=bogus").status_code == 422
    assert client.get("/known-issues?board=nope").status_code == 422
    feed = client.get("/known-issues.atom")
    assert (
        feed.status_code == 200
        and feed.mimetype == "application/atom+xml"
        and "Fixed: Fixed already" in feed.get_data(as_text=True)
    )
    data = client.get("/known-issues.json").get_json()
    assert data["schema"] == "roundabout-known-issues/1" and [i["thread_id"] for i in data["issues"]] == [
        busy.id,
        quiet.id,
    ]
    assert data["issues"][0]["affected"] == 3 and data["issues"][0]["affected_last_7_days"] == 2
    csv_text = client.get("/known-issues.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("thread_id,title,url,board,status")


def _stored(thread: Thread) -> int:
    """The 7-day count the register sorts on, as stored on the known issue."""
    return db.session.scalar(select(KnownIssue.recent_affected).where(KnownIssue.thread_id == thread.id))


def _backdate(thread: Thread, *members: object, days: float) -> None:
    """Reports made `days` ago (the services stamp "now"), as if that time had passed."""
    at = utcnow() - timedelta(days=days)
    db.session.execute(
        update(AffectedMember)
        .where(AffectedMember.thread_id == thread.id, AffectedMember.user_id.in_([m.id for m in members]))
        .values(created_at=at, created_on=at.date())
    )
    db.session.commit()


def test_affected_too_and_its_withdrawal_move_the_stored_7_day_count_at_once(app, client):
    board = make_question_board()
    moderator = make_moderator()
    early, ann, bob, cat = (make_member() for _ in range(4))
    hub = make_thread(board, make_member(), title="Hub reboots at night")
    slow = make_thread(board, make_member(), title="Slow speeds")
    say_affected(hub, early)  # before it was a known issue: counted when it is marked
    set_status(hub, "reported", moderator)
    set_status(slow, "reported", moderator)
    assert (_stored(hub), _stored(slow)) == (1, 0)
    say_affected(slow, ann, bob)
    assert (_stored(hub), _stored(slow)) == (1, 2)
    html = client.get("/known-issues").get_data(as_text=True)
    assert html.index("Slow speeds") < html.index("Hub reboots")
    say_affected(hub, ann, bob, cat)
    assert _stored(hub) == 4
    html = client.get("/known-issues").get_data(as_text=True)
    assert html.index("Hub reboots") < html.index("Slow speeds")
    login(client, bob)
    assert client.post(f"/t/{hub.id}/affected", data={"affected": "0"}).status_code == 302
    assert _stored(hub) == 3
    # A report older than the last recount's 7 days was never in the count: taking it back
    # leaves the count as it is; taking back a counted one lowers it.
    _backdate(hub, early, days=9)
    services.recount_recent_affected()
    db.session.commit()
    assert _stored(hub) == 2
    services.set_affected(hub, actor=early, affected=False)
    db.session.commit()
    assert _stored(hub) == 2
    services.set_affected(hub, actor=cat, affected=False)
    db.session.commit()
    assert _stored(hub) == 1
    rows = register.register_rows(register.RegisterFilters())
    assert [(r.thread.id, r.last_7_days) for r in rows] == [(slow.id, 2), (hub.id, 1)]


def test_the_hourly_job_drops_reports_older_than_7_days(app, client):
    from forum.jobs.periodic import REGISTRY

    board = make_question_board()
    moderator = make_moderator()
    fading = make_thread(board, make_member(), title="Outage last week")
    steady = make_thread(board, make_member(), title="Outage this week")
    for thread in (fading, steady):
        set_status(thread, "reported", moderator)
    gone = [make_member() for _ in range(3)]
    say_affected(fading, *gone, make_member())
    say_affected(steady, make_member(), make_member())
    _backdate(fading, *gone, days=7.5)  # three of fading's four reports age out
    # What the stored count trades: until the hourly recount the aged reports still count.
    assert _stored(fading) == 4
    html = client.get("/known-issues").get_data(as_text=True)
    assert html.index("Outage last week") < html.index("Outage this week")
    detail = REGISTRY["response-figures"].run()
    assert "2 known issues' 7-day counts" in detail
    assert (_stored(fading), _stored(steady)) == (1, 2)
    html = client.get("/known-issues").get_data(as_text=True)
    assert html.index("Outage this week") < html.index("Outage last week")
    # the 30-day chart still shows every report: it is counted per request
    assert "6 reports in 30 days" in html


def test_register_filters_by_field_value(app, client):
    board, admin = _board_with_fields()
    moderator = make_moderator()
    hub4 = make_thread(board, make_member(), title="Hub 4 problem")
    hub3 = make_thread(board, make_member(), title="Hub 3 problem")
    from forum.known import fields

    for thread, model in ((hub4, "Hub 4"), (hub3, "Hub 3")):
        fields.save_values(thread, {fields.board_fields(board.id)[0].id: model}, actor=admin, record=False)
        set_status(thread, "reported", moderator)
    html = client.get(f"/known-issues?board={board.slug}&model=hub-4").get_data(as_text=True)
    assert "Hub 4 problem" in html and "Hub 3 problem" not in html


def test_register_filter_by_a_key_two_boards_define_matches_either_board(app, client):
    """Without a board chosen, ?model= names each board's "model" field; a question, which has
    one board's fields only, matches if it has the value in its own (it matched nothing)."""
    from forum.known import fields

    broadband, mobile = make_question_board("Broadband"), make_question_board("Mobile")
    admin, moderator = make_admin(), make_moderator()
    on_broadband = define(broadband, admin, "Model", choices="Hub 3\nHub 4", key="model")
    on_mobile = define(mobile, admin, "Model", choices="Hub 4\nPhone 2", key="model")
    for board, field, title, model in (
        (broadband, on_broadband, "Hub 4 drops Wi-Fi", "Hub 4"),
        (mobile, on_mobile, "Hub 4 as a hotspot", "Hub 4"),
        (broadband, on_broadband, "Hub 3 reboots", "Hub 3"),
    ):
        thread = make_thread(board, make_member(), title=title)
        fields.save_values(thread, {field.id: model}, actor=admin, record=False)
        set_status(thread, "reported", moderator)
        say_affected(thread, make_member())
    html = client.get("/known-issues?model=hub-4").get_data(as_text=True)
    assert "Hub 4 drops Wi-Fi" in html and "Hub 4 as a hotspot" in html and "Hub 3 reboots" not in html
    assert "2 reports in 30 days" in html
    one_board = client.get(f"/known-issues?board={mobile.slug}&model=hub-4").get_data(as_text=True)
    assert "Hub 4 as a hotspot" in one_board and "Hub 4 drops Wi-Fi" not in one_board


def test_register_and_response_cost_a_constant_number_of_statements(app, client, count_queries):
    board = make_question_board()
    moderator = make_moderator()

    def measure() -> tuple[int, int]:
        with count_queries() as a:
            assert client.get("/known-issues").status_code == 200
        with count_queries() as b:
            assert client.get("/response").status_code == 200
        return a.count, b.count

    thread = make_thread(board, make_member())
    set_status(thread, "reported", moderator)
    response.compute_figures()
    db.session.commit()
    small = measure()
    for _ in range(6):
        t = make_thread(board, make_member())
        set_status(t, "acknowledged", moderator)
        say_affected(t, make_member())
    response.compute_figures()
    db.session.commit()
    assert measure() == small
    assert small[0] <= 5 and small[1] <= 4


def test_register_statements_do_not_grow_with_issues_boards_or_reports(app, client, count_queries):
    """Every view of the register, filtered or not, on one issue and then on twelve issues in
    three boards with reports of this week and of last month: the same statements."""
    from forum.known import fields

    admin, moderator = make_admin(), make_moderator()
    boards = [make_question_board(name) for name in ("Broadband", "Mobile", "TV")]
    models = {b.id: define(b, admin, "Model", choices="Hub 3\nHub 4", key="model") for b in boards}
    urls = (
        "/known-issues",
        "/known-issues?all=1",
        "/known-issues?status=all",
        "/known-issues?model=hub-4",
        f"/known-issues?board={boards[1].slug}&model=hub-4",
        "/known-issues.json",
        "/known-issues.csv",
    )

    def add_issue(board, n: int) -> None:
        thread = make_thread(board, make_member(), title=f"Problem {n}")
        fields.save_values(
            thread, {models[board.id].id: ("Hub 4", "Hub 3")[n % 2]}, actor=admin, record=False
        )
        set_status(thread, ("reported", "acknowledged", "fixed")[n % 3], moderator)
        members = [make_member() for _ in range(n % 4 + 1)]
        say_affected(thread, *members)
        _backdate(thread, members[0], days=20)

    def measure() -> list[int]:
        counts = []
        for url in urls:
            with count_queries() as counter:
                assert client.get(url).status_code == 200, url
            counts.append(counter.count)
        return counts

    add_issue(boards[0], 0)
    one = measure()
    for n in range(1, 12):
        add_issue(boards[n % 3], n)
    services.recount_recent_affected()
    db.session.commit()
    assert measure() == one
    assert max(one) <= 5


# -- the company's response ---------------------------------------------------------------------


def _at(days: float) -> datetime:
    return datetime(2026, 10, 1, 12, tzinfo=UTC) + timedelta(days=days)


def test_response_figures_equal_hand_computed_values(app, client, runner):
    """October 2026, Broadband: 6 questions. Employee replies after 2, 4, 6 and 8 hours on
    four of them (median 5 h); solutions after 10 and 30 hours on two (too few for a median);
    two known issues. Mobile: 3 questions, every figure "too few"."""
    broadband, mobile = make_question_board("Broadband"), make_question_board("Mobile")
    employee, asker, helper = make_employee(), make_member(), make_member()
    threads = []
    for i in range(6):
        t = make_thread(broadband, asker, title=f"Broadband question {i}")
        threads.append(t)
    for i in range(3):
        make_thread(mobile, asker, title=f"Mobile question {i}")
    from forum.badges.permissions import active_badge
    from forum.boards import services as boards

    badge = active_badge(employee)
    for t in threads[:4]:
        boards.reply(t, "Employee here.", actor=employee, badge=badge)
    solutions = []
    for t in threads[4:]:
        solutions.append(boards.reply(t, "Try this.", actor=helper))
    db.session.commit()
    for t in threads[4:]:
        qa.mark_solution(solutions[threads[4:].index(t)], actor=asker)
    set_status(threads[0], "acknowledged", employee)
    set_status(threads[1], "reported", employee)
    db.session.commit()
    # Put everything at known times (the services stamp "now").
    for i, t in enumerate(threads):
        db.session.execute(update(Thread).where(Thread.id == t.id).values(created_at=_at(i)))
    for hours, t in zip((2, 4, 6, 8), threads, strict=False):
        db.session.execute(
            update(Post)
            .where(Post.thread_id == t.id, Post.badge_id.is_not(None))
            .values(created_at=_at(threads.index(t)) + timedelta(hours=hours))
        )
    for hours, post in zip((10, 30), solutions, strict=True):
        t = db.session.get(Thread, post.thread_id)
        db.session.execute(
            update(Post)
            .where(Post.id == post.id)
            .values(created_at=_at(threads.index(t)) + timedelta(hours=hours))
        )
    db.session.execute(
        update(KnownIssue)
        .where(KnownIssue.thread_id == threads[0].id)
        .values(acknowledged_at=_at(0) + timedelta(hours=50))
    )
    db.session.execute(update(Thread).where(Thread.board_id == mobile.id).values(created_at=_at(3)))
    db.session.commit()
    result = runner.invoke(args=["known", "figures"])
    assert result.exit_code == 0 and "2 month × board cells" in result.output
    data = client.get("/response.json").get_json()
    assert data["schema"] == "roundabout-response/1" and data["min_threads"] == 5
    rows = {r["board"]: r for r in data["rows"]}
    assert rows["broadband"] == {
        "month": "2026-10", "board": "broadband", "questions": 6,
        "employee_replied": 4, "employee_reply_share": 0.667, "first_employee_reply_median_hours": None,
        "solved": 2, "solved_share": 0.333, "solution_median_hours": None,
        "known_issues": 2, "acknowledged": None, "acknowledge_median_hours": None,
        "fixed": None, "fix_median_hours": None,
    }  # fmt: skip
    assert rows["mobile"]["questions"] == 3 and rows["mobile"]["employee_reply_share"] is None
    # one more replied question makes the reply median count: 2, 4, 6, 8, 10 h -> 6 h
    extra = make_thread(broadband, asker)
    boards.reply(extra, "On it.", actor=employee, badge=badge)
    db.session.commit()
    db.session.execute(update(Thread).where(Thread.id == extra.id).values(created_at=_at(7)))
    db.session.execute(
        update(Post)
        .where(Post.thread_id == extra.id, Post.position == 2)
        .values(created_at=_at(7) + timedelta(hours=10))
    )
    db.session.commit()
    response.compute_figures()
    db.session.commit()
    data = client.get("/response.json").get_json()
    broadband_row = next(r for r in data["rows"] if r["board"] == "broadband")
    assert (
        broadband_row["first_employee_reply_median_hours"] == 6.0
        and broadband_row["employee_reply_share"] == 0.714
    )
    page = client.get("/response?months=all").get_data(as_text=True)
    assert "too few" in page and "How this is counted" in page and "71%" in page
    assert employee.name not in page  # no employee singled out
    csv_lines = client.get("/response.csv").get_data(as_text=True).splitlines()
    assert csv_lines[0] == ",".join(response.COLUMNS)


def test_the_response_page_shows_the_last_year_and_every_month_on_request(app, client):
    from forum.known.models import ResponseFigure

    board = make_question_board("Broadband")
    months = {"recent": response.recent_months_start(1), "year ago": response.recent_months_start(13)}
    for month in months.values():
        db.session.add(ResponseFigure(month=month, board_id=board.id, questions=7, employee_replied=7))
    db.session.commit()
    page = client.get("/response").get_data(as_text=True)
    assert f">{months['recent']}</th>" in page and f">{months['year ago']}</th>" not in page
    assert 'href="/response?months=all">Show every month</a>' in page
    every = client.get("/response?months=all").get_data(as_text=True)
    assert f">{months['recent']}</th>" in every and f">{months['year ago']}</th>" in every
    assert (
        "100%" in every and len(client.get("/response.json").get_json()["rows"]) == 2
    )  # the open data has all
    assert response.recent_months_start(12, datetime(2026, 1, 15, tzinfo=UTC)) == "2025-02"


def test_the_register_lists_the_most_reported_first_and_all_on_request(app, client, monkeypatch):
    monkeypatch.setattr(register, "REGISTER_FIRST", 2)
    board = make_question_board("Broadband")
    moderator = make_moderator()
    threads = [make_thread(board, make_member(), title=f"Outage number {n}") for n in range(3)]
    for number, thread in enumerate(threads):
        set_status(thread, "reported", moderator)
        for _ in range(number):  # the last thread is the most reported
            say_affected(thread, make_member())
    db.session.commit()
    page = client.get("/known-issues?board=broadband").get_data(as_text=True)
    assert page.index("Outage number 2") < page.index("Outage number 1") and "Outage number 0" not in page
    assert 'href="/known-issues?all=1&amp;board=broadband">Show all known issues that match</a>' in page
    every = client.get("/known-issues?all=1&board=broadband").get_data(as_text=True)
    assert "Outage number 0" in every and "Show all known issues" not in every


def test_a_response_page_with_only_old_figures_says_so_and_links_them(app, client):
    from forum.known.models import ResponseFigure

    board = make_question_board("Broadband")
    old = response.recent_months_start(20)
    db.session.add(ResponseFigure(month=old, board_id=board.id, questions=9))
    db.session.commit()
    page = client.get("/response").get_data(as_text=True)
    assert "No figures for the last 12 months" in page and f">{old}</th>" not in page
    assert f">{old}</th>" in client.get("/response?months=all").get_data(as_text=True)


def test_still_waiting_lists_old_unacknowledged_issues(app, client):
    board = make_question_board("Broadband")
    moderator = make_moderator()
    old = make_thread(board, make_member(), title="Ignored for weeks")
    new = make_thread(board, make_member(), title="Reported yesterday")
    seen = make_thread(board, make_member(), title="Acknowledged long ago")
    long_ago = utcnow() - timedelta(days=40)
    set_status(old, "reported", moderator)
    set_status(new, "reported", moderator)
    services.set_known_status(seen, "reported", actor=moderator, now=long_ago)
    services.set_known_status(seen, "acknowledged", actor=moderator, now=long_ago)
    db.session.execute(update(KnownIssue).where(KnownIssue.thread_id == old.id).values(marked_at=long_ago))
    db.session.commit()
    page = client.get("/response").get_data(as_text=True)
    waiting = page[page.index("Still waiting") : page.index("How this is counted")]
    assert (
        "Ignored for weeks" in waiting
        and "Reported yesterday" not in waiting
        and "Acknowledged long ago" not in waiting
    )


# -- export and import --------------------------------------------------------------------------


def test_round_trip_keeps_known_problem_records_and_privacy(app, make_client, runner, tmp_path):
    board, admin = _board_with_fields()
    employee, asker, ann = make_employee(), make_member(), make_member()
    client = make_client()
    login(client, asker)
    assert (
        client.post(
            f"{board.url}/new", data={"title": "Hub reboots", "body": "Nightly.", "problem-model": "Hub 4"}
        ).status_code
        == 302
    )
    thread = db.session.scalar(select(Thread).where(Thread.title == "Hub reboots"))
    thread_id, thread_url = thread.id, thread.url
    client.post(f"/t/{thread.id}/details", data={"problem-model": "Hub 3"})
    say_affected(thread, ann)
    from forum.badges.permissions import active_badge

    set_status(thread, "acknowledged", employee, "Looking.", badge=active_badge(employee))
    set_status(thread, "fixed", employee, "Firmware 4.2.")
    backup, again, public = tmp_path / "b.jsonl", tmp_path / "a.jsonl", tmp_path / "p.jsonl"
    assert run(runner, "export", backup, "--full").exit_code == 0
    assert run(runner, "export", public, "--public").exit_code == 0
    kinds = [r["type"] for r in read_records(backup)]
    for kind in (
        "problem_field",
        "problem_value",
        "problem_value_change",
        "known_issue",
        "known_issue_change",
        "affected_member",
    ):
        assert kind in kinds, kind
    public_records = read_records(public)
    assert "affected_member" not in {r["type"] for r in public_records}
    assert (
        next(r for r in public_records if r["type"] == "thread" and r["id"] == thread_id)["affected_count"]
        == 1
    )
    before = make_client().get(thread_url).get_data(as_text=True)
    empty_database()
    result = run(runner, "import", backup)
    assert result.exit_code == 0, result.output
    assert run(runner, "export", again, "--full").exit_code == 0
    assert backup.read_bytes() == again.read_bytes()
    after = make_client().get(thread_url).get_data(as_text=True)
    for text in ("<strong>2</strong> members are affected", "Firmware 4.2.", "<dt>Model</dt>", "Hub 3"):
        assert text in before and text in after, text
    # the public archive alone restores the same count
    empty_database()
    assert run(runner, "import", public).exit_code == 0
    assert "<strong>2</strong> members are affected" in make_client().get(thread_url).get_data(as_text=True)


def test_bad_known_records_are_refused_with_their_line(app, runner, tmp_path):
    from tests.factories_exchange import write_records

    path = write_records(tmp_path / "bad.jsonl", [
        {"type": "meta", "format": "roundabout-corpus", "version": 1},
        {"type": "known_issue", "thread_id": 9, "status": "fixed", "marked_at": "2026-01-01T00:00:00Z",
         "status_changed_at": "2026-01-01T00:00:00Z"},
    ])  # fmt: skip
    result = run(runner, "import", path)
    assert result.exit_code != 0 and "line 2" in result.output and "thread_id 9" in result.output


# -- the authorization matrix -------------------------------------------------------------------

ROLES = ("anonymous", "asker", "member", "moderator", "employee", "revoked_employee", "suspended")


def _actors():
    asker, member, moderator = make_member(), make_member(), make_moderator()
    employee, revoked = make_employee(), make_employee()
    granting.revoke_badge(revoked, actor=moderator, reason="Left the company.")
    suspended = make_member()
    db.session.commit()
    return {"asker": asker, "member": member, "moderator": moderator, "employee": employee,
            "revoked_employee": revoked, "suspended": suspended}  # fmt: skip


AFFECTED = {"anonymous": 401, "asker": 409, "member": 200, "moderator": 200, "employee": 200,
            "revoked_employee": 200, "suspended": 403}  # fmt: skip
STATUS = {"anonymous": 401, "asker": 403, "member": 403, "moderator": 200, "employee": 200,
          "revoked_employee": 403, "suspended": 403}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_authorization_matrix(app, make_client, role):
    actors = _actors()
    thread = make_thread(make_question_board(), actors["asker"])
    client = make_client()
    user = actors.get(role)
    if user is not None:
        login(client, user)
    if role == "suspended":
        from forum.moderation import users as sanctions

        sanctions.suspend_user(user, utcnow() + timedelta(days=3), "Spam.", actor=actors["moderator"])
        db.session.commit()
    json = {"Accept": "application/json"}
    affected = client.post(f"/t/{thread.id}/affected", data={"affected": "1"}, headers=json)
    status = client.post(
        f"/t/{thread.id}/known", data={"status": "acknowledged", "note": "Seen."}, headers=json
    )
    expected_affected, expected_status = AFFECTED[role], STATUS[role]
    if role == "suspended":  # a suspension ends the session: the member is logged out
        expected_affected = expected_status = 401
    assert affected.status_code == expected_affected, affected.get_data(as_text=True)[:300]
    assert status.status_code == expected_status, status.get_data(as_text=True)[:300]
    db.session.refresh(thread)
    assert thread.affected_total == (2 if expected_affected == 200 else 1)
    assert (services.known_issue(thread) is not None) == (expected_status == 200)
    # no CSRF token: refused whoever asks
    assert client.post(f"/t/{thread.id}/affected", data={"affected": "0"}, csrf=False).status_code in (
        400,
        401,
    )
