"""Old addresses of the forum a community left: each answers with a 301 to its new place."""

from __future__ import annotations

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue

from forum.errors import NotFound
from forum.lifeboat import oldurls

bp = Blueprint("lifeboat", __name__, cli_group="lifeboat")

OLD_PATHS = (
    # Discourse: topics (with a post number), categories
    "/t/<slug>/<int:topic_id>",
    "/t/<slug>/<int:topic_id>/<int:post_number>",
    "/c/<path:category>/<int:category_id>",
    # phpBB, at the site root or in its folder
    "/viewtopic.php",
    "/viewforum.php",
    "/<path:folder>/viewtopic.php",
    "/<path:folder>/viewforum.php",
    # Stack Exchange: questions (with an answer id), answers, share links with a user id
    "/questions/<int:question_id>",
    "/questions/<int:question_id>/<slug>",
    "/questions/<int:question_id>/<slug>/<int:answer_id>",
    "/q/<int:question_id>",
    "/q/<int:question_id>/<int:user_id>",
    "/a/<int:answer_id>",
    "/a/<int:answer_id>/<int:user_id>",
)


def old_address(**_parts: object) -> ResponseReturnValue:
    """A remembered old address: 301 to its thread, post or board; else a plain 404."""
    target = oldurls.resolve(request.full_path if request.query_string else request.path)
    if target is None:
        raise NotFound("This address belonged to the old forum, and nothing imported here came from it.")
    return redirect(target, code=301)


for _number, _path in enumerate(OLD_PATHS):
    bp.add_url_rule(_path, view_func=old_address, endpoint=f"old_address_{_number}")
