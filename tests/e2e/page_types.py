"""Every page type of the forum, with who looks at it and an address on the sample forum.

The page checks (tests/e2e/test_page_checks.py), the screenshot tool (bench/screenshots.py)
and the Lighthouse bench (bench/lighthouse.py) all walk this list. The sample forum is the
demo (`flask demo seed`) plus what the demo lacks: a long thread with a long code line, an open
flag, a sanction, an edited post and a wiki revision. `test_no_page_type_lacks_a_check` fails
when a route that answers GET with a page is neither here nor in NOT_PAGES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROLES = ("anonymous", "member", "moderator", "admin")
# Who each role logs in as (demo usernames); the passwords come from instance/demo-logins.txt.
ROLE_USERS = {"member": "maria", "moderator": "mod_sam", "admin": "admin_ada"}

# GET routes that are not pages a person reads: feeds, images, crawler files, redirects, JSON.
NOT_PAGES = {
    "static",
    "look.avatar",
    "look.robots",
    "look.sitemap_index",
    "look.sitemap_pages",
    "look.sitemap_threads",
    "notifications.feed_board",
    "notifications.feed_latest",
    "notifications.feed_thread",
    "notifications.feed_user",
    "notifications.feed_wiki",
    "boards.post",  # redirects to the post's page of its thread
    "search.similar",  # JSON for the composer (and an HTML fragment)
    "ideas.set_status",  # POST form target; GET redirects
    # The known-problems register and the response figures as data (the pages are checked).
    "known.register_json",
    "known.register_csv",
    "known.register_feed",
    "known.response_json",
    "known.response_csv",
    # Uploaded files, thumbnails and profile pictures (forum.uploads): bytes, not pages.
    "uploads.serve",
    "uploads.thumbnail",
    "uploads.avatar",
    # Old Discourse, phpBB and Stack Exchange addresses (lifeboat): permanent redirects.
    *(f"lifeboat.old_address_{number}" for number in range(14)),
}


@dataclass(frozen=True)
class PageType:
    """One kind of page: its endpoint, the role that reads it and how to build its address."""

    endpoint: str
    role: str
    path: Callable[[dict[str, Any]], str]
    status: int = 200
    name: str = ""

    @property
    def label(self) -> str:
        return f"{self.name or self.endpoint}[{self.role}]"


def _p(
    endpoint: str, role: str, path: str | Callable[[dict[str, Any]], str], status: int = 200, name: str = ""
) -> PageType:
    builder = path if callable(path) else (lambda sample, text=path: text.format(**sample))
    return PageType(endpoint, role, builder, status, name)


PAGE_TYPES: list[PageType] = [
    # Anyone
    _p("boards.index", "anonymous", "/"),
    _p("boards.board", "anonymous", "/b/broadband"),
    _p("boards.board", "anonymous", "/b/ideas", name="ideas board"),
    _p("boards.board", "anonymous", "/b/phone", name="busy board"),
    _p("boards.thread", "anonymous", "{long_thread_url}", name="long thread"),
    _p("boards.thread", "anonymous", "{solved_thread_url}", name="solved thread"),
    _p("boards.thread", "anonymous", "{upload_thread_url}", name="thread with uploads"),
    _p("auth.profile", "anonymous", "/u/maria"),
    _p("search.results", "anonymous", "/search?q=wifi+channel"),
    _p("search.results", "anonymous", "/search", name="empty search"),
    _p("search.help_page", "anonymous", "/search/help"),
    _p("qa.question_list", "anonymous", "/unsolved"),
    _p("qa.question_list", "anonymous", "/unanswered", name="unanswered"),
    _p("wiki.index", "anonymous", "/wiki"),
    _p("wiki.show_page", "anonymous", "/wiki/{wiki_slug}"),
    _p("wiki.history", "anonymous", "/wiki/{wiki_slug}/history"),
    _p("wiki.revision", "anonymous", "/wiki/{wiki_slug}/revisions/{wiki_revision_id}"),
    _p("wiki.diff", "anonymous", "/wiki/{wiki_slug}/diff"),
    _p("wiki.links", "anonymous", "/wiki/{wiki_slug}/links"),
    _p("wiki.changes", "anonymous", "/wiki/changes"),
    _p("auth.login", "anonymous", "/login"),
    _p("auth.register", "anonymous", "/register"),
    _p("notifications.request_reset", "anonymous", "/reset-password"),
    _p("notifications.reset_password", "anonymous", "/reset-password/not-a-token", status=400),
    _p("notifications.confirm_email", "anonymous", "/confirm-email/not-a-token", status=400),
    _p("notifications.unsubscribe", "anonymous", "/notifications/unsubscribe/not-a-token", status=400),
    _p("badges.verify", "member", "/settings/employee/verify/not-a-token", status=400),
    _p("moderation.public_log", "anonymous", "/mod/log/public"),
    _p("follow.latest", "anonymous", "/latest"),
    _p("known.register_page", "anonymous", "/known-issues"),
    _p("known.response_page", "anonymous", "/response"),
    _p("known.known_status", "anonymous", "/t/{known_thread_id}/known"),
    _p("known.problem_details", "anonymous", "/t/{known_thread_id}/details"),
    _p("errors.not_found", "anonymous", "/no/such/page", status=404, name="404"),
    # Members
    _p("boards.thread", "member", "{long_thread_url}", name="long thread"),
    _p("boards.board", "member", "/b/broadband"),
    _p("boards.new_thread", "member", "/b/broadband/new"),
    _p("boards.edit_post", "member", "/p/{member_post_id}/edit"),
    _p("auth.settings", "member", "/settings"),
    _p("badges.settings", "member", "/settings/employee"),
    _p("uploads.mine", "member", "/settings/uploads"),
    _p("boards.thread", "member", "{upload_thread_url}", name="thread with uploads"),
    _p("notifications.index", "member", "/notifications"),
    _p("notifications.settings", "member", "/notifications/settings"),
    _p("moderation.notices", "member", "/me/notices"),
    _p("follow.bookmarks", "member", "/bookmarks"),
    _p("moderation.flag_post", "member", "/p/{other_post_id}/flag"),
    _p("wiki.new_page", "member", "/wiki/new"),
    _p("wiki.edit_page", "member", "/wiki/{wiki_slug}/edit"),
    _p("search.results", "member", "/search?q=router"),
    # Moderators
    _p("boards.thread", "moderator", "{long_thread_url}", name="long thread"),
    _p("moderation.queue", "moderator", "/mod/queue"),  # with the uploads of the last 7 days
    _p("moderation.mod_log", "moderator", "/mod/log"),
    _p("moderation.member", "moderator", "/mod/users/priya"),
    _p("moderation.thread_tools", "moderator", "/t/{long_thread_id}/moderate"),
    _p("moderation.hide_post", "moderator", "/p/{other_post_id}/hide"),
    _p("moderation.post_history", "moderator", "/p/{member_post_id}/history"),
    _p("wiki.rename", "moderator", "/wiki/{wiki_slug}/rename"),
    _p("wiki.promote", "moderator", "/wiki/promote/{solved_thread_id}"),
    _p("known.known_status", "moderator", "/t/{known_thread_id}/known"),
    _p("known.problem_details", "moderator", "/t/{known_thread_id}/details"),
    # Administrators
    _p("admin.boards", "admin", "/admin/boards"),
    _p("admin.edit_board", "admin", "/admin/boards/{board_id}"),
    _p("moderation.roles", "admin", "/admin/roles"),
    _p("badges.manage", "admin", "/u/jo_staff/badge"),
    _p("known.board_fields", "admin", "/admin/boards/tv/fields"),
    _p("search.synonym_list", "admin", "/admin/search/synonyms"),
    _p("boards.index", "admin", "/"),
]

LONG_CODE_LINE = "curl -s https://example.org/api/v1/routers/hub4/diagnostics?" + "&".join(
    f"field{number}=value{number}" for number in range(40)
)


def sample_app(instance: str, **config: Any) -> Any:
    """A forum app on a fresh SQLite file in `instance`, tables created, ready for build_sample."""
    from forum import create_app
    from forum.extensions import db

    app = create_app(
        {
            "INSTANCE_PATH": instance,
            "SECRET_KEY": "page-checks-secret-key-long-enough-to-pass-every-check",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance}/forum.db",
            "RATELIMIT_ENABLED": False,
            "MAIL_SEND_AFTER_REQUEST": False,
            "PUBLIC_MOD_LOG": True,
            "COMPANY_NAME": "Example Telecom",
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_COST": 1024,
            "ARGON2_PARALLELISM": 1,
            **config,
        }
    )
    with app.app_context():
        db.create_all()
    return app


def serve(app: Any) -> tuple[str, Any]:
    """Serve `app` on a free port in a thread; its BASE_URL follows. Returns (base URL, server)."""
    import logging
    import threading

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    return base, server


def router_screenshot(width: int, height: int) -> bytes:
    """A PNG that looks like a screenshot of a router's status page: bars, rows, one red light."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (246, 247, 249))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 10), fill=(32, 64, 128))
    row = height // 14
    for number in range(2, 12):
        top = number * row
        draw.rectangle((width // 20, top, width - width // 20, top + row - 8), fill=(255, 255, 255))
        draw.rectangle((width // 20 + 12, top + 10, width // 3, top + row - 18), fill=(200, 204, 212))
        light = (210, 40, 40) if number == 5 else (40, 170, 80)
        draw.ellipse((width - width // 8, top + 8, width - width // 8 + row - 24, top + row - 16), fill=light)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def portrait(size: int = 400) -> bytes:
    """A PNG profile picture: a head and shoulders on a teal background."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (24, 120, 128))
    draw = ImageDraw.Draw(image)
    draw.ellipse((size * 0.15, size * 0.62, size * 0.85, size * 1.3), fill=(240, 200, 120))
    draw.ellipse((size * 0.32, size * 0.18, size * 0.68, size * 0.58), fill=(250, 220, 190))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def build_sample(app: Any) -> dict[str, Any]:
    """Seed the demo into `app`'s empty database, add what it lacks, return the addresses' parts."""
    from sqlalchemy import select

    from forum.auth.models import User
    from forum.boards import services as boards
    from forum.boards.models import Board, Post, Thread
    from forum.extensions import db
    from forum.moderation import flags, users
    from forum.wiki import editing as wiki
    from forum.wiki.models import WikiPage, WikiRevision

    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    logins = Path(app.instance_path, "demo-logins.txt").read_text().splitlines()[1:]
    passwords = {line.split()[0]: line.split()[1] for line in logins if line.strip()}
    with app.app_context():
        app.config.update(NEW_ACCOUNT_REPLY_INTERVAL=0, NEW_ACCOUNT_THREAD_INTERVAL=0)
        people = {user.username: user for user in db.session.scalars(select(User))}
        board = boards.get_board("broadband")
        long_thread = boards.start_thread(
            board,
            "Hub 4 diagnostics page: reading the numbers, one by one",
            f"The diagnostics page lists a lot of numbers. What do they mean?\n\n```\n{LONG_CODE_LINE}\n```",
            actor=people["tom_h"],
        )
        speakers = ["maria", "priya", "jo_staff", "tom_h"]
        for number in range(24):
            boards.reply(
                long_thread,
                f"Reply {number + 1}: the **SNR margin** should stay above 6 dB; mine reads "
                f"{8 + number % 5} dB in the evening. See `Advanced → Line`.",
                actor=people[speakers[number % len(speakers)]],
            )
        phone = boards.get_board("phone")
        for number in range(18):  # a busy board: how many rows fit on the first screen
            boards.start_thread(
                phone,
                f"Porting my number to a new SIM, question {number + 1}",
                "The port has been pending for two days. Is that normal?",
                actor=people[speakers[number % len(speakers)]],
            )
        db.session.flush()
        member_post = db.session.scalar(
            select(Post).where(Post.thread_id == long_thread.id, Post.author_id == people["maria"].id)
        )
        boards.edit_post(
            member_post, member_post.body_source + "\n\nEdited: it was the filter.", actor=people["maria"]
        )
        other_post = db.session.scalar(
            select(Post).where(Post.thread_id == long_thread.id, Post.author_id == people["priya"].id)
        )
        flags.flag_post(other_post, "off_topic", "Not about the diagnostics page.", actor=people["maria"])
        users.warn_user(people["priya"], "Please keep replies on topic.", actor=people["mod_sam"])
        page = db.session.scalar(select(WikiPage))
        wiki.edit_page(
            page,
            page.current_revision.body_source + "\n\nAlso try the 5 GHz network if your devices support it.",
            actor=people["priya"],
            base_revision_id=page.current_revision_id,
            summary="Mention 5 GHz",
        )
        # Uploads (issue #19): a thread whose first post shows a large screenshot and whose reply
        # links a log file; maria has a profile picture (her settings list them all).
        from forum.uploads import services as uploads

        screenshot = uploads.upload_file(people["maria"], router_screenshot(1600, 1000), "hub-status.png")
        upload_thread = boards.start_thread(
            board,
            "Hub 4 status page shows a red light on the line",
            "This is the status page since last night:\n\n"
            + uploads.markdown_for(screenshot, "Hub 4 status page, the DSL line light is red")
            + "\n\nThe other lights are green.",
            actor=people["maria"],
        )
        log = uploads.upload_file(
            people["maria"],
            b"".join(b"18:%02d WAN down\n18:%02d WAN up\n" % (n, n) for n in range(40)),
            "hub.log",
        )
        boards.reply(
            upload_thread,
            "And the hub's log from last night: " + uploads.markdown_for(log),
            actor=people["maria"],
        )
        uploads.set_avatar(people["maria"], portrait(), "me.png")
        db.session.commit()
        solved = db.session.scalar(select(Thread).where(Thread.solution_post_id.is_not(None)))
        revision = db.session.scalar(select(WikiRevision).where(WikiRevision.page_id == page.id))
        known = db.session.scalar(select(Thread).where(Thread.title.like("Recordings disappeared%")))
        return {
            "passwords": passwords,
            "long_thread_id": long_thread.id,
            "long_thread_url": long_thread.url,
            "solved_thread_id": solved.id,
            "solved_thread_url": solved.url,
            "upload_thread_url": upload_thread.url,
            "member_post_id": member_post.id,
            "other_post_id": other_post.id,
            "wiki_slug": page.slug,
            "wiki_revision_id": revision.id,
            "known_thread_id": known.id,
            "board_id": db.session.scalar(select(Board.id).where(Board.slug == "broadband")),
        }


@dataclass
class Viewport:
    name: str
    width: int
    height: int
    mobile: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


DESKTOP = Viewport("desktop", 1366, 900)
PHONE = Viewport("phone", 390, 844, mobile=True)
SCHEMES = ("light", "dark")


def log_in(page: Any, base_url: str, username: str, password: str) -> None:
    """Log in through the form, as a person would."""
    page.goto(f"{base_url}/login")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("form.login-form button[type=submit], main form [type=submit]")
    page.wait_for_load_state()
