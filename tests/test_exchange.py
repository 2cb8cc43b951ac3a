"""Import, export, backup and restore in the forum data format (issue 8)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.extensions import db
from forum.wiki.models import WikiPage, WikiRevision
from tests.factories import login, make_board, make_thread, make_user
from tests.factories_exchange import (
    make_corpus,
    read_records,
    row_counts,
    run,
    write_records,
)

META = {"type": "meta", "format": "roundabout-corpus", "version": 1}
USER = {"type": "user", "id": 1, "username": "sarah_k82", "display_name": "Sarah K.",
        "email": "sarah@example.org", "joined_at": "2020-06-01T12:00:00Z", "is_employee": False,
        "is_moderator": False, "bio": ""}  # fmt: skip
CATEGORY = {
    "type": "category",
    "id": 1,
    "slug": "broadband",
    "name": "Broadband",
    "description": "",
    "position": 1,
}
THREAD = {"type": "thread", "id": 1, "category_id": 1, "user_id": 1, "title": "Router drops wifi",
          "body": "Every *evening*.", "created_at": "2021-01-01T09:12:00Z", "pinned": False, "locked": False}  # fmt: skip
POST = {"type": "post", "id": 1, "thread_id": 1, "user_id": 1, "body": "Try channel 6.",
        "created_at": "2021-01-01T10:40:12Z", "edited_at": None, "is_solution": True}  # fmt: skip
WIKI = {"type": "wiki_page", "id": 1, "slug": "reset-your-router", "title": "How to reset your router",
        "category_id": 1, "created_at": "2021-02-01T00:00:00Z",
        "revisions": [{"user_id": 1, "created_at": "2021-02-01T00:00:00Z", "summary": "First", "body": "Hold *reset*."}]}  # fmt: skip


def valid_records() -> list[dict]:
    return [dict(META), dict(USER), dict(CATEGORY), dict(THREAD), dict(POST), json.loads(json.dumps(WIKI))]


# -- importing a generated corpus ----------------------------------------------------------------


def test_import_generated_corpus_builds_a_browsable_forum(runner, client, tmp_path):
    corpus = make_corpus(tmp_path)
    meta = read_records(corpus)[0]
    result = run(runner, "import", corpus)
    assert result.exit_code == 0, result.output
    assert "Imported" in result.output
    counts = meta["counts"]
    assert row_counts()["users"] == counts["user"]
    assert row_counts()["threads"] == counts["thread"]
    assert row_counts()["posts"] == counts["thread"] + counts["post"]
    assert row_counts()["wiki_pages"] == counts["wiki_page"]
    # Counters are right, as if every post had been written through the services.
    board = db.session.scalar(select(Board).order_by(Board.position))
    assert board.thread_count == db.session.scalar(
        select(func.count()).select_from(Thread).where(Thread.board_id == board.id)
    )
    long_thread = db.session.scalar(select(Thread).order_by(Thread.post_count.desc()))
    assert long_thread.reply_count == long_thread.post_count - 1
    author = db.session.scalar(select(User).order_by(User.post_count.desc()))
    assert author.post_count == db.session.scalar(
        select(func.count()).select_from(Post).where(Post.author_id == author.id)
    )
    solved = db.session.scalar(select(Thread).where(Thread.solution_post_id.is_not(None)))
    solution = db.session.scalar(select(Post).where(Post.id == solved.solution_post_id))
    assert solution.thread_id == solved.id and solution.position > 1
    assert solution.author.solution_count >= 1
    # The pages show it.
    assert client.get("/").status_code == 200
    page = client.get(long_thread.url).get_data(as_text=True)
    assert long_thread.title.replace("'", "&#39;") in page
    assert client.get(f"{long_thread.url}?page={long_thread.page_count}").status_code == 200
    assert client.get(board.url).status_code == 200


def test_import_renders_markdown_and_keeps_refused_bodies_as_text(runner, tmp_path):
    records = valid_records()
    records[4]["body"] = "[" * 600 + " <script>alert(1)</script>"  # over the bracket limit: not rendered
    result = run(runner, "import", write_records(tmp_path / "f.jsonl", records))
    assert result.exit_code == 0, result.output
    opening, reply = (
        db.session.scalar(select(Post).where(Post.position == 1)),
        db.session.scalar(select(Post).where(Post.position == 2)),
    )
    assert opening.body_html == "<p>Every <em>evening</em>.</p>"
    assert "<script>" not in reply.body_html and "&lt;script&gt;" in reply.body_html
    assert reply.body_source == records[4]["body"]
    revision = db.session.scalar(select(WikiRevision))
    assert revision.body_html == "<p>Hold <em>reset</em>.</p>"


# -- validation: the line number and reason, and nothing changed ----------------------------------


def _broken(kind: str) -> tuple[list[dict], int, str]:
    records = valid_records()
    if kind == "missing field":
        del records[3]["title"]
        return records, 4, "no 'title' field"
    if kind == "dangling reference":
        records[4]["user_id"] = 99
        return records, 5, "user_id 99 refers to no user"
    if kind == "duplicate id":
        records.insert(2, dict(USER, username="other_user", email="other@example.org"))
        return records, 3, "user id 1 appears twice"
    if kind == "bad timestamp":
        records[1]["joined_at"] = "2020-06-01 12:00"
        return records, 2, "'joined_at' must be a UTC timestamp"
    if kind == "reply not after its thread":
        records.append(dict(POST, id=2))
        return records, 7, "must directly follow thread 1"
    if kind == "unknown type":
        records.append({"type": "poll", "id": 1})
        return records, 7, "unknown record type 'poll'"
    if kind == "bad username":
        records[1]["username"] = "Sarah K"
        return records, 2, "'username'"
    if kind == "wrong format":
        records[0]["format"] = "phpbb"
        return records, 1, "not a roundabout-corpus file"
    if kind == "two solutions":
        records.insert(5, dict(POST, id=2, created_at="2021-01-01T11:00:00Z"))
        return records, 6, "second reply marked as the solution"
    if kind == "huge id":
        records[3]["id"] = 2**40
        return records, 4, "'id' must be a positive integer"
    raise AssertionError(kind)


KINDS = ["missing field", "dangling reference", "duplicate id", "bad timestamp", "reply not after its thread",
         "unknown type", "bad username", "wrong format", "two solutions", "huge id"]  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_bad_record_stops_with_line_number_and_changes_nothing(runner, tmp_path, kind):
    records, line, reason = _broken(kind)
    result = run(runner, "import", write_records(tmp_path / "bad.jsonl", records))
    assert result.exit_code == 1
    assert f"line {line}:" in result.output and reason in result.output, result.output
    assert "Nothing was imported" in result.output
    assert set(row_counts().values()) == {0}


def test_bad_json_line_late_in_a_big_file_changes_nothing(runner, tmp_path):
    corpus = make_corpus(tmp_path)
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(len(lines) - 2, "{not json\n")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(lines), encoding="utf-8")
    result = run(runner, "import", broken)
    assert result.exit_code == 1
    assert f"line {len(lines) - 2}: not valid JSON" in result.output
    assert set(row_counts().values()) == {0}


def test_import_refuses_a_forum_with_content_unless_merging(runner, tmp_path):
    make_thread(title="Existing thread here")
    before = row_counts()
    result = run(runner, "import", write_records(tmp_path / "f.jsonl", valid_records()))
    assert result.exit_code == 1
    assert "has content already" in result.output and "--merge" in result.output
    assert row_counts() == before


# -- merging into a forum that has content -------------------------------------------------------


def test_merge_maps_ids_without_collisions(runner, client, tmp_path):
    same_person = make_user("sarah_local", email="sarah@example.org")
    make_user("sarah_k82", email="someone.else@example.org")  # the file's username is taken
    board = make_board("Broadband", slug="broadband")
    existing = make_thread(board, same_person, title="A thread from before", replies=2)
    existing_posts = db.session.scalar(select(func.count()).select_from(Post))
    records = valid_records()
    records.insert(2, dict(USER, id=2, username="new_member", email="new@example.org"))
    records.insert(3, dict(CATEGORY, id=2, slug="tv", name="TV"))
    records.insert(4, dict(CATEGORY, id=7, slug="billing", name="Billing"))
    records += [
        dict(THREAD, id=5, category_id=2, user_id=2, title="Box update lost recordings"),
        dict(POST, id=9, thread_id=5, user_id=1, is_solution=False),
    ]
    result = run(runner, "import", "--merge", write_records(tmp_path / "f.jsonl", records))
    assert result.exit_code == 0, result.output

    # The existing content is untouched and the new ids follow the old ones.
    assert db.session.scalar(select(Thread.title).where(Thread.id == existing.id)) == "A thread from before"
    assert db.session.scalar(select(func.count()).select_from(Post)) == existing_posts + 4
    assert db.session.scalar(select(func.count()).select_from(Thread)) == 3
    # Same e-mail address: the same person; a taken username: a suffix.
    router = db.session.scalar(select(Thread).where(Thread.title == "Router drops wifi"))
    assert router.author_id == same_person.id
    assert db.session.scalar(select(User.username).where(User.email == "new@example.org")) == "new_member"
    assert db.session.scalar(select(func.count()).select_from(User)) == 3
    # Same board slug: the same board; new boards get new ids.
    assert router.board_id == board.id
    assert board.thread_count == 2
    assert db.session.scalar(select(Board.name).where(Board.slug == "tv")) == "TV"
    assert router.solution_post_id == db.session.scalar(
        select(Post.id).where(Post.thread_id == router.id, Post.position == 2)
    )
    assert db.session.scalar(select(WikiPage.board_id)) == board.id
    # Both threads open, and the merged forum still takes new posts (no id collisions).
    assert client.get(router.url).status_code == 200
    login(client, same_person)
    response = client.post(f"/t/{router.id}/reply", data={"body": "A new reply after the merge"})
    assert response.status_code == 302


def test_merge_twice_renames_wiki_slug_and_keeps_everything(runner, tmp_path):
    path = write_records(tmp_path / "f.jsonl", valid_records())
    assert run(runner, "import", path).exit_code == 0
    result = run(runner, "import", "--merge", path)
    assert result.exit_code == 0, result.output
    assert sorted(db.session.scalars(select(WikiPage.slug))) == ["reset-your-router", "reset-your-router-2"]
    assert row_counts()["threads"] == 2 and row_counts()["users"] == 1
