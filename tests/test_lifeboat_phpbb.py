"""`flask lifeboat phpbb` on phpBB 3.3 tables in a real MariaDB and PostgreSQL; BBCode cases."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from sqlalchemy import create_engine, text

from forum import create_app
from forum.lifeboat.markdown import bbcode_to_markdown
from forum.lifeboat.phpbb import unparse
from tests.conftest import POSTGRES_SKIP_REASON
from tests.factories_exchange import read_records, run

MARIADB = os.environ.get("FORUM_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")

# The columns of phpBB 3.3's tables that the converter reads, with their types (phpbb/install/schemas).
SCHEMA = """
CREATE TABLE phpbb_users (user_id INTEGER PRIMARY KEY, user_type SMALLINT NOT NULL DEFAULT 0,
  group_id INTEGER NOT NULL DEFAULT 3, username VARCHAR(255) NOT NULL DEFAULT '',
  username_clean VARCHAR(255) NOT NULL DEFAULT '', user_email VARCHAR(100) NOT NULL DEFAULT '',
  user_regdate INTEGER NOT NULL DEFAULT 0, user_posts INTEGER NOT NULL DEFAULT 0);
CREATE TABLE phpbb_forums (forum_id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL DEFAULT 0,
  left_id INTEGER NOT NULL DEFAULT 0, right_id INTEGER NOT NULL DEFAULT 0,
  forum_name VARCHAR(255) NOT NULL DEFAULT '', forum_desc TEXT NOT NULL, forum_type SMALLINT NOT NULL DEFAULT 0);
CREATE TABLE phpbb_topics (topic_id INTEGER PRIMARY KEY, forum_id INTEGER NOT NULL DEFAULT 0,
  topic_title VARCHAR(255) NOT NULL DEFAULT '', topic_poster INTEGER NOT NULL DEFAULT 0,
  topic_time INTEGER NOT NULL DEFAULT 0, topic_status SMALLINT NOT NULL DEFAULT 0,
  topic_type SMALLINT NOT NULL DEFAULT 0, topic_first_post_id INTEGER NOT NULL DEFAULT 0,
  topic_visibility SMALLINT NOT NULL DEFAULT 0, topic_moved_id INTEGER NOT NULL DEFAULT 0,
  poll_title VARCHAR(255) NOT NULL DEFAULT '');
CREATE TABLE phpbb_posts (post_id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL DEFAULT 0,
  forum_id INTEGER NOT NULL DEFAULT 0, poster_id INTEGER NOT NULL DEFAULT 0, post_time INTEGER NOT NULL DEFAULT 0,
  post_username VARCHAR(255) NOT NULL DEFAULT '', post_subject VARCHAR(255) NOT NULL DEFAULT '',
  post_text TEXT NOT NULL, bbcode_uid VARCHAR(8) NOT NULL DEFAULT '', post_edit_time INTEGER NOT NULL DEFAULT 0,
  post_visibility SMALLINT NOT NULL DEFAULT 0);
CREATE TABLE phpbb_attachments (attach_id INTEGER PRIMARY KEY, post_msg_id INTEGER NOT NULL DEFAULT 0,
  topic_id INTEGER NOT NULL DEFAULT 0, in_message SMALLINT NOT NULL DEFAULT 0, is_orphan SMALLINT NOT NULL DEFAULT 1,
  real_filename VARCHAR(255) NOT NULL DEFAULT '', mimetype VARCHAR(100) NOT NULL DEFAULT '',
  filesize INTEGER NOT NULL DEFAULT 0);
CREATE TABLE phpbb_poll_options (poll_option_id SMALLINT NOT NULL DEFAULT 0, topic_id INTEGER NOT NULL DEFAULT 0,
  poll_option_text TEXT NOT NULL, poll_option_total INTEGER NOT NULL DEFAULT 0);
"""

# phpBB 3.3 stores posts as s9e TextFormatter XML: the BBCode typed is inside <s>/<e> markers.
QUOTE_XML = (
    '<r><QUOTE author="Jane Doe" post_id="10" time="1456826400" user_id="2"><s>[quote="Jane Doe" post_id=10 '
    'time=1456826400 user_id=2]</s>It drops &lt;every&gt; night<e>[/quote]</e></QUOTE>\n'
    "Try <B><s>[b]</s>channel 11<e>[/b]</e></B> <E>:)</E><br/>\n"
    '<CODE><s>[code]</s>iwconfig wlan0 channel 11<e>[/code]</e></CODE>\n'
    '<LIST><s>[list]</s><LI><s>[*]</s>reboot</LI><LI><s>[*]</s>retry</LI><e>[/list]</e></LIST>\n'
    '<URL url="https://example.org/guide"><s>[url=https://example.org/guide]</s>the guide<e>[/url]</e></URL> '
    '<IMG src="https://example.org/a.png"><s>[img]</s>https://example.org/a.png<e>[/img]</e></IMG></r>'
)  # fmt: skip


def fill(connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            connection.execute(text(statement))
    rows = {
        "phpbb_users": [
            {"user_id": 1, "user_type": 2, "username": "Anonymous", "user_email": "", "user_regdate": 1400000000},
            {"user_id": 2, "user_type": 0, "username": "Jane Doe", "user_email": "jane@example.org",
             "user_regdate": 1400000000},
            {"user_id": 3, "user_type": 3, "username": "admin &amp; co", "user_email": "", "user_regdate": 1300000000},
        ],
        "phpbb_forums": [
            {"forum_id": 1, "left_id": 1, "forum_name": "Support", "forum_desc": "", "forum_type": 0},
            {"forum_id": 2, "left_id": 2, "forum_name": "Wi-Fi &amp; routers", "forum_desc": "<t>Wireless</t>",
             "forum_type": 1},
        ],
        "phpbb_topics": [
            {"topic_id": 5, "forum_id": 2, "topic_title": "Drops &quot;every&quot; night", "topic_poster": 2,
             "topic_time": 1456826400, "topic_first_post_id": 10, "topic_visibility": 1, "topic_type": 1,
             "poll_title": "<t>Which channel?</t>"},
            {"topic_id": 6, "forum_id": 2, "topic_title": "Moved away", "topic_status": 2, "topic_visibility": 1,
             "topic_first_post_id": 13},
            {"topic_id": 7, "forum_id": 2, "topic_title": "Spam", "topic_visibility": 0, "topic_first_post_id": 14},
        ],
        "phpbb_posts": [
            {"post_id": 10, "topic_id": 5, "poster_id": 2, "post_time": 1456826400, "post_visibility": 1,
             "post_text": "<t>It drops &lt;every&gt; night</t>"},
            {"post_id": 11, "topic_id": 5, "poster_id": 3, "post_time": 1456830000, "post_visibility": 1,
             "post_text": QUOTE_XML, "post_edit_time": 1456840000},
            {"post_id": 12, "topic_id": 5, "poster_id": 1, "post_username": "a guest", "post_time": 1456833600,
             "post_visibility": 1, "bbcode_uid": "abc12345",
             "post_text": "[b:abc12345]old[/b:abc12345] style <!-- s:( --><img src=\"{SMILIES_PATH}/icon_sad.gif\" "
                          "alt=\":(\" title=\"Sad\" /><!-- s:( --> [i]unclosed [quote]nested [b]broken[/quote]"},
            {"post_id": 13, "topic_id": 6, "poster_id": 2, "post_time": 1456833600, "post_visibility": 1,
             "post_text": "<t>moved</t>"},
            {"post_id": 14, "topic_id": 7, "poster_id": 2, "post_time": 1456833600, "post_visibility": 0,
             "post_text": "<t>spam</t>"},
            {"post_id": 15, "topic_id": 5, "poster_id": 2, "post_time": 1456837200, "post_visibility": 2,
             "post_text": "<t>deleted</t>"},
        ],
        "phpbb_attachments": [
            {"attach_id": 1, "post_msg_id": 11, "topic_id": 5, "is_orphan": 0, "real_filename": "router.log",
             "mimetype": "text/plain", "filesize": 2048},
        ],
        "phpbb_poll_options": [
            {"poll_option_id": 1, "topic_id": 5, "poll_option_text": "<t>6</t>", "poll_option_total": 3},
            {"poll_option_id": 2, "topic_id": 5, "poll_option_text": "<t>11</t>", "poll_option_total": 9},
        ],
    }  # fmt: skip
    for table, values in rows.items():
        for row in values:
            columns = ", ".join(row)
            connection.execute(
                text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in row)})"), row
            )


def _mariadb_url() -> str:
    from sqlalchemy.engine import make_url

    url = make_url(MARIADB)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 3306), timeout=2):
            pass
    except OSError as error:
        pytest.skip(
            f"no MariaDB server at {url.host}:{url.port or 3306} ({error}); set FORUM_TEST_MARIADB_URL"
        )
    name = f"lifeboat_phpbb_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["mariadb", "postgresql"])
def phpbb_database(request):
    """A phpBB database of the given kind, filled, and dropped after the test."""
    if request.param == "mariadb":
        url = _mariadb_url()
    else:
        if POSTGRES_SKIP_REASON:
            pytest.skip(POSTGRES_SKIP_REASON)
        url = request.getfixturevalue("postgres").create_database(f"phpbb_{uuid.uuid4().hex[:6]}")
    engine = create_engine(url)
    with engine.begin() as connection:
        fill(connection)
    engine.dispose()
    yield url
    if request.param == "mariadb":
        admin = create_engine(url.rsplit("/", 1)[0] + "/test", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]}"))
        admin.dispose()


def convert(url: str, out, *args: str):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40, "TESTING": True})
    return app.test_cli_runner().invoke(args=["lifeboat", "phpbb", url, str(out), *args])


def test_phpbb_database_converts_record_by_record(phpbb_database, tmp_path):
    out = tmp_path / "out.jsonl"
    result = convert(phpbb_database, out, "--base-url", "https://old.example/forum")
    assert result.exit_code == 0, result.output
    records = read_records(out)
    users = {r["id"]: r for r in records if r["type"] == "user"}
    assert users[2]["display_name"] == "Jane Doe" and users[2]["email"] == "jane@example.org"
    assert users[3]["display_name"] == "admin & co" and users[3]["email"] is None
    assert 1 not in users  # the anonymous account
    [board] = [r for r in records if r["type"] == "category"]
    assert board["name"] == "Wi-Fi & routers" and board["description"] == "Wireless"
    [thread] = [r for r in records if r["type"] == "thread"]
    assert thread["title"] == 'Drops "every" night' and thread["pinned"] is True
    assert (
        thread["body"].startswith("It drops <every> night") or "It drops \\<every\\> night" in thread["body"]
    )
    assert "**Poll: Which channel?**" in thread["body"] and "- 11 — 9 votes" in thread["body"]
    replies = {r["id"]: r for r in records if r["type"] == "post"}
    assert sorted(replies) == [11, 12]  # 13: moved shadow, 14: unapproved, 15: soft-deleted
    quote = replies[11]["body"]
    assert "> **Jane Doe wrote:**" in quote and "**channel 11**" in quote and ":)" in quote
    assert "```\niwconfig wlan0 channel 11\n```" in quote
    assert "- reboot\n- retry" in quote and "[the guide](https://example.org/guide)" in quote
    assert "![image](https://example.org/a.png)" in quote
    assert "`router.log` (text/plain, 2,048 bytes)" in quote
    assert replies[11]["edited_at"] == "2016-03-01T13:46:40Z"
    assert replies[12]["body"].startswith("**old** style :(") and "nested" in replies[12]["body"]
    origins = {r["post_id"]: r for r in records if r["type"] == "origin"}
    assert origins[12]["author_name"] == "a guest"
    assert origins[10]["url"] == "https://old.example/forum/viewtopic.php?p=10#p10"
    old = {r["url"]: (r["target_type"], r["target_id"]) for r in records if r["type"] == "old_url"}
    assert old["https://old.example/forum/viewtopic.php?t=5"] == ("thread", 5)
    assert old["https://old.example/forum/viewforum.php?f=2"] == ("category", 2)
    assert old["https://old.example/forum/viewtopic.php?p=11"] == ("post", 11)
    skipped = result.output
    assert (
        "topic 6: the shadow a moved topic left behind" in skipped
        and "post 15: not approved or deleted" in skipped
    )


def test_phpbb_output_imports_and_old_links_redirect(phpbb_database, runner, client, tmp_path):
    out = tmp_path / "out.jsonl"
    assert convert(phpbb_database, out).exit_code == 0
    result = run(runner, "import", out)
    assert result.exit_code == 0, result.output
    assert client.get("/forum/viewtopic.php?f=2&t=5").headers["Location"].startswith("/t/5/")
    assert client.get("/viewtopic.php?p=12").headers["Location"] == "/p/12"
    page = client.get("/t/5", follow_redirects=True).get_data(as_text=True)
    assert "Jane Doe wrote:" in page and "<strong>channel 11</strong>" in page


def test_unknown_bbcode_stops_unless_kept(phpbb_database, tmp_path):
    engine = create_engine(phpbb_database)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE phpbb_posts SET post_text = '[marquee]hi[/marquee]' WHERE post_id = 12")
        )
    engine.dispose()
    refused = convert(phpbb_database, tmp_path / "out.jsonl")
    assert refused.exit_code == 1 and "post 12 uses BBCode [marquee]" in refused.output
    (tmp_path / "out.jsonl.lifeboat-state").unlink()
    kept = convert(phpbb_database, tmp_path / "out.jsonl", "--unknown-tags", "keep")
    assert kept.exit_code == 0
    assert any("[marquee]hi[/marquee]" in r.get("body", "") for r in read_records(tmp_path / "out.jsonl"))


def test_bad_database_urls_are_clear_errors(tmp_path):
    dead = convert("mysql://root@127.0.0.1:1/phpbb", tmp_path / "a.jsonl")
    assert dead.exit_code == 1 and "127.0.0.1" in dead.output and "Traceback" not in dead.output
    wrong = convert("sqlite:///x.db", tmp_path / "b.jsonl")
    assert wrong.exit_code == 1 and "not 'sqlite'" in wrong.output


@pytest.mark.parametrize(
    ("bbcode", "markdown"),
    [
        ("[b]bold[/b] and [i]italic[/i]", "**bold** and *italic*"),
        ('[quote="Ann"][quote="Bo"]inner[/quote]outer[/quote]', "> **Ann wrote:**\n>\n> > **Bo wrote:**\n> >\n> > inner\n>\n> outer"),
        ("[code=python]x = [1][/code]", "```python\nx = [1]\n```"),
        ("[list=1][*]a[*]b[/list]", "1. a\n2. b"),
        ("[url]www.example.org[/url]", "[www.example.org](http://www.example.org)"),
        ("[url=javascript:alert(1)]x[/url]", "x"),
        ("[img]http://x/a.png[/img] [img]data:x[/img]", "![image](http://x/a.png) data:x"),
        ("[b]never closed", "**never closed**"),
        ("[/i]stray closer", "stray closer"),
        ("[color=red][size=200]big red[/size][/color]", "big red"),
        ("[email]a@b.example[/email]", "[address hidden]"),
    ],
)  # fmt: skip
def test_bbcode_to_markdown(bbcode, markdown):
    assert bbcode_to_markdown(bbcode) == markdown


def test_unparse_recovers_what_was_typed():
    assert unparse("<t>a &amp; b</t>") == "a & b"
    assert unparse("<r><B><s>[b]</s>x<e>[/b]</e></B></r>") == "[b]x[/b]"
    assert unparse("[b:1x2y3z4w]x[/b:1x2y3z4w] &quot;q&quot;", "1x2y3z4w") == '[b]x[/b] "q"'
