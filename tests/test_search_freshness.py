"""Every change search shows reaches the index through the outbox (issue #13).

The index holds the fields of `forum.search.documents.Document`; for each field that can
change after a post is written, a member or moderator changes it through the services and
a search, as a reader types it, must show the change. A field added to the documents
without a case here fails `test_every_indexed_field_is_covered`. On an empty or missing
index, search says "Nothing found" (200).
"""

from __future__ import annotations

import dataclasses
import re
import shutil

from forum.badges.permissions import active_badge
from forum.boards import services as boards
from forum.extensions import db
from forum.moderation import services as moderation
from forum.moderation import users as members
from forum.qa import services as qa
from forum.search import outbox
from forum.search.documents import Document
from forum.wiki import editing as wiki
from tests.factories import make_board, make_thread, make_user
from tests.factories_badges import make_employee
from tests.factories_moderation import make_admin, make_moderator
from tests.factories_wiki import make_editor, make_page

# Which test proves a change of each field reaches the index ("never changes": set once).
COVERED = {
    "key": "never changes", "kind": "never changes", "object_id": "never changes",
    "created": "never changes",
    "title": "test_renamed_thread_and_wiki_page",
    "body": "test_edited_post_and_wiki_page",
    "author": "test_deleted_account_leaves_the_author_filter",
    "board": "test_moved_thread_and_renamed_board",
    "group": "test_merged_and_split_threads", "thread_id": "test_merged_and_split_threads",
    "opening": "test_merged_and_split_threads",
    "solved": "test_solution_marked_and_unmarked",
    "employee": "test_employee_reply_and_its_hiding",
}  # fmt: skip


def titles(client, query: str) -> list[str]:  # noqa: ANN001
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    found = re.findall(
        r'<h2 class="result-title">.*?<a href="[^"]+">(.*?)</a>', response.get_data(as_text=True), re.S
    )
    return sorted(re.sub(r"</?mark>", "", title) for title in found)


def commit() -> None:
    db.session.commit()
    outbox.drain(wait=5)


def test_every_indexed_field_is_covered():
    fields = {field.name for field in dataclasses.fields(Document)}
    assert fields == set(COVERED), f"index fields without a freshness test: {fields - set(COVERED)}"
    for proof in set(COVERED.values()) - {"never changes"}:
        assert proof in globals(), proof


def test_solution_marked_and_unmarked(client):
    asker = make_user()
    thread = make_thread(make_board(kind="questions"), asker, title="Modem light blinks orange")
    answer = boards.reply(thread, "Replace the power brick.", actor=make_user())
    commit()
    assert titles(client, "modem status:solved") == []
    qa.mark_solution(answer, actor=asker)
    commit()
    assert titles(client, "modem status:solved") == ["Modem light blinks orange"]
    assert titles(client, "modem status:unsolved") == []
    qa.unmark_solution(thread, actor=asker)
    commit()
    assert titles(client, "modem status:unsolved") == ["Modem light blinks orange"]


def test_renamed_thread_and_wiki_page(client):
    thread = make_thread(title="Help please", body="The voicemail greeting is gone.")
    page = make_page("Router lights", "What each light means.", author=make_editor())
    moderation.rename_thread(thread, "Voicemail greeting lost", actor=make_moderator())
    wiki.rename_page(page, "Modem lights explained", actor=make_editor())
    commit()
    assert titles(client, "voicemail in:title") == ["Voicemail greeting lost"]
    assert titles(client, "explained in:title") == ["Modem lights explained"]
    assert titles(client, "help in:title") == []


def test_edited_post_and_wiki_page(client):
    thread = make_thread(title="Billing question", body="Charged twice in March.")
    page = make_page("Billing dates", "Bills arrive on the first.", author=make_editor())
    opening = db.session.scalar(thread.posts.select().limit(1))
    boards.edit_post(opening, "Charged twice in April.", actor=thread.author)
    wiki.edit_page(page, "Bills arrive on the fifteenth.", actor=make_editor(),
                   base_revision_id=page.current_revision_id, summary="")  # fmt: skip
    commit()
    assert titles(client, "april") == ["Billing question"] and titles(client, "march") == []
    assert titles(client, "fifteenth") == ["Billing dates"] and titles(client, "first") == []


def test_deleted_account_leaves_the_author_filter(client):
    leaver = make_user("leaver")
    make_thread(author=leaver, title="Roaming charges abroad")
    commit()
    assert titles(client, "@leaver") == ["Roaming charges abroad"]
    members.delete_account(leaver, "Asked by the member", actor=make_admin())
    commit()
    assert titles(client, "@leaver") == []
    assert titles(client, "roaming") == ["Roaming charges abroad"]  # the post stays, anonymous


def test_moved_thread_and_renamed_board(client, app):
    tv, mobile = make_board("TV", slug="tv"), make_board("Mobile", slug="mobile")
    thread = make_thread(tv, title="Remote control pairing")
    commit()
    moderation.move_thread(thread, mobile, actor=make_moderator())
    commit()
    assert (
        titles(client, "remote #mobile") == ["Remote control pairing"] and titles(client, "remote #tv") == []
    )
    boards.update_board(mobile, name="Phones", slug="phones", description="", kind="questions")
    commit()
    assert titles(client, "remote #phones") == ["Remote control pairing"]


def test_merged_and_split_threads(client):
    moderator = make_moderator()
    board = make_board()
    first = make_thread(board, title="Fibre outage Leeds", body="Down since nine.")
    second = make_thread(board, title="Leeds broadband down", body="Cabinet sparks seen.")
    commit()
    moderation.merge_threads(second, first, actor=moderator)
    commit()
    assert titles(client, "cabinet sparks") == ["Fibre outage Leeds"]
    reply = boards.reply(first, "Engineer visit booked for the cabinet.", actor=make_user())
    commit()
    moderation.split_thread(first, [reply.id], "Engineer visits", board, actor=moderator)
    commit()
    assert titles(client, "engineer") == ["Engineer visits"]
    assert titles(client, "engineer in:title") == ["Engineer visits"]


def test_employee_reply_and_its_hiding(client, app):
    app.config.update(COMPANY_NAME="Example Telecom")
    thread = make_thread(title="Outage in York", body="No service.")
    employee = make_employee()
    reply = boards.reply(thread, "We are on it.", actor=employee, badge=active_badge(employee))
    commit()
    assert titles(client, "outage is:employee") == ["Outage in York"]
    moderation.hide_post(reply, "Wrong thread", actor=make_moderator())
    commit()
    assert titles(client, "outage is:employee") == []
    assert titles(client, "outage") == ["Outage in York"]


def test_hidden_and_deleted_posts_leave_and_come_back(client):
    thread = make_thread(title="Landline crackle")
    reply = boards.reply(thread, "Crackle stops when the filter is out.", actor=make_user())
    commit()
    moderator = make_moderator()
    moderation.hide_post(reply, "Spam", actor=moderator)
    commit()
    assert titles(client, "filter") == []
    moderation.restore_post(reply, actor=moderator)
    commit()
    assert titles(client, "filter") == ["Landline crackle"]
    boards.delete_post(reply, actor=reply.author)
    commit()
    assert titles(client, "filter") == []


def test_an_empty_or_missing_index_says_nothing_found(client, app):
    for query in ("router", '"factory reset"', "router status:solved", "router order:latest", "@nobody"):
        response = client.get("/search", query_string={"q": query})
        assert response.status_code == 200 and "Nothing found" in response.get_data(as_text=True)
    shutil.rmtree(app.config["SEARCH_INDEX_DIR"], ignore_errors=True)
    response = client.get("/search", query_string={"q": "router"})
    assert response.status_code == 200 and "Nothing found" in response.get_data(as_text=True)


def test_an_index_behind_the_database_is_rebuilt_by_the_periodic_job(client, app):
    from sqlalchemy import delete

    from forum.jobs.periodic import REGISTRY
    from forum.search.models import SearchOutbox

    make_thread(title="Indexed before the upgrade")
    commit()
    job = REGISTRY["search-consistency"]
    assert job.every == 600 and job.run() == "in step: 1 documents indexed"
    # An older release, or a restored backup: rows the index never heard of.
    app.config["SEARCH_DRAIN_AFTER_COMMIT"] = False
    make_thread(title="Written while the index was elsewhere")
    db.session.execute(delete(SearchOutbox))
    db.session.commit()
    assert titles(client, "elsewhere") == []
    detail = job.run()
    assert detail.startswith("rebuilt: the index had 1 documents, the database 2")
    assert titles(client, "elsewhere") == ["Written while the index was elsewhere"]
