"""Counters that never drift (issue #13): hide/delete/restore paths and `flask forum recount`."""

from __future__ import annotations

from sqlalchemy import text

from forum.boards import services as boards
from forum.counters.rows import counters, find_drift
from forum.extensions import db
from forum.moderation import services as moderation
from tests.factories import make_board, make_thread, make_user
from tests.factories_moderation import make_moderator


def _counts(board, thread, author):  # noqa: ANN001, ANN202
    db.session.expire_all()
    return board.post_count, thread.reply_count, author.post_count


def test_deleting_a_post_a_moderator_hid_takes_it_out_of_the_counters_once(app):
    board, author, moderator = make_board(), make_user(), make_moderator()
    thread = make_thread(board, make_user(), replies=1)
    reply = boards.reply(thread, "A reply that breaks the rules.", actor=author)
    db.session.commit()
    assert _counts(board, thread, author) == (3, 2, 1)
    moderation.hide_post(reply, "Personal data", actor=moderator)
    db.session.commit()
    assert _counts(board, thread, author) == (2, 1, 0)
    boards.delete_post(reply, actor=author)  # the author deletes it afterwards
    db.session.commit()
    assert _counts(board, thread, author) == (2, 1, 0)
    assert find_drift() == []


def test_restoring_a_hidden_and_deleted_post_does_not_count_it_again(app):
    board, author, moderator = make_board(), make_user(), make_moderator()
    thread = make_thread(board, make_user())
    reply = boards.reply(thread, "Hidden, then deleted.", actor=author)
    db.session.commit()
    moderation.hide_post(reply, "Spam", actor=moderator)
    boards.delete_post(reply, actor=moderator)
    db.session.commit()
    assert _counts(board, thread, author) == (1, 0, 0)
    moderation.restore_post(reply, "Not spam after all", actor=moderator)
    db.session.commit()
    assert reply.hidden_at is None and reply.deleted_at is not None
    assert _counts(board, thread, author) == (1, 0, 0)
    assert thread.last_post_id == thread_opening_id(thread)


def thread_opening_id(thread):  # noqa: ANN001, ANN201
    return db.session.execute(
        text("SELECT id FROM posts WHERE thread_id = :t AND position = 1"), {"t": thread.id}
    ).scalar()


def test_recount_check_names_drift_and_recount_repairs_it(app, runner):
    board, author = make_board(), make_user()
    thread = make_thread(board, author, replies=2)
    assert runner.invoke(args=["forum", "recount", "--check"]).exit_code == 0
    db.session.execute(text("UPDATE boards SET post_count = 101 WHERE id = :id"), {"id": board.id})
    db.session.execute(text("UPDATE threads SET reply_count = 0 WHERE id = :id"), {"id": thread.id})
    db.session.execute(text("UPDATE users SET post_count = post_count + 5, reputation = 7"))
    db.session.commit()

    check = runner.invoke(args=["forum", "recount", "--check"])
    assert check.exit_code == 1
    assert f"boards.post_count of row {board.id}: stored 101, the rows say 3" in check.output
    assert f"threads.reply_count of row {thread.id}: stored 0, the rows say 2" in check.output
    assert "users.post_count" in check.output and "users.reputation" in check.output
    assert db.session.scalar(text("SELECT post_count FROM boards")) == 101  # --check changes nothing

    repaired = runner.invoke(args=["forum", "recount"])
    assert repaired.exit_code == 0, repaired.output
    assert "Recounting" in repaired.output and "4 row(s) corrected" in repaired.output
    db.session.expire_all()
    assert (board.post_count, thread.reply_count, author.post_count, author.reputation) == (3, 2, 3, 0)
    again = runner.invoke(args=["forum", "recount", "--check"])
    assert again.exit_code == 0 and f"All {len(counters())} counters match the rows." in again.output


def test_moderator_actions_keep_every_counter(app):
    """Move, merge, split, delete: after each, every counter equals its recount."""
    first, second = make_board(), make_board()
    moderator, author = make_moderator(), make_user()
    one = make_thread(first, author, replies=3)
    two = make_thread(first, make_user(), replies=1)
    moderation.move_thread(two, second, actor=moderator)
    db.session.commit()
    assert find_drift() == []
    replies = [post.id for post in db.session.scalars(one.posts.select().where(text("position > 2")))]
    moderation.split_thread(one, replies, "A split thread title", second, actor=moderator)
    db.session.commit()
    assert find_drift() == []
    moderation.merge_threads(two, one, actor=moderator)
    db.session.commit()
    assert find_drift() == []
    moderation.delete_thread(one, "Off topic", actor=moderator)
    db.session.commit()
    assert find_drift() == []
    db.session.expire_all()
    assert (first.thread_count, author.thread_count) == (0, 1)
