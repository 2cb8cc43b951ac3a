"""A Discourse forum, read from its public side (the JSON any visitor's browser gets), to the
forum data format.

What it reads: /site.json (categories), /latest.json?page=N (every visible topic),
/t/<id>.json and /t/<id>/posts.json?post_ids[]=... (every post of a topic, beyond the first
page too), /posts/<id>.json for the raw Markdown where the forum exposes it (else the cooked
HTML is converted), the solved plugin's accepted_answer, likes, and /u/<username>.json for
public profiles. Private categories and topics (403/404), deleted, hidden and whispered posts
and small actions are left out and listed in the summary.

Politeness: one request per second by default (--rate), a User-Agent naming the tool,
robots.txt obeyed, 429 answered by waiting for Retry-After, timeouts and retries with
backoff on connection errors and 5xx, never a request to another host (redirects included).
Resumable: topics found and topics done are checkpoints in the state file.
"""

from __future__ import annotations

import json
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from forum.lifeboat.markdown import html_to_markdown
from forum.lifeboat.staging import (
    MAX_BODY,
    MAX_TITLE,
    ConversionError,
    Oversized,
    Staging,
    clean_text,
    iso,
    slugify,
)

USER_AGENT = "RoundaboutLifeboat/1.0 (forum rescue importer; reads public pages politely)"
TIMEOUT = (10, 30)  # connect, read (seconds)
RETRIES = 5
MAX_RETRY_AFTER = 900  # seconds: a longer wait is reported instead of slept
MAX_RESPONSE = 50 * 1024 * 1024  # bytes of one JSON answer
POSTS_CHUNK = 20  # post ids per /t/<id>/posts.json request, as Discourse pages them
REGULAR, MODERATOR_ACTION = 1, 2
LIKE = 2  # actions_summary id of likes


class Skipped(Exception):
    """This address cannot be read (403, 404, robots.txt): skip it, say why."""


@dataclass
class Options:
    base_url: str
    rate: float = 1.0  # requests per second
    fetch_raw: bool = True
    profiles: bool = True
    license: str | None = None
    skip_oversized: bool = False
    retries: int = RETRIES
    sleep: Callable[[float], None] = time.sleep


class Client:
    """GET JSON from one host: rate-limited, robots.txt-aware, retrying, never leaving the host."""

    def __init__(self, options: Options) -> None:
        self.base = options.base_url.rstrip("/")
        parts = urlsplit(self.base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConversionError(f"{options.base_url!r} is not an http(s) address of a Discourse forum")
        self.origin = (parts.scheme, parts.netloc.lower())
        self.interval = 1.0 / options.rate if options.rate > 0 else 0.0
        self.sleep = options.sleep
        self.retries = max(options.retries, 0)
        self.last = 0.0
        self.requests = 0
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.robots = urllib.robotparser.RobotFileParser()
        self.robots.allow_all = True  # type: ignore[attr-defined]
        try:
            response = self._send(self.base + "/robots.txt", accept="text/plain")
            if response.status_code == 200:
                self.robots = urllib.robotparser.RobotFileParser()
                self.robots.parse(response.text.splitlines())
        except Skipped:
            pass

    def _wait_turn(self) -> None:
        """Sleep until `interval` has passed since the previous answer arrived (so even a slow
        answer never lets two requests reach the forum closer together than the rate allows)."""
        pause = self.last + self.interval - time.monotonic()
        if pause > 0:
            self.sleep(pause)

    def _send(self, url: str, accept: str = "application/json") -> requests.Response:
        """One GET with the rate, retries with backoff, 429/Retry-After and same-host redirects."""
        for _hop in range(5):
            parts = urlsplit(url)
            if (parts.scheme, parts.netloc.lower()) != self.origin:
                raise Skipped(f"leads off {self.origin[1]} ({parts.netloc}): not followed")
            backoff = 1.0
            for attempt in range(self.retries + 1):
                self._wait_turn()
                self.requests += 1
                try:
                    response = self.session.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True,
                                                headers={"Accept": accept})  # fmt: skip
                    self.last = time.monotonic()
                except requests.RequestException as error:
                    self.last = time.monotonic()
                    if attempt == self.retries:
                        raise ConversionError(
                            f"{url}: no answer after {attempt + 1} tries ({error})"
                        ) from error
                    self.sleep(backoff)
                    backoff *= 2
                    continue
                if response.status_code == 429:
                    wait = _retry_after(response.headers.get("Retry-After"), backoff)
                    if wait > MAX_RETRY_AFTER or attempt == self.retries:
                        raise ConversionError(f"{url}: the forum asks to wait {wait:.0f} s (429); run again later "
                                              "to resume")  # fmt: skip
                    self.sleep(wait)
                    backoff *= 2
                    continue
                if response.status_code >= 500 and attempt < self.retries:
                    self.sleep(backoff)
                    backoff *= 2
                    continue
                break
            if response.status_code in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            return response
        raise Skipped(f"{url}: too many redirects")

    def get_json(self, path: str) -> Any:
        """The JSON at `path`; Skipped for 403/404/410 or robots.txt; ConversionError when it is not JSON."""
        url = self.base + path
        if not self.robots.can_fetch(USER_AGENT, url):
            raise Skipped("robots.txt asks robots not to read it")
        response = self._send(url)
        if response.status_code in (401, 403, 404, 410):
            raise Skipped(f"the forum answered {response.status_code} (private or removed)")
        if response.status_code != 200:
            raise ConversionError(f"{url}: the forum answered {response.status_code}")
        body = response.raw.read(MAX_RESPONSE + 1, decode_content=True)
        if len(body) > MAX_RESPONSE:
            raise ConversionError(f"{url}: the answer is larger than {MAX_RESPONSE // 1024 // 1024} MB")
        kind = response.headers.get("Content-Type", "")
        try:
            return json.loads(body)
        except ValueError as error:
            what = "HTML" if "html" in kind or body.lstrip()[:1] == b"<" else "something else"
            raise ConversionError(
                f"{url} answered {what}, not JSON: is {self.base} a Discourse forum?"
            ) from error


def _retry_after(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            return max(
                (
                    parsedate_to_datetime(value) - datetime.now(parsedate_to_datetime(value).tzinfo)
                ).total_seconds(),
                0,
            )
        except (TypeError, ValueError):
            return default


def discourse_time(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return iso(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and 0 < value <= 2_147_483_647 else None


def convert(staging: Staging, options: Options, progress: Callable[[str, int | None], Any]) -> dict[str, int]:
    """Categories, the topic list, then each topic (a checkpoint after each), then profiles."""
    client = Client(options)
    host = urlsplit(client.base).netloc
    source = f"Discourse ({host})"
    if not staging.stage_done("categories"):
        try:
            site = client.get_json("/site.json")
        except Skipped as error:
            raise ConversionError(f"{client.base}/site.json cannot be read: {error}") from error
        categories = site.get("categories") if isinstance(site, dict) else None
        if not isinstance(categories, list):
            raise ConversionError(f"{client.base}/site.json has no categories: is it a Discourse forum?")
        for position, category in enumerate(categories, start=1):
            _category(staging, category, position, client.base)
        staging.finish_stage("categories")
    if not staging.stage_done("topic list"):
        page = int(staging.info("list:page") or 0)
        tick = progress("Topic lists", None)
        while True:
            try:
                listing = client.get_json(f"/latest.json?page={page}&order=created&ascending=true")
            except Skipped as error:
                raise ConversionError(f"{client.base}/latest.json cannot be read: {error}") from error
            topics = (listing.get("topic_list") or {}).get("topics") if isinstance(listing, dict) else None
            if not isinstance(topics, list):
                raise ConversionError(
                    f"{client.base}/latest.json has no topic_list: is it a Discourse forum?"
                )
            for topic in topics:
                if isinstance(topic, dict) and (topic_id := _id(topic.get("id"))):
                    staging.db.execute(
                        "INSERT OR IGNORE INTO scratch VALUES ('todo', ?, 'todo')", (f"{topic_id:010d}",)
                    )
            tick(1)
            page += 1
            staging.set_info("list:page", str(page))
            staging.commit()
            if not topics or not (listing.get("topic_list") or {}).get("more_topics_url"):
                break
        staging.finish_stage("topic list")
    todo = [
        key
        for (key,) in staging.db.execute(
            "SELECT key FROM scratch WHERE kind = 'todo' AND value = 'todo' ORDER BY key"
        )
    ]
    total = int(staging.db.execute("SELECT count(*) FROM scratch WHERE kind = 'todo'").fetchone()[0])
    tick = progress(f"Topics ({total - len(todo)} of {total} done before)", len(todo))
    for key in todo:
        topic_id = int(key)
        try:
            _topic(client, staging, topic_id, options, source)
        except Skipped as error:
            staging.skip("topic", str(topic_id), str(error))
        except Oversized as error:
            if not options.skip_oversized:
                raise
            staging.skip("topic", str(topic_id), str(error).split(" (pass", 1)[0])
        staging.db.execute("UPDATE scratch SET value = 'done' WHERE kind = 'todo' AND key = ?", (key,))
        staging.commit()  # the checkpoint: this topic is never fetched again
        tick(1)
    if options.profiles and not staging.stage_done("profiles"):
        names = [row for row in staging.db.execute(
            "SELECT key, value FROM scratch WHERE kind = 'profile' AND value != 'done' ORDER BY key")]  # fmt: skip
        tick = progress("Profiles", len(names))
        for username, user_id in names:
            _profile(client, staging, username, int(user_id))
            staging.remember("profile", username, "done")
            staging.commit()
            tick(1)
        staging.finish_stage("profiles")
    return {"topics": staging.count("thread"), "posts": staging.count("post"), "users": staging.count("user"),
            "requests": client.requests}  # fmt: skip


def _category(staging: Staging, category: Any, position: int, base: str) -> None:
    if not isinstance(category, dict) or (category_id := _id(category.get("id"))) is None:
        return
    name = clean_text(str(category.get("name") or ""), 80).strip() or f"Category {category_id}"
    slug = str(category.get("slug") or "")
    staging.put("category", {
        "type": "category", "id": category_id, "name": name, "position": position, "kind": "discussion",
        "slug": staging.unique_name("slug", str(category_id), slugify(slug or name, f"category-{category_id}"), 60, "-"),
        "description": clean_text(str(category.get("description_text") or ""), 1000),
    })  # fmt: skip
    staging.extra("old_url", f"c{category_id}", {
        "url": f"{base}/c/{slugify(slug, 'c')}/{category_id}", "target_type": "category", "target_id": category_id})  # fmt: skip


def _topic(client: Client, staging: Staging, topic_id: int, options: Options, source: str) -> None:
    topic = client.get_json(f"/t/{topic_id}.json")
    if not isinstance(topic, dict) or not isinstance(topic.get("post_stream"), dict):
        raise ConversionError(f"{client.base}/t/{topic_id}.json is not a Discourse topic")
    if topic.get("archetype", "regular") != "regular":
        raise Skipped("a private message")
    stream = topic["post_stream"]
    posts = [p for p in stream.get("posts") or [] if isinstance(p, dict)]
    have = {p.get("id") for p in posts}
    missing = [post_id for post_id in stream.get("stream") or [] if _id(post_id) and post_id not in have]
    for start in range(0, len(missing), POSTS_CHUNK):
        chunk = missing[start : start + POSTS_CHUNK]
        query = "&".join(f"post_ids[]={post_id}" for post_id in chunk)
        more = client.get_json(f"/t/{topic_id}/posts.json?{query}")
        posts.extend(
            p for p in ((more or {}).get("post_stream") or {}).get("posts") or [] if isinstance(p, dict)
        )
    posts.sort(key=lambda p: p.get("post_number") or 0)
    category_id = _id(topic.get("category_id"))
    if category_id is None or not staging.has("category", category_id):
        raise Skipped("its category is not public")
    slug = slugify(str(topic.get("slug") or ""), "topic")
    title = clean_text(str(topic.get("title") or ""), MAX_TITLE).strip() or f"Topic {topic_id}"
    accepted = (
        (topic.get("accepted_answer") or {}).get("post_number")
        if isinstance(topic.get("accepted_answer"), dict)
        else None
    )
    opening = None
    for post in posts:
        post_id, number = _id(post.get("id")), post.get("post_number")
        if post_id is None or not isinstance(number, int):
            continue
        reason = _unusable(post)
        if reason:
            staging.skip("post", str(post_id), f"topic {topic_id} #{number}: {reason}")
            continue
        body = _body(client, post, options)
        created = (
            discourse_time(post.get("created_at"))
            or discourse_time(topic.get("created_at"))
            or "2000-01-01T00:00:00Z"
        )
        user_id = _id(post.get("user_id"))
        username = str(post.get("username") or "")
        author = clean_text(str(post.get("name") or "") or username, 200) or "Former member"
        if user_id is not None and not staging.has("user", user_id):
            _user(staging, user_id, username, author, created, source, client.base)
        edited = discourse_time(post.get("updated_at")) if (post.get("version") or 1) > 1 else None
        likes = post.get("like_count")
        if not isinstance(likes, int):
            likes = next((a.get("count", 0) for a in post.get("actions_summary") or [] if isinstance(a, dict)
                          and a.get("id") == LIKE), 0)  # fmt: skip
        state = {
            "edited_at": edited if edited and edited > created else None,
            "helpful_count": max(int(likes or 0), 0),
        }
        if opening is None:
            opening = post_id
            closed = bool(topic.get("closed") or topic.get("archived"))
            staging.put("thread", {
                "type": "thread", "id": topic_id, "category_id": category_id, "user_id": user_id, "title": title,
                "body": body, "created_at": created, "pinned": bool(topic.get("pinned_globally") or topic.get("pinned")),
                "locked_at": (discourse_time(topic.get("last_posted_at")) or created) if closed else None,
                "lock_reason": "Closed on the old forum" if closed else None, "opening_post": {"id": post_id, **state},
            })  # fmt: skip
            url = f"{client.base}/t/{slug}/{topic_id}"
            staging.extra(
                "old_url", f"t{topic_id}", {"url": url, "target_type": "thread", "target_id": topic_id}
            )
        else:
            solution = post.get("accepted_answer") is True or (accepted is not None and number == accepted)
            staging.put("post", {
                "type": "post", "id": post_id, "thread_id": topic_id, "user_id": user_id, "body": body,
                "created_at": created, "is_solution": bool(solution), **state,
            }, thread_id=topic_id)  # fmt: skip
            url = f"{client.base}/t/{slug}/{topic_id}/{number}"
            staging.extra(
                "old_url", f"t{topic_id}/{number}", {"url": url, "target_type": "post", "target_id": post_id}
            )
        staging.extra("origin", str(post_id), {
            "post_id": post_id, "source": source, "author_name": author, "created_at": created,
            "url": f"{client.base}/t/{slug}/{topic_id}/{number}", "license": options.license,
        })  # fmt: skip
    if opening is None:
        raise Skipped("no readable posts")


def _unusable(post: dict[str, Any]) -> str | None:
    if post.get("deleted_at") or post.get("user_deleted"):
        return "deleted"
    if post.get("hidden") or post.get("cooked_hidden"):
        return "hidden by flags"
    post_type = post.get("post_type", REGULAR)
    if post_type not in (REGULAR, MODERATOR_ACTION):
        return "a whisper or small action (closed, pinned, ...)"
    return None


def _body(client: Client, post: dict[str, Any], options: Options) -> str:
    raw = post.get("raw")
    if (
        not isinstance(raw, str)
        and options.fetch_raw
        and client.robots.can_fetch(USER_AGENT, client.base + "/posts/1.json")
    ):
        try:
            full = client.get_json(f"/posts/{post['id']}.json")
            raw = full.get("raw") if isinstance(full, dict) else None
        except Skipped:
            options.fetch_raw = False  # the forum does not expose raw posts: cooked HTML from now on
    if isinstance(raw, str):
        text = clean_text(raw)
    else:
        cooked = str(post.get("cooked") or "")
        if len(cooked) > 2 * MAX_BODY:
            text = cooked  # refused below with its size
        else:
            text = html_to_markdown(clean_text(cooked))
    if len(text) > MAX_BODY:
        raise Oversized("post", post.get("id"), len(text))
    return text.strip() or "(no text)"


def _user(
    staging: Staging, user_id: int, username: str, name: str, first_post: str, source: str, base: str
) -> None:
    staging.put("user", {
        "type": "user", "id": user_id, "username": staging.username(str(user_id), username or name),
        "display_name": name[:60], "joined_at": first_post, "bio": "", "is_employee": False, "is_moderator": False,
    })  # fmt: skip
    staging.extra("imported_member", str(user_id), {
        "user_id": user_id, "source": source, "original_name": name,
        "profile_url": f"{base}/u/{username}" if username else None,
    })  # fmt: skip
    if username:
        staging.remember("profile", username, str(user_id))


def _profile(client: Client, staging: Staging, username: str, user_id: int) -> None:
    """A public profile's join date and bio; a hidden profile keeps what the posts said."""
    try:
        answer = client.get_json(f"/u/{requests.utils.quote(username)}.json")
    except Skipped as error:
        staging.skip("profile", username, str(error))
        return
    profile = answer.get("user") if isinstance(answer, dict) else None
    if not isinstance(profile, dict):
        return
    fields: dict[str, Any] = {}
    joined = discourse_time(profile.get("created_at"))
    record = staging.get("user", user_id)
    if record is None:
        return
    if joined and joined < record["joined_at"]:
        fields["joined_at"] = joined
    bio = profile.get("bio_raw")
    if not isinstance(bio, str):
        bio = html_to_markdown(str(profile.get("bio_cooked") or ""))
    if bio:
        fields["bio"] = clean_text(bio, 10_000)
    if fields:
        staging.update("user", user_id, **fields)
