"""The record types of the forum data format: one table, name -> parse, check, load, export.

To add a record type (votes, badges, watches, ...): write its four functions and add one
RecordType line to RECORD_TYPES, in file order (a record may only refer to earlier lines);
document it in docs/FORMAT.md. `parse` turns a JSON object into checked values (RecordError
on a bad field), `check` verifies uniqueness and references during the first pass, `load`
adds rows to the loader's batches, `export(full)` yields the records for a file. Declare the
record's id and references once, as a `Links` (forum.exchange.importer): `check` calls its
`check(c, p)` (the id is new, each reference names an earlier line), `load` adds its
`row(loader, p, **extra)` (every id mapped into its table); a new kind with an id goes into
`TABLES`. Derived counters are recomputed by the FINALIZERS after everything is inserted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select, update

from forum.auth.models import User
from forum.boards.models import Board, Post, Thread
from forum.boards.visibility import post_is_visible, thread_is_visible
from forum.exchange import (
    badges_watches,
    follow,
    known,
    moderation,
    qa_ideas,
    threads,
    uploads,
    users_boards,
    wiki_audit,
)
from forum.exchange.importer import Checker, Loader, Parsed


@dataclass(frozen=True)
class RecordType:
    name: str
    parse: Callable[[dict[str, Any]], Parsed]
    check: Callable[[Checker, Parsed], None]
    load: Callable[[Loader, Parsed], None]
    # None: written by another type's export (replies come with their thread).
    export: Callable[[bool], Iterator[dict[str, Any]]] | None
    # The hashes of the files a record names, copied into the files folder (forum.exchange.files).
    files: Callable[[dict[str, Any]], list[str]] | None = None


# -- counters, recomputed in bulk after the rows are in ----------------------------------------


def recompute_counters(loader: Loader) -> None:
    """Board and user counters from a few GROUP BY queries (list pages never count rows)."""
    connection = loader.connection
    _set_counts(
        connection,
        Board,
        "thread_count",
        select(Thread.board_id, func.count()).where(thread_is_visible()).group_by(Thread.board_id),
    )
    _set_counts(connection, Board, "post_count", select(Thread.board_id, func.count()).join(Post, Post.thread_id == Thread.id)
                .where(thread_is_visible(), post_is_visible()).group_by(Thread.board_id))  # fmt: skip
    for board_id in connection.scalars(select(Board.id)).all():
        last = connection.scalar(
            select(Thread.id).where(Thread.board_id == board_id, thread_is_visible())
            .order_by(Thread.last_post_at.desc(), Thread.id.desc()).limit(1)
        )  # fmt: skip
        connection.execute(update(Board).where(Board.id == board_id).values(last_thread_id=last))
    _set_counts(
        connection,
        User,
        "post_count",
        select(Post.author_id, func.count()).where(post_is_visible()).group_by(Post.author_id),
    )
    _set_counts(connection, User, "thread_count", select(Thread.author_id, func.count()).where(Thread.deleted_at.is_(None))
                .group_by(Thread.author_id))  # fmt: skip
    # solution_count and reputation: qa_ideas.recompute_reputation (the Q&A rules).


def _set_counts(connection: Any, model: Any, column: str, counts: Any) -> None:
    table = model.__table__
    connection.execute(update(table).values({column: 0}))
    pairs = counts if isinstance(counts, list) else connection.execute(counts)
    rows = [{"row_id": key, "value": value} for key, value in pairs]
    if rows:
        statement = (
            update(table).where(table.c.id == bindparam("row_id")).values({column: bindparam("value")})
        )
        connection.execute(statement, rows)


ub, th, wa, qi, bw, mo, kn = users_boards, threads, wiki_audit, qa_ideas, badges_watches, moderation, known
# In file order: a record may only refer to records of the types above it.
RECORD_TYPES: dict[str, RecordType] = {record_type.name: record_type for record_type in (
    RecordType("user", ub.parse_user, ub.check_user, ub.load_user, ub.export_users),
    RecordType("employee_badge", bw.parse_employee_badge, bw.check_employee_badge, bw.load_employee_badge,
               bw.export_employee_badges),
    RecordType("category", ub.parse_category, ub.check_category, ub.load_category, ub.export_categories),
    RecordType("thread", th.parse_thread, th.check_thread, th.load_thread, th.export_threads),
    RecordType("post", th.parse_post, th.check_post, th.load_post, None),
    RecordType("wiki_page", wa.parse_wiki_page, wa.check_wiki_page, wa.load_wiki_page, wa.export_wiki_pages),
    RecordType("wiki_redirect", wa.parse_wiki_redirect, wa.check_wiki_redirect, wa.load_wiki_redirect,
               wa.export_wiki_redirects),
    RecordType("helpful_vote", qi.parse_helpful_vote, qi.check_helpful_vote, qi.load_helpful_vote,
               qi.export_helpful_votes),
    RecordType("idea", qi.parse_idea, qi.check_idea, qi.load_idea, qi.export_ideas),
    RecordType("idea_vote", qi.parse_idea_vote, qi.check_idea_vote, qi.load_idea_vote, qi.export_idea_votes),
    RecordType("idea_status_change", qi.parse_idea_status_change, qi.check_idea_status_change,
               qi.load_idea_status_change, qi.export_idea_status_changes),
    # -- known problems (issue #17) --
    RecordType("problem_field", kn.parse_problem_field, kn.check_problem_field, kn.load_problem_field,
               kn.export_problem_fields),
    RecordType("problem_value", kn.parse_problem_value, kn.check_problem_value, kn.load_problem_value,
               kn.export_problem_values),
    RecordType("problem_value_change", kn.parse_problem_value_change, kn.check_problem_value_change,
               kn.load_problem_value_change, kn.export_problem_value_changes),
    RecordType("known_issue", kn.parse_known_issue, kn.check_known_issue, kn.load_known_issue,
               kn.export_known_issues),
    RecordType("known_issue_change", kn.parse_known_issue_change, kn.check_known_issue_change,
               kn.load_known_issue_change, kn.export_known_issue_changes),
    RecordType("affected_member", kn.parse_affected_member, kn.check_affected_member, kn.load_affected_member,
               kn.export_affected_members),
    RecordType("watch", bw.parse_watch, bw.check_watch, bw.load_watch, bw.export_watches),
    RecordType("audit_entry", wa.parse_audit_entry, wa.check_audit_entry, wa.load_audit_entry, wa.export_audit_entries),
    RecordType("board_moderator", mo.parse_board_moderator, mo.check_board_moderator, mo.load_board_moderator,
               mo.export_board_moderators),
    RecordType("flag", mo.parse_flag, mo.check_flag, mo.load_flag, mo.export_flags),
    RecordType("post_revision", mo.parse_post_revision, mo.check_post_revision, mo.load_post_revision,
               mo.export_post_revisions),
    RecordType("user_notice", mo.parse_user_notice, mo.check_user_notice, mo.load_user_notice,
               mo.export_user_notices),
    RecordType("thread_read", follow.parse_thread_read, follow.check_thread_read, follow.load_thread_read,
               follow.export_thread_reads),
    RecordType("board_read", follow.parse_board_read, follow.check_board_read, follow.load_board_read,
               follow.export_board_reads),
    RecordType("bookmark", follow.parse_bookmark, follow.check_bookmark, follow.load_bookmark,
               follow.export_bookmarks),
    # -- uploads (issue #19) --
    RecordType("upload", uploads.parse_upload, uploads.check_upload, uploads.load_upload, uploads.export_uploads,
               uploads.upload_files),
    RecordType("upload_use", uploads.parse_upload_use, uploads.check_upload_use, uploads.load_upload_use,
               uploads.export_upload_uses),
)}  # fmt: skip
FINALIZERS: dict[str, list[Callable[[Loader], None]]] = {
    "prepare_merge": [users_boards.prepare_merge_users, wiki_audit.prepare_merge_wiki],
    "finish": [
        recompute_counters,
        qa_ideas.recompute_vote_counts,
        qa_ideas.recompute_reputation,
        badges_watches.recompute_employee_replies,
        moderation.recompute_moderated_board_counts,
        known.recompute_affected_counts,
    ],
}
