"""`flask exchange import|export|static-site`."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Blueprint

from forum.exchange.fields import RecordError

bp = Blueprint("exchange", __name__, cli_group="exchange")


class _Bars:
    """A click progress bar per pass, fed with the number of bytes read."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, stage: str, size: int) -> Callable[[int], None]:
        self.close()
        self.bar = click.progressbar(length=size, label=f"{stage:<9}", show_eta=True, show_percent=True)
        self.bar.__enter__()
        return self.bar.update

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@bp.cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--merge", is_flag=True, help="Add to a forum that has content (ids are renumbered).")
@click.option("--jobs", default=1, show_default=True, help="Processes that render Markdown.")
def import_command(file: str, merge: bool, jobs: int) -> None:
    """Load FILE (the forum data format): checked in full first, then loaded in one transaction."""
    from forum.exchange.importer import import_file

    bars = _Bars()
    started = time.perf_counter()
    try:
        inserted = import_file(file, merge=merge, jobs=jobs, progress=bars)
    except RecordError as error:
        bars.close()
        raise click.ClickException(f"{file}: {error}. Nothing was imported.") from error
    bars.close()
    summary = ", ".join(f"{count} {table}" for table, count in inserted.items())
    click.echo(f"Imported {summary} in {time.perf_counter() - started:.1f} s.")


@bp.cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--public",
    "kind",
    flag_value="public",
    help="What any visitor can see: no e-mail, password hash or private data.",
)
@click.option("--full", "kind", flag_value="full", help="A backup with private data, for restoring.")
def export_command(file: str, kind: str | None) -> None:
    """Write the forum to FILE in the forum data format."""
    from forum.exchange.exporter import export_file

    if kind is None:
        raise click.UsageError("Say what to export: --public (an archive to publish) or --full (a backup).")
    try:
        counts = export_file(file, full=kind == "full")
    except RecordError as error:
        raise click.ClickException(f"{file}: {error}. Nothing was written.") from error
    summary = ", ".join(f"{count} {name}" for name, count in counts.items())
    click.echo(f"Wrote {kind} export to {file}: {summary}.")


@bp.cli.command("static-site")
@click.argument("directory", type=click.Path(file_okay=False))
def static_site_command(directory: str) -> None:
    """Write a read-only HTML mirror of the public forum into DIRECTORY."""
    from forum.exchange.static_site import count_visible_threads, write_static_site

    with click.progressbar(length=count_visible_threads(), label="Writing threads") as bar:
        pages = write_static_site(Path(directory), progress=bar.update)
    click.echo(f"Wrote {pages} pages to {directory}; open {Path(directory) / 'index.html'}.")
