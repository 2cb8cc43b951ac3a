"""Search pages: results, syntax help, and similar threads for the composer (JSON)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue

from forum.search import services

bp = Blueprint("search", __name__, cli_group="search")


def _page_argument() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 6 else 1


@bp.route("/search")
def results() -> ResponseReturnValue:
    choices = services.Choices(
        **{name: request.args.get(name, "")[:60] for name in ("board", "status", "after", "before", "order")}
    )
    page = services.search(request.args.get("q", ""), page=_page_argument(), choices=choices)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    base_url = url_for("search.results", **args)
    return render_template(
        "search/results.html",
        result=page,
        choices=choices,
        boards=services.board_choices(),
        base_url=base_url,
    )


@bp.route("/search/help")
def help_page() -> ResponseReturnValue:
    return render_template("search/help.html")


@bp.route("/search/similar")
def similar() -> ResponseReturnValue:
    """Up to 5 threads like ?title=, solved first: the composer shows them as the title is typed."""
    threads = services.similar_threads(request.args.get("title", ""))
    return jsonify(
        threads=[
            {
                "title": thread.title,
                "url": thread.url,
                "board": thread.board.name,
                "solved": thread.is_solved,
                "replies": thread.reply_count,
            }
            for thread in threads
        ]
    )
