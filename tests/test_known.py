"""Known problems (issue #17): affected too, its watch level, merges and duplicates, and
the known-issue timeline with its notifications."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from forum.db import utcnow
from forum.errors import Conflict, Forbidden, Invalid
from forum.extensions import db
from forum.known import services
from forum.known.models import AffectedMember, KnownIssue, KnownIssueChange
from forum.moderation import services as moderation
from forum.notifications.models import Notification, Watch
from forum.qa import services as qa
from tests.factories import login, make_board, make_reply, make_thread
from tests.factories_badges import make_employee
from tests.factories_known import make_question_board, say_affected, set_status
from tests.factories_moderation import make_member, make_moderator


def _rows(thread_id: int) -> int:
    return db.session.scalar(
        select(func.count(AffectedMember.id)).where(AffectedMember.thread_id == thread_id)
    )


def _recent(thread) -> int:
    return db.session.scalar(select(KnownIssue.recent_affected).where(KnownIssue.thread_id == thread.id))


def _kinds(user) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.kind).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )


def test_affected_counts_once_per_member_and_can_be_taken_back(app, client):
    board = make_question_board()
    asker, ann, bob = make_member(), make_member(), make_member()
    thread = make_thread(board, asker)
    assert thread.affected_total == 1  # the asker counts first
    login(client, ann)
    for _ in range(2):  # a double click counts once
        response = client.post(f"/t/{thread.id}/affected", data={"affected": "1"})
        assert response.status_code == 302
    db.session.refresh(thread)
    assert thread.affected_total == 2 and _rows(thread.id) == 1
    say_affected(thread, bob)
    page = client.get(thread.url).get_data(as_text=True)
    assert "<strong>3</strong> members are affected" in page
    assert "I&#39;m affected too ✓" in page or "I'm affected too ✓" in page
    board_page = client.get(board.url).get_data(as_text=True)
    assert "3 affected" in board_page
    # taken back: the count drops and the quiet watch ends
    response = client.post(
        f"/t/{thread.id}/affected", data={"affected": "0"}, headers={"Accept": "application/json"}
    )
    assert response.get_json() == {"thread_id": thread.id, "affected": False, "count": 2}
    assert (
        db.session.scalar(select(Watch.id).where(Watch.user_id == ann.id, Watch.target_id == thread.id))
        is None
    )


def test_the_asker_cannot_count_twice_and_others_threads_refuse(app):
    board = make_question_board()
    asker = make_member()
    thread = make_thread(board, asker)
    with pytest.raises(Conflict):
        services.set_affected(thread, actor=asker, affected=True)
    discussion = make_thread(make_board(kind="discussion"), asker)
    with pytest.raises(Forbidden):
        services.set_affected(discussion, actor=make_member(), affected=True)


def test_affected_member_follows_quietly_and_hears_only_of_progress(app):
    board = make_question_board()
    asker, ann, employee = make_member(), make_member(), make_employee()
    thread = make_thread(board, asker)
    say_affected(thread, ann)
    assert (
        db.session.scalar(select(Watch.level).where(Watch.user_id == ann.id, Watch.target_id == thread.id))
        == "affected"
    )
    reply = make_reply(thread, make_member(), "Same here, any news?")
    assert _kinds(ann) == []  # not told of every reply
    set_status(thread, "reported", employee)
    assert _kinds(ann) == []  # reported is not news
    set_status(thread, "acknowledged", employee, "We are looking into it.")
    set_status(thread, "workaround", employee, "Restart the hub twice.")
    set_status(thread, "fixed", employee, "Firmware 4.2.")
    assert _kinds(ann) == ["known_update"] * 3
    detail = db.session.scalar(
        select(Notification.detail).where(Notification.user_id == ann.id).order_by(Notification.id.desc())
    )
    assert detail == "Fixed: Firmware 4.2."
    qa.mark_solution(reply, actor=asker)
    db.session.commit()
    assert _kinds(ann)[-1] == "known_solved"


def test_members_can_leave_the_affected_watch(app, client):
    board = make_question_board()
    ann, employee = make_member(), make_employee()
    thread = make_thread(board, make_member())
    say_affected(thread, ann)
    login(client, ann)
    page = client.get(thread.url).get_data(as_text=True)
    assert 'value="affected"' in page  # the selector offers and shows the level
    response = client.post(f"/watch/thread/{thread.id}", data={"level": "muted"})
    assert response.status_code in (302, 303)
    set_status(thread, "acknowledged", employee)
    assert _kinds(ann) == []
    db.session.refresh(thread)
    assert thread.affected_total == 2  # still counted


@pytest.mark.parametrize("how", ["merge", "duplicate"])
def test_merge_and_duplicate_move_affected_members_once(app, how):
    board = make_question_board()
    moderator = make_moderator()
    first_asker, second_asker, ann, bob, cat = (make_member() for _ in range(5))
    original = make_thread(board, first_asker, title="Hub drops Wi-Fi every night")
    copy = make_thread(board, second_asker, title="Wi-Fi drops at night on hub")
    say_affected(original, ann, bob)
    say_affected(
        copy, bob, cat, first_asker if how == "merge" else cat
    )  # bob in both; the original's asker too
    if how == "merge":
        moderation.merge_threads(copy, original, actor=moderator)
    else:
        moderation.close_as_duplicate(copy, original, actor=moderator)
    db.session.commit()
    db.session.refresh(original)
    db.session.refresh(copy)
    members = set(
        db.session.scalars(select(AffectedMember.user_id).where(AffectedMember.thread_id == original.id))
    )
    # ann, bob (once), cat, and the copy's asker; the original's asker counts without a row
    assert members == {ann.id, bob.id, cat.id, second_asker.id}
    assert original.affected_total == 5
    assert copy.affected_count == 0 and _rows(copy.id) == 0
    assert (
        db.session.scalar(select(Watch.level).where(Watch.user_id == cat.id, Watch.target_id == original.id))
        == "affected"
    )


@pytest.mark.parametrize("how", ["merge", "duplicate"])
def test_merge_and_duplicate_recount_the_known_issues_7_day_counts(app, how):
    board = make_question_board()
    moderator = make_moderator()
    ann, bob, cat, dan = (make_member() for _ in range(4))
    copy_asker = make_member()
    original = make_thread(board, make_member(), title="Hub drops Wi-Fi every night")
    copy = make_thread(board, copy_asker, title="Wi-Fi drops at night on hub")
    for thread in (original, copy):
        set_status(thread, "reported", moderator)
    say_affected(original, ann, bob)
    say_affected(copy, bob, cat, dan)
    # dan's report on the copy is ten days old: out of the 7-day count since the last recount
    ten_days_ago = utcnow() - timedelta(days=10)
    db.session.execute(
        update(AffectedMember)
        .where(AffectedMember.thread_id == copy.id, AffectedMember.user_id == dan.id)
        .values(created_at=ten_days_ago, created_on=ten_days_ago.date())
    )
    services.recount_recent_affected()
    db.session.commit()
    assert (_recent(original), _recent(copy)) == (2, 2)
    if how == "merge":
        moderation.merge_threads(copy, original, actor=moderator)
    else:
        moderation.close_as_duplicate(copy, original, actor=moderator)
    db.session.commit()
    # ann, bob (once), cat and the copy's asker (asked today); dan moved, still ten days old
    assert _recent(original) == 4 and _recent(copy) == 0
    assert _rows(original.id) == 5


def test_status_timeline_refuses_jumps_back_with_a_message_on_the_field(app):
    board = make_question_board()
    moderator, employee = make_moderator(), make_employee()
    thread = make_thread(board, make_member())
    set_status(thread, "reported", moderator, "Many reports since Monday.")
    set_status(thread, "fixed", employee)
    with pytest.raises(Invalid) as refused:
        services.set_known_status(thread, "acknowledged", actor=employee)
    assert refused.value.field == "status" and "Recurred" in refused.value.message
    with pytest.raises(Invalid) as unknown:
        services.set_known_status(thread, "solved-ish", actor=employee)
    assert unknown.value.field == "status"
    with pytest.raises(Invalid) as long_note:
        services.set_known_status(thread, "recurred", "x" * 501, actor=employee)
    assert long_note.value.field == "note"
    db.session.rollback()
    set_status(thread, "recurred", moderator, "Back after the update.")
    set_status(thread, "acknowledged", employee)
    steps = list(db.session.scalars(select(KnownIssueChange.new_status).order_by(KnownIssueChange.id)))
    assert steps == ["reported", "fixed", "recurred", "acknowledged"]
    issue = services.known_issue(thread)
    assert issue.fixed_at is None and issue.acknowledged_at is not None


def test_timeline_shows_the_employee_badge_when_chosen(app, client):
    from forum.badges.permissions import active_badge

    board = make_question_board()
    employee = make_employee()
    thread = make_thread(board, make_member())
    set_status(thread, "acknowledged", employee, "Seen, thanks.", badge=active_badge(employee))
    set_status(thread, "workaround", employee, "Use cable.")
    page = client.get(thread.url).get_data(as_text=True)
    assert "Employee · " in page and "Seen, thanks." in page
    assert f">{employee.name}</a>" in page  # acting without the badge shows the member
