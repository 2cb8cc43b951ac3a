"""`flask lifeboat ...`: convert another forum's data to the forum data format; redirect maps."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from flask import current_app

from forum.lifeboat.staging import ConversionError, Staging, slugify
from forum.lifeboat.views import bp


@bp.cli.command("redirects")
@click.option(
    "--nginx", "nginx_file", type=click.Path(dir_okay=False, writable=True), help="Write an nginx map here."
)
@click.option("--apache", "apache_file", type=click.Path(dir_okay=False, writable=True),
              help="Write Apache mod_rewrite rules here.")  # fmt: skip
@click.option("--base-url", default=None, help="The forum's public address (default: FORUM_BASE_URL).")
def redirects_command(nginx_file: str | None, apache_file: str | None, base_url: str | None) -> None:
    """Write redirect maps of every old address for a web server that keeps the old domain."""
    from forum.lifeboat import oldurls

    if not nginx_file and not apache_file:
        raise click.UsageError("Say which map to write: --nginx FILE and/or --apache FILE.")
    base = (base_url or current_app.config["BASE_URL"]).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise click.BadParameter(f"{base!r} is not an http(s) address", param_hint="--base-url")
    for path, writer in ((nginx_file, oldurls.nginx_map), (apache_file, oldurls.apache_rules)):
        if not path:
            continue
        count = 0

        def counted() -> object:
            nonlocal count
            for pair in oldurls.redirect_pairs():
                count += 1
                yield pair

        partial = Path(path).with_name(Path(path).name + ".partial")
        with open(partial, "w", encoding="utf-8") as out:
            out.writelines(writer(counted(), base))  # type: ignore[arg-type]
        partial.replace(path)
        click.echo(f"Wrote {count} redirects to {path}.")


# -- converters --------------------------------------------------------------------------------


class _Progress:
    """One click progress bar at a time, labelled by what is being read."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, label: str, length: int | None) -> Callable[[int], None]:
        """A bar for `length` units, or a running count when the total is not known in advance."""
        self.close()
        if length is None:
            self.bar = _Counter(label)
            return self.bar.update
        self.bar = click.progressbar(length=length, label=f"{label:<16}", file=sys.stderr)
        self.bar.__enter__()
        return self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


class _Counter:
    """ "Label: 12,345" on stderr, refreshed every thousand."""

    def __init__(self, label: str) -> None:
        self.label, self.count = label, 0

    def update(self, done: int) -> None:
        self.count += done
        if self.count % 1000 < done:
            click.echo(f"\r{self.label:<16} {self.count:,}", nl=False, err=True)

    def __exit__(self, *_: object) -> None:
        click.echo(f"\r{self.label:<16} {self.count:,}", err=True)


@contextmanager
def _conversion(out: str, source: str) -> Iterator[tuple[Staging, _Progress]]:
    """A converter run: its state file, progress bars, and errors as a message and exit status 1."""
    progress = _Progress()
    try:
        staging = Staging(out, source)
    except ConversionError as error:
        raise click.ClickException(str(error)) from error
    if staging.resumed:
        click.echo(f"Resuming the unfinished run recorded in {staging.path}.", err=True)
    done = False
    try:
        yield staging, progress
        done = True
    except ConversionError as error:
        progress.close()
        reason = str(error) if str(error).endswith((".", "?", "!")) else f"{error}."
        raise click.ClickException(f"{reason} {out} was not written; run the same command again to resume "
                                   "once the cause is fixed.") from error  # fmt: skip
    except KeyboardInterrupt:
        progress.close()
        raise click.ClickException(
            f"interrupted: run the same command again to resume from {staging.path}."
        ) from None
    finally:
        progress.close()
        staging.close(done=done)


def _write(staging: Staging, progress: _Progress, generator: str) -> dict[str, int]:
    counts = staging.write(generator, progress("Writing", None))
    progress.close()
    return counts


def _report(out: str, counts: dict[str, int], skips: list[Any]) -> None:
    summary = ", ".join(f"{number} {kind}" for kind, number in counts.items())
    click.echo(f"Wrote {out}: {summary}.")
    if skips:
        click.echo(f"Skipped {len(skips)}:")
        for skip in skips[:50]:
            click.echo(f"  {skip.kind} {skip.ref}: {skip.reason}")
        if len(skips) > 50:
            click.echo(f"  ... and {len(skips) - 50} more")
    click.echo(f"Load it with: flask exchange import {out}   (or --merge into a forum with content)")


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, target = value.partition("=")
        slug = slugify(target, "")
        if not sep or not key or slug != target:
            raise click.BadParameter(f"{value!r} is not NAME=board-slug (a-z, 0-9, -)", param_hint=option)
        pairs[key.strip()] = slug
    return pairs


@bp.cli.command("stackexchange")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--site",
    default=None,
    help="The site's address (default: the folder's name, e.g. iot.stackexchange.com).",
)
@click.option(
    "--tag-board",
    "tag_boards",
    multiple=True,
    metavar="TAG=SLUG",
    help="Questions with this tag go to this board (repeatable; the first matching tag wins).",
)
@click.option(
    "--board",
    "default_board",
    default=None,
    help="Board slug for the other questions (default: from the site).",
)
@click.option(
    "--skip-oversized", is_flag=True, help="Leave out posts over the format's size limit instead of stopping."
)
def stackexchange_command(folder: str, out: str, site: str | None, tag_boards: tuple[str, ...],
                          default_board: str | None, skip_oversized: bool) -> None:  # fmt: skip
    """Convert a Stack Exchange data dump site FOLDER (Posts.xml, Users.xml, ...) to OUT.jsonl."""
    from forum.lifeboat import stackexchange

    site = site or Path(folder).resolve().name
    options = stackexchange.Options(
        site=site, tag_boards=_pairs(tag_boards, "--tag-board"),
        default_board=slugify(default_board or site, "imported"), skip_oversized=skip_oversized,
    )  # fmt: skip
    with _conversion(out, f"stackexchange:{Path(folder).resolve()}") as (staging, progress):
        found = stackexchange.convert(Path(folder), staging, options, progress)
        counts = _write(staging, progress, f"roundabout flask lifeboat stackexchange ({site})")
        skips = staging.skips()
    written_replies = counts.get("post", 0)
    solutions = found.accepted
    click.echo(
        f"Read {found.users} users, {found.questions} questions, {found.answers} answers "
        f"({solutions} accepted), {found.comments} comments, {found.duplicates} duplicate links; "
        f"left out {found.other_posts} tag-wiki and other non-Q&A posts."
    )
    orphans = sum(1 for skip in skips if skip.kind == "post" and "question" in skip.reason)
    oversized = len(found.oversized)
    if counts.get("thread", 0) != found.questions or written_replies + orphans + oversized < found.answers:
        raise click.ClickException(
            f"counts differ: {found.questions} questions read but {counts.get('thread', 0)} threads written, "
            f"{found.answers} answers read but {written_replies} replies written"
        )
    _report(out, counts, skips)


@bp.cli.command("mbox")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--list-name",
    default=None,
    help="The list's name, shown as the board and source (default: the file name).",
)
@click.option(
    "--board", default=None, help="Slug of the board the threads go to (default: from the list name)."
)
@click.option(
    "--claimable",
    is_flag=True,
    help="Keep senders' addresses (never shown) so members can claim their accounts by password reset.",
)
@click.option(
    "--skip-oversized",
    is_flag=True,
    help="Leave out messages over the format's size limit instead of stopping.",
)
def mbox_command(file: str, out: str, list_name: str | None, board: str | None, claimable: bool,
                 skip_oversized: bool) -> None:  # fmt: skip
    """Convert a mailing-list archive FILE (mbox) to OUT.jsonl, one thread per conversation."""
    from forum.lifeboat import mbox

    name = list_name or Path(file).stem
    options = mbox.Options(list_name=name, board=slugify(board or name, "mailing-list"), claimable=claimable,
                           skip_oversized=skip_oversized)  # fmt: skip
    with _conversion(out, f"mbox:{Path(file).resolve()}") as (staging, progress):
        found = mbox.convert(Path(file), staging, options, progress)
        counts = _write(staging, progress, f"roundabout flask lifeboat mbox ({name})")
        skips = staging.skips()
    click.echo(f"Read {found['messages']} messages from {found['members']} senders: {found['threads']} threads, "
               f"{found['replies']} replies.")  # fmt: skip
    _report(out, counts, skips)


@bp.cli.command("phpbb")
@click.argument("database_url")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--prefix", default="phpbb_", show_default=True, help="The tables' name prefix.")
@click.option(
    "--base-url", default="", help="The old forum's address (https://forum.example/phpBB3), for attribution."
)
@click.option(
    "--unknown-tags",
    type=click.Choice(["fail", "keep"]),
    default="fail",
    show_default=True,
    help="What to do with BBCode tags the converter does not know: stop, or keep them as text.",
)
@click.option(
    "--skip-oversized", is_flag=True, help="Leave out posts over the format's size limit instead of stopping."
)
def phpbb_command(database_url: str, out: str, prefix: str, base_url: str, unknown_tags: str,
                  skip_oversized: bool) -> None:  # fmt: skip
    """Convert a phpBB 3.3 database (mysql://... or postgresql://...) to OUT.jsonl."""
    from sqlalchemy.engine import make_url

    from forum.lifeboat import phpbb

    if base_url and not base_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{base_url!r} is not an http(s) address", param_hint="--base-url")
    options = phpbb.Options(
        prefix=prefix, base_url=base_url, unknown_tags=unknown_tags, skip_oversized=skip_oversized
    )
    try:
        shown = make_url(database_url).render_as_string(hide_password=True)
    except Exception as error:  # noqa: BLE001 (any unparsable URL: say so)
        raise click.BadParameter("not a database URL (mysql://user@host/db or postgresql://...)",
                                 param_hint="DATABASE_URL") from error  # fmt: skip
    with _conversion(out, f"phpbb:{shown}/{prefix}") as (staging, progress):
        found = phpbb.convert(database_url, staging, options, progress)
        counts = _write(staging, progress, "roundabout flask lifeboat phpbb")
        skips = staging.skips()
    click.echo(f"Read {found['users']} members, {found['forums']} forums, {found['topics']} topics, "
               f"{found['replies']} replies.")  # fmt: skip
    _report(out, counts, skips)


@bp.cli.command("discourse")
@click.argument("url")
@click.argument("out", type=click.Path(dir_okay=False, writable=True))
@click.option("--rate", default=1.0, show_default=True, help="Requests per second at most.")
@click.option(
    "--retries", default=5, show_default=True, help="Tries again after a network error or 5xx, with backoff."
)
@click.option(
    "--cooked-only", is_flag=True, help="Convert the cooked HTML; do not ask for each post's raw Markdown."
)
@click.option("--no-profiles", is_flag=True, help="Do not read members' public profiles (join date, bio).")
@click.option(
    "--license", "license_text", default=None, help="The license the forum states for its content, if any."
)
@click.option(
    "--skip-oversized",
    is_flag=True,
    help="Leave out topics with a post over the size limit instead of stopping.",
)
def discourse_command(url: str, out: str, rate: float, retries: int, cooked_only: bool, no_profiles: bool,
                      license_text: str | None, skip_oversized: bool) -> None:  # fmt: skip
    """Read a Discourse forum at URL through its public JSON, politely, into OUT.jsonl (resumable)."""
    from forum.lifeboat import discourse

    if not 0 < rate <= 20:
        raise click.BadParameter(
            "must be more than 0 and at most 20 requests per second", param_hint="--rate"
        )
    options = discourse.Options(
        base_url=url, rate=rate, fetch_raw=not cooked_only, profiles=not no_profiles, license=license_text,
        skip_oversized=skip_oversized, retries=retries,
    )  # fmt: skip
    with _conversion(out, f"discourse:{url.rstrip('/')}") as (staging, progress):
        found = discourse.convert(staging, options, progress)
        counts = _write(staging, progress, f"roundabout flask lifeboat discourse ({url})")
        skips = staging.skips()
    click.echo(f"Read {found['topics']} topics with {found['posts']} replies by {found['users']} members "
               f"in {found['requests']} requests.")  # fmt: skip
    _report(out, counts, skips)
