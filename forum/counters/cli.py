"""`flask forum recount [--check]`: every stored counter against a recount from the rows."""

from __future__ import annotations

import click
from flask import Blueprint

from forum.counters import rows
from forum.extensions import db

bp = Blueprint("forum_cli", __name__, cli_group="forum")


@bp.cli.command("recount")
@click.option("--check", is_flag=True, help="Only report drift; exit 1 if any counter is wrong.")
def recount(check: bool) -> None:
    """Recompute every denormalized counter (boards, threads, posts, members, Q&A, ideas, wiki).

    They are kept live by atomic updates; this repairs a database whose counters drifted
    (older releases, a restore, a manual edit). `--check` changes nothing.
    """
    if check:
        drift = rows.find_drift()
        for each in drift:
            click.echo(str(each))
        if drift:
            names = sorted({each.counter for each in drift})
            raise click.ClickException(f"{len(drift)} counter(s) drifted: {', '.join(names)}.")
        click.echo(f"All {len(rows.counters())} counters match the rows.")
        return
    corrected = 0
    with click.progressbar(length=rows.rows_to_recount(), label="Recounting") as bar:
        for looked_at, changed in rows.recount_batches():
            db.session.commit()
            corrected += changed
            bar.update(looked_at)
    click.echo(f"Recounted {len(rows.counters())} counters: {corrected} row(s) corrected.")
