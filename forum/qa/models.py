"""Helpful votes: one row per member per post (the unique constraint settles races)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint, bindparam, exists
from sqlalchemy.orm import Mapped, column_property, mapped_column

from forum.boards.models import Post
from forum.db import utcnow
from forum.extensions import db


class HelpfulVote(db.Model):
    """A member found a post helpful. Post.helpful_count and the author's reputation follow it."""

    __tablename__ = "helpful_votes"
    __table_args__ = (UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))  # first column of the unique index
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Whether the member reading a thread page found each post helpful, for their id given as the
# "viewer_id" parameter: loaded with the page's posts (forum.boards.services.thread_posts
# undefers it for a member), so the page runs no votes query. Without that parameter it means
# nothing, so it is never loaded otherwise, and reading it then raises.
Post.viewer_found_helpful = column_property(
    exists()
    .where(HelpfulVote.post_id == Post.id, HelpfulVote.user_id == bindparam("viewer_id"))
    .correlate_except(HelpfulVote),
    deferred=True,
    raiseload=True,
)
