"""A vector per thread: what its title and opening post mean, for the similar-threads box."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from forum.db import utcnow
from forum.extensions import db


class ThreadEmbedding(db.Model):
    """A thread's title and opening post as a unit vector (float16 bytes), made by `model`.

    Written only by the background job and `flask semantic reindex`, never in a request. A
    thread without a row, or whose row is `stale` (its title or opening post changed) or made by
    another model, is waiting for the job; until then the similar box treats it lexically.
    """

    __tablename__ = "thread_embeddings"

    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(60))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    stale: Mapped[bool] = mapped_column(default=False, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
