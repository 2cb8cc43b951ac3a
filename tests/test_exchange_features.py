"""Export and import of the features merged after the exchange: Q&A votes and solutions, ideas,
employee badges, watches and notification preferences, wiki renames and links (issue 8)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forum.auth.models import User
from forum.badges import granting, verification
from forum.badges.models import BadgeVerification, EmployeeBadge
from forum.boards import services as boards
from forum.boards.models import Post, Thread
from forum.db import utcnow
from forum.extensions import db
from forum.follow import services as follow
from forum.follow.models import Bookmark, Draft, ThreadRead
from forum.ideas import services as ideas
from forum.ideas.models import Idea
from forum.notifications import delivery, watches
from forum.notifications.models import Notification, Watch
from forum.qa import services as qa
from forum.qa.models import HelpfulVote
from forum.wiki import editing as wiki
from forum.wiki.models import WikiLink, WikiPage, WikiRedirect
from tests.factories import login, make_board, make_user
from tests.factories_exchange import empty_database, read_records, run, write_records
from tests.test_exchange_backup import _Links

WORK_ADDRESS = "una.s+forum@example-telecom.com"
GRANT_REASON = "Vic works in second-line support (private note)"


@pytest.fixture
def app_config(app_config):
    app_config["EMPLOYEE_EMAIL_DOMAINS"] = "example-telecom.com"
    return app_config


def build_forum_with_every_feature() -> dict[str, object]:
    """Through the services: votes, a solution, an idea with votes and a status change, a badge
    granted by a moderator, one verified by e-mail, badged replies, watches, preferences, a renamed
    wiki page with links."""
    old = utcnow() - timedelta(days=90)
    admin = make_user("ada_admin", role="admin", created_at=old)
    moderator = make_user("mo_mod", role="moderator", created_at=old)
    maria, tom = make_user("maria", created_at=old), make_user("tom_h", created_at=old)
    una, vic = make_user("una_s", created_at=old), make_user("vic_emp", created_at=old)
    questions = make_board("Broadband", slug="broadband", kind="questions")
    ideas_board = make_board("Ideas", slug="ideas", kind="ideas")
    # Badges: one granted by a moderator, one proved with a work address.
    vic_badge = granting.grant_badge(vic, actor=moderator, reason=GRANT_REASON)
    _verification, link = verification.request_verification(una, WORK_ADDRESS)
    una_badge = verification.confirm_verification(link.rsplit("/", 1)[1], actor=una)
    db.session.commit()
    # A question, answers (two with a badge), helpful votes and the accepted solution.
    thread = boards.start_thread(questions, "Router drops wifi every evening", "Lights stay **green**.",
                                 actor=maria)  # fmt: skip
    answer = boards.reply(thread, "Try channel 6.", actor=tom)
    staff = boards.reply(thread, "We are looking at the evening drops.", actor=una, badge=una_badge)
    boards.reply(thread, "Firmware 2.1 fixes it.", actor=vic, badge=vic_badge)
    db.session.commit()
    qa.set_helpful(answer, actor=maria)
    qa.set_helpful(answer, actor=una)
    qa.set_helpful(staff, actor=maria)
    qa.mark_solution(answer, actor=maria)
    db.session.commit()
    # An idea with votes and a status change by an employee.
    idea = boards.start_thread(ideas_board, "Dark mode for the app", "Please.", actor=tom)
    db.session.commit()
    ideas.set_idea_vote(idea, actor=maria, vote=True)
    ideas.set_idea_vote(idea, actor=una, vote=True)
    ideas.set_idea_status(idea, "planned", "Coming in the spring release", actor=vic)
    db.session.commit()
    # Watches and notification preferences.
    watches.set_watch("board", questions.id, "watching", actor=maria)
    watches.set_watch("thread", thread.id, "muted", actor=tom)
    delivery.update_preferences(tom, notify_email="digest", watch_on_post=False)
    # The wiki: a page that links to another, then renamed (its old address redirects).
    wiki.create_page("Firmware updates", "Install **2.1**, then [[Reset your router]].", actor=admin)
    page = wiki.create_page("Reset your router", "Hold reset. See [[Firmware updates]] and [[Missing page]].",
                            actor=admin, board_id=questions.id)  # fmt: skip
    db.session.commit()
    wiki.rename_page(page, "Resetting your router", actor=admin, reason="clearer")
    watches.set_watch("wiki", page.id, "watching", actor=maria)
    db.session.commit()
    # -- follow -- (issue #15): a bookmark with a note, a board marked read, a draft (never exported).
    follow.bookmark_post(answer, actor=maria, note="the fix")
    follow.mark_board_read(questions, actor=tom)
    follow.save_draft(actor=maria, thread=thread, body="An unsent reply")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Notification)) > 0
    return {"thread": thread.id, "idea": idea.id, "thread_url": thread.url, "idea_url": idea.url}


def public_pages(client, built: dict[str, object]) -> dict[str, str]:
    pages = {}
    urls = ["/", "/b/broadband", "/b/ideas", built["thread_url"], built["idea_url"], "/u/tom_h", "/u/una_s",
            "/u/vic_emp", "/u/maria", "/wiki/resetting-your-router", "/wiki/firmware-updates",
            "/wiki/firmware-updates/links", "/wiki/resetting-your-router/history", "/wiki"]  # fmt: skip
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.get_data(as_text=True)
    old = client.get("/wiki/reset-your-router")
    assert old.status_code in (301, 302, 308)
    pages["redirect"] = old.headers["Location"]
    return pages


def feature_state() -> dict[str, object]:
    """What the features hold, by username, so it compares across databases."""
    names = dict(db.session.execute(select(User.id, User.username)).all())
    return {
        "users": sorted(
            (u.username, u.post_count, u.solution_count, u.reputation, u.notify_email, u.watch_on_post)
            for u in db.session.scalars(select(User))
        ),
        "helpful": sorted((p.id, p.helpful_count, p.badge_id) for p in db.session.scalars(select(Post))),
        "votes": sorted((v.post_id, names[v.user_id]) for v in db.session.scalars(select(HelpfulVote))),
        "ideas": sorted((i.thread_id, i.status, i.vote_count) for i in db.session.scalars(select(Idea))),
        "watches": sorted(
            (names[w.user_id], w.target_type, w.target_id, w.level) for w in db.session.scalars(select(Watch))
        ),  # fmt: skip
        "badges": sorted(
            (names[b.user_id], b.method, b.domain, b.address_hash, b.grant_reason)
            for b in db.session.scalars(select(EmployeeBadge))
        ),  # fmt: skip
        "employee_replies": sorted(t.id for t in db.session.scalars(select(Thread)) if t.has_employee_reply),
        "links": sorted((link.page_id, link.target_slug) for link in db.session.scalars(select(WikiLink))),
        "redirects": sorted(
            (r.old_slug, r.page_id, r.revision_id) for r in db.session.scalars(select(WikiRedirect))
        ),
    }


def test_full_backup_with_every_feature_restores_pages_counters_and_bytes(make_client, runner, tmp_path):
    built = build_forum_with_every_feature()
    before_pages = public_pages(make_client(), built)
    before = feature_state()
    assert before["employee_replies"] == [built["thread"]] and before["links"] and before["redirects"]
    backup, again = tmp_path / "backup.jsonl", tmp_path / "again.jsonl"
    result = run(runner, "export", backup, "--full")
    assert result.exit_code == 0, result.output
    records = read_records(backup)
    kinds = {r["type"] for r in records}
    for kind in ("employee_badge", "helpful_vote", "idea", "idea_vote", "idea_status_change", "watch",
                 "wiki_redirect", "thread_read", "board_read", "bookmark"):  # fmt: skip
        assert kind in kinds, kind
    assert "An unsent reply" not in backup.read_text(encoding="utf-8")  # drafts stay behind
    # The work address is never in a backup (the forum does not keep it); its keyed hash is.
    content = backup.read_text(encoding="utf-8")
    assert "una.s" not in content and "example-telecom.com" in content and GRANT_REASON in content
    empty_database()
    result = run(runner, "import", backup)
    assert result.exit_code == 0, result.output
    assert public_pages(make_client(), built) == before_pages
    assert feature_state() == before
    # The live counters agree with the rows: `flask qa recount` finds nothing to correct.
    assert qa.recount() == 0 and ideas.recount() == 0
    db.session.rollback()
    result = run(runner, "export", again, "--full")
    assert result.exit_code == 0, result.output
    assert backup.read_bytes() == again.read_bytes()
    # Pending badge links and notifications are transient: not in the backup.
    assert db.session.scalar(select(func.count()).select_from(BadgeVerification)) == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 0
    assert [b.note for b in db.session.scalars(select(Bookmark))] == ["the fix"]
    assert db.session.scalar(select(func.count()).select_from(ThreadRead)) > 0
    assert db.session.scalar(select(User.unread_notification_count).where(User.username == "maria")) == 0
    # The restored forum works: members log in, vote and reply with their badge.
    vic = make_client()
    login(vic, "vic_emp")
    response = vic.post(f"/t/{built['thread']}/reply", data={"body": "Still fixed after the restore."})
    assert response.status_code == 302


def test_public_export_of_every_feature_has_nothing_private_and_round_trips(make_client, runner, tmp_path):
    built = build_forum_with_every_feature()
    before_pages = public_pages(make_client(), built)
    archive, again = tmp_path / "public.jsonl", tmp_path / "again.jsonl"
    assert run(runner, "export", archive, "--public").exit_code == 0
    content = archive.read_text(encoding="utf-8")
    hashes = [b.address_hash for b in db.session.scalars(select(EmployeeBadge)) if b.address_hash]
    assert hashes
    for private in (*hashes, "address_hash", "example-telecom.com", '"domain"', GRANT_REASON, "grant_reason",
                    "granted_by_id", "notify_email", "watch_on_post", "last_digest_at", '"type":"watch"',
                    '"type":"thread_read"', '"type":"board_read"', '"type":"bookmark"', "the fix",
                    '"type":"helpful_vote"', '"type":"idea_vote"', "@example.org", "$argon2"):  # fmt: skip
        assert private not in content, private
    assert not re.search(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b", content)
    records = read_records(archive)
    kinds = {r["type"] for r in records}
    assert {"employee_badge", "idea", "idea_status_change", "wiki_redirect"} <= kinds
    # What visitors see survives without the private rows: counts, badges, statuses, redirects.
    empty_database()
    result = run(runner, "import", archive)
    assert result.exit_code == 0, result.output
    after_pages = public_pages(make_client(), built)
    assert after_pages == before_pages
    assert run(runner, "export", again, "--public").exit_code == 0
    assert archive.read_bytes() == again.read_bytes()


def test_imported_counts_survive_recounts_new_votes_and_full_backups(make_client, runner, tmp_path):
    """A public archive (or another forum's likes) brings counts without voters: `flask forum
    recount` used to set them to zero. Now they are carried, new votes add to them, and a
    full backup of the forum restores both parts."""
    build_forum_with_every_feature()
    archive, backup = tmp_path / "public.jsonl", tmp_path / "backup.jsonl"
    assert run(runner, "export", archive, "--public").exit_code == 0
    empty_database()
    assert run(runner, "import", archive).exit_code == 0, "the public archive imports"
    imported = feature_state()
    assert imported["votes"] == [] and any(count for _id, count, _badge in imported["helpful"])
    assert any(votes for _thread, _status, votes in imported["ideas"])
    recount = runner.invoke(args=["forum", "recount"])
    assert recount.exit_code == 0, recount.output
    db.session.expire_all()
    assert feature_state() == imported, "a recount keeps the imported counts"
    # A member of the new forum finds an imported post helpful: one more than before.
    post = db.session.scalars(select(Post).where(Post.helpful_count > 0, Post.position > 1)).first()
    voter = make_user("new_voter")
    counted = post.helpful_count
    qa.set_helpful(post, actor=voter, helpful=True)
    db.session.commit()
    assert post.helpful_count == counted + 1 and post.helpful_carried == counted
    assert qa.recount() == 0 and ideas.recount() == 0
    before = feature_state()
    assert run(runner, "export", backup, "--full").exit_code == 0
    empty_database()
    assert run(runner, "import", backup).exit_code == 0
    assert feature_state() == before, "the full backup restores votes and carried counts"
    assert qa.recount() == 0 and ideas.recount() == 0


def test_vote_records_decide_the_counts_when_a_file_has_them(make_client, runner, tmp_path):
    build_forum_with_every_feature()
    before = feature_state()
    backup = tmp_path / "backup.jsonl"
    assert run(runner, "export", backup, "--full").exit_code == 0
    records = read_records(backup)
    for record in records:  # a file written by another tool: votes, but no (or wrong) counts
        record.get("opening_post", {}).pop("helpful_count", None)
        if record["type"] == "post":
            record["helpful_count"] = 7
        if record["type"] == "idea":
            record["vote_count"] = 0
    empty_database()
    result = run(runner, "import", write_records(tmp_path / "edited.jsonl", records))
    assert result.exit_code == 0, result.output
    assert feature_state() == before
    assert qa.recount() == 0 and ideas.recount() == 0


def test_merge_import_of_feature_records_maps_their_ids(make_client, runner, tmp_path):
    built = build_forum_with_every_feature()
    backup = tmp_path / "backup.jsonl"
    assert run(runner, "export", backup, "--full").exit_code == 0
    before = feature_state()
    result = run(runner, "import", "--merge", backup)
    assert result.exit_code == 0, result.output
    after = feature_state()
    # Same people (same e-mail addresses): their votes, watches and badges are now doubled onto new
    # copies of the threads; the existing board watch is not duplicated.
    assert len(after["votes"]) == 2 * len(before["votes"])
    assert len(after["ideas"]) == 2 and len(after["employee_replies"]) == 2
    assert len(after["watches"]) == 2 * len(before["watches"]) - 1
    assert len(after["redirects"]) == 1  # the old address keeps pointing at the existing page
    assert qa.recount() == 0 and ideas.recount() == 0
    assert db.session.get(Thread, built["thread"]).has_employee_reply


def test_bad_feature_records_are_refused_with_their_line(runner, tmp_path):
    meta = {"type": "meta", "format": "roundabout-corpus", "version": 1}
    user = {"type": "user", "id": 1, "username": "maria", "joined_at": "2022-01-01T00:00:00Z"}
    cases = [
        ({"type": "helpful_vote", "id": 1, "post_id": 9, "user_id": 1, "created_at": "2022-01-01T00:00:00Z"},
         "post_id 9 refers to no post"),
        ({"type": "idea", "thread_id": 3, "status": "new"}, "thread_id 3 refers to no thread"),
        ({"type": "watch", "id": 1, "user_id": 1, "target_type": "forum", "target_id": 1, "level": "watching",
          "created_at": "2022-01-01T00:00:00Z"}, "'target_type' must be one of"),
        ({"type": "employee_badge", "id": 1, "user_id": 1, "company": "X", "method": "magic",
          "verified_at": "2022-01-01T00:00:00Z", "expires_at": "2023-01-01T00:00:00Z"}, "'method' must be one of"),
        (dict(user, id=2, username="tom_h", notify_email="hourly"), "'notify_email' must be one of"),
    ]  # fmt: skip
    for number, (record, message) in enumerate(cases):
        path = write_records(tmp_path / f"bad{number}.jsonl", [meta, user, record])
        result = run(runner, "import", path)
        assert result.exit_code != 0 and "line 3" in result.output and message in result.output, result.output
        assert db.session.scalar(select(User.id)) is None
    assert db.session.scalar(select(WikiPage.id)) is None


def test_static_site_wiki_links_point_at_page_files(make_client, runner, tmp_path):
    build_forum_with_every_feature()
    site = tmp_path / "site"
    result = run(runner, "static-site", site)
    assert result.exit_code == 0, result.output
    for page in site.rglob("*.html"):
        parser = _Links()
        parser.feed(page.read_text(encoding="utf-8"))
        for link in parser.links:
            target = link.split("#", 1)[0]
            if target and "://" not in target:
                assert (page.parent / target).resolve().is_file(), (page, link)
    firmware = (site / "wiki" / "firmware-updates.html").read_text(encoding="utf-8")
    # [[Reset your router]] is the renamed page's old title: its file, as the live redirect would.
    assert 'href="resetting-your-router.html"' in firmware and 'href="/wiki/' not in firmware
    reset = (site / "wiki" / "resetting-your-router.html").read_text(encoding="utf-8")
    assert 'href="firmware-updates.html"' in reset
    assert (
        '<a class="wikilink wikilink-missing" title="Missing page (no such page)">Missing page</a>' in reset
    )


def test_static_site_shows_badges_helpful_counts_and_idea_statuses(make_client, runner, tmp_path):
    built = build_forum_with_every_feature()
    site = tmp_path / "site"
    assert run(runner, "static-site", site).exit_code == 0
    thread = (site / "t" / str(built["thread"]) / "index.html").read_text(encoding="utf-8")
    assert thread.count("Employee · the company") == 2 and "2 found this helpful" in thread
    assert "1 found this helpful" in thread and "Accepted solution" in thread
    idea = (site / "t" / str(built["idea"]) / "index.html").read_text(encoding="utf-8")
    assert "Planned</span> 2 votes" in idea
    for page in site.rglob("*.html"):
        html = page.read_text(encoding="utf-8")
        assert "example-telecom.com" not in html and GRANT_REASON not in html
