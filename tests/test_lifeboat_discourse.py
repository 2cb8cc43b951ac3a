"""`flask lifeboat discourse` against a local HTTP server answering as Discourse's JSON API does
(shapes from Discourse's documented responses: /site.json, /latest.json, /t/<id>.json,
/t/<id>/posts.json, /posts/<id>.json, /u/<name>.json)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from forum import create_app
from forum.lifeboat.discourse import USER_AGENT
from tests.factories_exchange import read_records, run

ROOT = Path(__file__).resolve().parents[1]


def _post(topic: int, number: int, **fields) -> dict:
    post_id = topic * 100 + number
    user = ["alice", "bob", "carol"][number % 3]
    return {
        "id": post_id, "name": user.capitalize(), "username": user, "user_id": 10 + number % 3,
        "created_at": f"2021-05-{number:02d}T10:00:00.000Z", "cooked": f"<p>Post <strong>{number}</strong> of {topic}</p>",
        "post_number": number, "post_type": 1, "updated_at": f"2021-05-{number:02d}T10:00:00.000Z", "version": 1,
        "topic_id": topic, "hidden": False, "deleted_at": None, "user_deleted": False,
        "actions_summary": [], "accepted_answer": False, **fields,
    }  # fmt: skip


class FakeDiscourse:
    """The forum's public answers, and a log of every request (path, time, user agent)."""

    def __init__(self, *, expose_raw: bool = True, html_site: bool = False) -> None:
        self.expose_raw, self.html_site = expose_raw, html_site
        self.log: list[tuple[str, float, str]] = []
        self.throttled = False
        posts = [_post(10, n) for n in range(1, 26)]
        posts[2] = _post(
            10, 3, deleted_at="2021-06-01T00:00:00.000Z", cooked="<p>(post deleted by author)</p>"
        )
        posts[3] = _post(10, 4, hidden=True, cooked_hidden=True, cooked="")
        posts[4] = _post(10, 5, post_type=3, cooked="", action_code="closed.enabled")
        posts[6] = _post(10, 7, accepted_answer=True, cooked="<p>Reset it. <code>reboot</code></p>")
        posts[1] = _post(10, 2, actions_summary=[{"id": 2, "count": 4}], version=2,
                         updated_at="2021-05-20T10:00:00.000Z")  # fmt: skip
        self.topics = {
            10: {"id": 10, "title": "Router keeps rebooting", "slug": "router-keeps-rebooting", "category_id": 1,
                 "created_at": "2021-05-01T10:00:00.000Z", "archetype": "regular", "closed": False,
                 "accepted_answer": {"post_number": 7, "username": "bob"}, "posts": posts},
            11: {"id": 11, "title": "Mesh Wi-Fi advice", "slug": "mesh-wi-fi-advice", "category_id": 1,
                 "created_at": "2021-06-01T10:00:00.000Z", "archetype": "regular", "closed": True,
                 "posts": [_post(11, 1), _post(11, 2)]},
        }  # fmt: skip
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def paths(self) -> list[str]:
        return [path for path, _when, _agent in self.log]

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, object, dict[str, str]]:
        if path == "/robots.txt":
            return 200, "User-agent: *\nDisallow: /admin/\nDisallow: /u/carol\n", {}
        if path == "/site.json":
            if self.html_site:
                return 200, "<!DOCTYPE html><html><body>Welcome to our shop</body></html>", {}
            return 200, {"categories": [
                {"id": 1, "name": "Help", "slug": "help", "description_text": "Ask here", "read_restricted": False},
            ]}, {}  # fmt: skip
        if path == "/latest.json":
            page = int(query.get("page", ["0"])[0])
            pages = [[10, 11, 12], [13, 14], []]
            ids = pages[page] if page < len(pages) else []
            more = f"/latest?page={page + 1}" if page < 1 else None
            topics = [
                {"id": i, "title": f"t{i}", "slug": f"t{i}", "category_id": 1 if i < 12 else 2} for i in ids
            ]
            return 200, {"users": [], "topic_list": {"more_topics_url": more, "topics": topics}}, {}
        if path == "/t/11.json" and not self.throttled:
            self.throttled = True
            return 429, {"errors": ["Slow down"]}, {"Retry-After": "1"}
        if path == "/t/12.json":
            return 403, {"errors": ["You are not permitted to view the requested resource."]}, {}
        if path == "/t/14.json":
            return 302, "", {"Location": "http://elsewhere.example/t/14.json"}
        if path.startswith("/t/") and path.endswith(".json"):
            parts = path[3:-5].split("/")
            topic = self.topics.get(int(parts[0])) if parts[0].isdigit() else None
            if topic is None:
                return 404, {"errors": ["The requested URL or resource could not be found."]}, {}
            posts = topic["posts"]
            if len(parts) == 2 and parts[1] == "posts":
                wanted = {int(i) for i in query.get("post_ids[]", [])}
                return 200, {"post_stream": {"posts": [p for p in posts if p["id"] in wanted]}}, {}
            body = {k: v for k, v in topic.items() if k != "posts"}
            body["post_stream"] = {"posts": posts[:20], "stream": [p["id"] for p in posts]}
            body["posts_count"] = len(posts)
            return 200, body, {}
        if path.startswith("/posts/") and path.endswith(".json"):
            if not self.expose_raw:
                return 403, {"errors": ["not permitted"]}, {}
            post_id = int(path[7:-5])
            post = next(p for t in self.topics.values() for p in t["posts"] if p["id"] == post_id)
            return 200, {**post, "raw": f"Post **{post['post_number']}** raw of {post['topic_id']}"}, {}
        if path == "/u/alice.json":
            return 200, {"user": {"id": 11, "username": "alice", "name": "Alice", "created_at": "2019-01-01T00:00:00.000Z",
                                  "bio_raw": "I fix *routers*."}}, {}  # fmt: skip
        if path.startswith("/u/"):
            return 404, {"errors": ["hidden profile"]}, {}
        return 404, {"errors": ["not found"]}, {}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                fake.log.append((parts.path, time.monotonic(), self.headers.get("User-Agent", "")))
                status, body, headers = fake.answer(parts.path, parse_qs(parts.query))
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                kind = "application/json" if not isinstance(body, str) else "text/html"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def forum_site():
    site = FakeDiscourse()
    yield site
    site.close()


def convert(url: str, out: Path, *args: str):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40, "TESTING": True})
    return app.test_cli_runner().invoke(args=["lifeboat", "discourse", url, str(out), *args])


def test_a_discourse_site_converts_with_every_readable_post(forum_site, tmp_path):
    out = tmp_path / "out.jsonl"
    result = convert(forum_site.url, out, "--rate", "20")
    assert result.exit_code == 0, result.output
    records = read_records(out)
    [thread, other] = [r for r in records if r["type"] == "thread"]
    replies = [r for r in records if r["type"] == "post" and r["thread_id"] == 10]
    # 25 posts, the first is the thread; #3 deleted, #4 hidden, #5 a small action: 21 replies.
    assert len(replies) == 21 and replies[-1]["id"] == 1025  # beyond the first page of 20
    assert thread["body"] == "Post **1** raw of 10"  # the raw Markdown, not the cooked HTML
    assert [r["id"] for r in replies if r["is_solution"]] == [1007]
    liked = next(r for r in replies if r["id"] == 1002)
    assert liked["helpful_count"] == 4 and liked["edited_at"] == "2021-05-20T10:00:00Z"
    assert other["locked_at"] is not None
    users = {r["username"]: r for r in records if r["type"] == "user"}
    assert (
        users["alice"]["joined_at"] == "2019-01-01T00:00:00Z" and users["alice"]["bio"] == "I fix *routers*."
    )
    old = {r["url"] for r in records if r["type"] == "old_url"}
    assert (
        f"{forum_site.url}/t/router-keeps-rebooting/10" in old
        and f"{forum_site.url}/t/router-keeps-rebooting/10/7" in old
    )
    summary = result.output
    assert "topic 12: the forum answered 403" in summary and "topic 13: the forum answered 404" in summary
    assert (
        "topic 14: leads off" in summary
        and "topic 10 #3: deleted" in summary
        and "hidden by flags" in summary
    )
    assert "profile carol: robots.txt" in summary
    assert "/u/carol.json" not in forum_site.paths() and not any("elsewhere" in p for p in forum_site.paths())
    assert all(agent == USER_AGENT for _p, _t, agent in forum_site.log)


def test_cooked_html_is_converted_when_raw_is_not_exposed(tmp_path):
    site = FakeDiscourse(expose_raw=False)
    try:
        result = convert(site.url, tmp_path / "out.jsonl", "--rate", "20", "--no-profiles")
    finally:
        site.close()
    assert result.exit_code == 0, result.output
    records = read_records(tmp_path / "out.jsonl")
    bodies = {r["id"]: r["body"] for r in records if r["type"] == "post"}
    assert bodies[1007] == "Reset it. `reboot`" and bodies[1002] == "Post **2** of 10"
    assert site.paths().count("/posts/1001.json") == 1  # asked once, then never again
    assert not any(p.startswith("/posts/") and p != "/posts/1001.json" for p in site.paths())


def test_rate_and_retry_after_are_honoured(forum_site, tmp_path):
    result = convert(forum_site.url, tmp_path / "out.jsonl", "--rate", "4", "--cooked-only", "--no-profiles")
    assert result.exit_code == 0, result.output
    times = [when for _path, when, _agent in forum_site.log]
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.24  # 4 requests a second at most
    throttled = [when for path, when, _agent in forum_site.log if path == "/t/11.json"]
    assert len(throttled) == 2 and throttled[1] - throttled[0] >= 1.0  # Retry-After: 1


def test_an_interrupted_run_resumes_without_duplicates(forum_site, tmp_path):
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "FORUM_INSTANCE_PATH": str(tmp_path / "instance"),
           "FORUM_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}"}  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "forum", "lifeboat", "discourse", forum_site.url, str(out),
         "--rate", "10"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while "/t/11.json" not in forum_site.paths() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists() and (tmp_path / "out.jsonl.lifeboat-state").exists()
    fetched_before = forum_site.paths().count("/t/10.json")
    result = convert(forum_site.url, out, "--rate", "20")
    assert result.exit_code == 0, result.output
    assert "Resuming" in result.output
    assert forum_site.paths().count("/t/10.json") == fetched_before == 1  # topic 10 was done: not read again
    records = read_records(out)
    keys = [(r["type"], r.get("id"), r.get("post_id"), r.get("user_id"), r.get("url")) for r in records]
    assert len(keys) == len(set(keys))
    assert records[0]["counts"]["thread"] == 2 and records[0]["counts"]["post"] == 22


def test_bad_sources_are_clear_errors(tmp_path):
    dead = convert("http://127.0.0.1:1", tmp_path / "a.jsonl", "--retries", "1")
    assert dead.exit_code == 1 and "no answer after 2 tries" in dead.output
    shop = FakeDiscourse(html_site=True)
    try:
        html = convert(shop.url, tmp_path / "b.jsonl")
    finally:
        shop.close()
    assert html.exit_code == 1 and "answered HTML, not JSON" in html.output
    assert convert("ftp://x", tmp_path / "c.jsonl").exit_code == 1


def test_discourse_output_imports_and_old_links_redirect(forum_site, runner, client, tmp_path):
    out = tmp_path / "out.jsonl"
    assert convert(forum_site.url, out, "--rate", "20", "--no-profiles").exit_code == 0
    result = run(runner, "import", out)
    assert result.exit_code == 0, result.output
    assert client.get("/t/router-keeps-rebooting/10/7").headers["Location"] == "/p/1007"
    assert client.get("/t/old-title/10").headers["Location"].startswith("/t/10/")
    page = client.get("/t/10", follow_redirects=True).get_data(as_text=True)
    assert "Imported from Discourse (127.0.0.1:" in page and "Solution" in page
