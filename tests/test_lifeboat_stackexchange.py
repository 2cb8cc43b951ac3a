"""`flask lifeboat stackexchange` on the real dumps in ../shared/realdata/, then imported."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import func, select

from forum import create_app
from forum.boards.models import Post, Thread
from forum.extensions import db
from forum.lifeboat.models import PostOrigin
from tests.factories_exchange import read_records, run

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
SITES = ("iot.stackexchange.com", "bicycles.meta.stackexchange.com")
pytestmark = pytest.mark.skipif(not REALDATA.is_dir(), reason=f"no real data at {REALDATA}")


def convert(folder: Path, out: Path, *args: str) -> object:
    """Run the converter through the CLI (it reads files only: no database is needed)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40, "TESTING": True})
    return app.test_cli_runner().invoke(args=["lifeboat", "stackexchange", str(folder), str(out), *args])


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> dict[str, Path]:
    """Each real site converted once for the module."""
    out = {}
    for site in SITES:
        path = tmp_path_factory.mktemp("se") / f"{site}.jsonl"
        result = convert(REALDATA / site, path, "--tag-board", "mqtt=mqtt", "--tag-board", "bicycles=bikes")
        assert result.exit_code == 0, result.output
        out[site] = path
    return out


def dump_rows(site: str, name: str) -> list[dict[str, str]]:
    return [row.attrib for row in ET.parse(REALDATA / site / name).getroot()]


@pytest.mark.parametrize("site", SITES)
def test_every_question_answer_and_accepted_answer_arrives(converted, site):
    posts = dump_rows(site, "Posts.xml")
    questions = {row["Id"]: row for row in posts if row["PostTypeId"] == "1"}
    answers = {
        row["Id"]: row for row in posts if row["PostTypeId"] == "2" and row.get("ParentId") in questions
    }
    accepted = {
        row["AcceptedAnswerId"] for row in questions.values() if row.get("AcceptedAnswerId") in answers
    }
    written = read_records(converted[site])
    threads = {str(r["id"]): r for r in written if r["type"] == "thread"}
    replies = {str(r["id"]): r for r in written if r["type"] == "post"}
    assert set(threads) == set(questions) and set(replies) == set(answers)
    assert {key for key, reply in replies.items() if reply["is_solution"]} == accepted
    assert written[0]["counts"]["thread"] == len(questions) and written[0]["counts"]["post"] == len(answers)
    # Record by record on a sample: title, author, answers in their thread, comments with attribution.
    comments = dump_rows(site, "Comments.xml")
    users = {row["Id"]: row["DisplayName"] for row in dump_rows(site, "Users.xml")}
    for question_id in sorted(questions, key=int)[::40]:
        question = questions[question_id]
        thread = threads[question_id]
        assert thread["title"] == " ".join(question["Title"].split())
        origin = next(r for r in written if r["type"] == "origin" and r["post_id"] == int(question_id))
        assert origin["author_name"] == users.get(
            question.get("OwnerUserId"), question.get("OwnerDisplayName", "")
        )
        assert origin["url"] == f"https://{site}/q/{question_id}" and origin["license"].startswith("CC BY-SA")
        for comment in (c for c in comments if c["PostId"] == question_id):
            assert " ".join(comment["Text"].split())[:40] in thread["body"]
        for answer_id, answer in answers.items():
            if answer["ParentId"] == question_id:
                assert replies[answer_id]["thread_id"] == int(question_id)


def test_duplicates_tags_boards_and_old_addresses(converted):
    written = read_records(converted["iot.stackexchange.com"])
    duplicates = [(r["thread_id"], r["original_id"]) for r in written if r["type"] == "thread_duplicate"]
    links = [row for row in dump_rows("iot.stackexchange.com", "PostLinks.xml") if row["LinkTypeId"] == "3"]
    thread_ids = {r["id"] for r in written if r["type"] == "thread"}
    expected = {(int(r["PostId"]), int(r["RelatedPostId"])) for r in links}
    assert set(duplicates) == {pair for pair in expected if pair[0] in thread_ids and pair[1] in thread_ids}
    boards = {r["id"]: r["slug"] for r in written if r["type"] == "category"}
    assert sorted(boards.values()) == ["iot-stackexchange-com", "mqtt"]
    mqtt = [r for r in written if r["type"] == "thread" and boards[r["category_id"]] == "mqtt"]
    assert mqtt and all("`mqtt`" in r["body"] for r in mqtt)
    urls = {r["url"] for r in written if r["type"] == "old_url"}
    assert any(url.startswith("https://iot.stackexchange.com/questions/1/") for url in urls)
    assert all(r.get("email") is None for r in written if r["type"] == "user")  # the dump has none


@pytest.mark.parametrize("site", SITES)
def test_converted_dump_imports_and_is_searchable_at_once(runner, client, converted, site, backend):
    if backend == "postgresql" and site != SITES[0]:
        pytest.skip(
            "PostgreSQL is covered by the first site; the second is imported into SQLite only (suite time)"
        )
    result = run(runner, "import", converted[site])
    assert result.exit_code == 0, result.output
    written = read_records(converted[site])
    assert db.session.scalar(select(func.count()).select_from(Thread)) == written[0]["counts"]["thread"]
    assert db.session.scalar(select(func.count()).select_from(Post)) == (
        written[0]["counts"]["thread"] + written[0]["counts"]["post"]
    )
    assert db.session.scalar(select(func.count()).select_from(PostOrigin)) == written[0]["counts"]["origin"]
    solved = db.session.scalar(
        select(func.count()).select_from(Thread).where(Thread.solution_post_id.is_not(None))
    )
    assert solved == sum(1 for r in written if r["type"] == "post" and r["is_solution"])
    thread = next(r for r in written if r["type"] == "thread")
    word = max(thread["title"].split(), key=len).strip("?.,!()")
    page = client.get(f"/search?q={word}").get_data(as_text=True)
    assert f'href="/t/{thread["id"]}/' in page
    old = client.get(f"/questions/{thread['id']}/whatever")
    assert old.status_code == 301 and old.headers["Location"].startswith(f"/t/{thread['id']}/")


def test_entity_expansion_is_refused(tmp_path):
    folder = tmp_path / "evil.stackexchange.com"
    folder.mkdir()
    (folder / "Users.xml").write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE users [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;">]>\n<users><row Id="1" DisplayName="&c;" CreationDate="2020-01-01T00:00:00"/></users>\n'
    )
    (folder / "Posts.xml").write_text("<posts></posts>\n")
    result = convert(folder, tmp_path / "out.jsonl")
    assert result.exit_code != 0
    assert "refused" in result.output and "Users.xml" in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_truncated_xml_stops_with_a_clear_message_and_the_rerun_resumes(tmp_path):
    site = "iot.stackexchange.com"
    folder = tmp_path / site
    shutil.copytree(REALDATA / site, folder)
    full = (folder / "Posts.xml").read_bytes()
    (folder / "Posts.xml").write_bytes(full[: len(full) // 2])
    out = tmp_path / "out.jsonl"
    first = convert(folder, out)
    assert first.exit_code == 1
    assert (
        "Posts.xml: not well-formed XML at line" in first.output and "is the file complete?" in first.output
    )
    assert not out.exists() and (tmp_path / "out.jsonl.lifeboat-state").exists()
    (folder / "Posts.xml").write_bytes(full)  # the whole file arrived after all
    second = convert(folder, out)
    assert second.exit_code == 0, second.output
    assert "Resuming" in second.output
    written = read_records(out)
    ids = [(r["type"], r.get("id")) for r in written if r["type"] in ("thread", "post", "user")]
    assert len(ids) == len(set(ids))
    assert written[0]["counts"]["thread"] == 320 and written[0]["counts"]["post"] == 508
    assert not (tmp_path / "out.jsonl.lifeboat-state").exists()


def test_a_50_megabyte_post_stops_the_run_unless_skipped(tmp_path):
    folder = tmp_path / "big.stackexchange.com"
    folder.mkdir()
    (folder / "Users.xml").write_text(
        '<users><row Id="1" DisplayName="Al" CreationDate="2020-01-01T00:00:00"/></users>'
    )
    with open(folder / "Posts.xml", "w") as posts:
        posts.write(
            '<posts><row Id="1" PostTypeId="1" Title="Small" Body="&lt;p&gt;hi&lt;/p&gt;" '
            'OwnerUserId="1" CreationDate="2020-01-02T00:00:00"/>\n<row Id="2" PostTypeId="1" Title="Huge" Body="'
        )
        posts.write("x" * 50_000_000)
        posts.write('" OwnerUserId="1" CreationDate="2020-01-02T00:00:00"/></posts>\n')  # fmt: skip
    out = tmp_path / "out.jsonl"
    refused = convert(folder, out)
    assert refused.exit_code == 1 and re.search(r"thread 2 is 50,000,\d{3} characters long", refused.output)
    assert "--skip-oversized" in refused.output
    skipped = convert(folder, out, "--skip-oversized")
    assert skipped.exit_code == 0, skipped.output
    assert "post 2: longer than 1,000,000 characters" in skipped.output
    assert [r["title"] for r in read_records(out) if r["type"] == "thread"] == ["Small"]
