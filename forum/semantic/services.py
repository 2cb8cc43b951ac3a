"""Thread vectors: which threads wait for one, computing them (in the background only), and
the model each process loads once.

A thread waits when it has no row, when its title or opening post changed since (`stale`), or
when its row was made by another model. The periodic job and `flask semantic reindex` take
waiting threads in batches; a request never computes a thread's vector.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update

from forum.boards.models import Post, Thread
from forum.boards.visibility import thread_is_visible
from forum.db import utcnow
from forum.extensions import db
from forum.markup import plain_text
from forum.semantic import model
from forum.semantic.models import ThreadEmbedding

BATCH_SIZE = 32
JOB_LIMIT = 256  # threads per periodic run (about 40 s of one core at 128 tokens each)

_encoder: model.Encoder | None = None
_encoder_lock = threading.Lock()


def is_on() -> bool:
    """The layer is on in this app: configured so, with the extra and the model installed."""
    return bool(current_app.extensions.get("semantic"))


def encoder() -> model.Encoder:
    """The model, loaded on first use in each process (about 0.3 s and 90 MB, whatever the
    forum's size)."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                directory = model.model_directory()
                if directory is None:
                    raise RuntimeError("The model is not installed (README: Semantic similar threads).")
                _encoder = model.Encoder(directory)
    return _encoder


def to_bytes(vector: Any) -> bytes:
    import numpy as np

    return np.asarray(vector, dtype=np.float16).tobytes()


def from_bytes(data: bytes) -> Any:
    import numpy as np

    return np.frombuffer(data, dtype=np.float16).astype(np.float32)


def _waiting() -> Any:
    """Visible threads without a current vector, oldest first (a Select of ids)."""
    return (
        select(Thread.id)
        .outerjoin(ThreadEmbedding, ThreadEmbedding.thread_id == Thread.id)
        .where(
            thread_is_visible(),
            or_(
                ThreadEmbedding.thread_id.is_(None),
                ThreadEmbedding.stale.is_(True),
                ThreadEmbedding.model != model.MODEL_NAME,
            ),
        )
        .order_by(Thread.id)
    )


def waiting_count() -> int:
    return db.session.scalar(select(func.count()).select_from(_waiting().order_by(None).subquery())) or 0


def thread_texts(thread_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """What a thread's vector reads: its title, and its title with the start of its opening
    post as plain text (the model reads MAX_TOKENS word pieces; 2,000 characters are plenty)."""
    rows = db.session.execute(
        select(Thread.id, Thread.title, Post.body_html)
        .join(Post, (Post.thread_id == Thread.id) & (Post.position == 1))
        .where(Thread.id.in_(thread_ids))
    )
    return {
        thread_id: (title, f"{title}\n{' '.join(plain_text(body[:6000]).split())[:2000]}")
        for thread_id, title, body in rows
    }


def thread_vectors(texts: Sequence[tuple[str, str]]) -> Any:
    """A thread's vector: the mean of its title's and its title-and-opening-post's unit vectors,
    so that a title's dot product with it is the mean of the two cosines. A typed title is
    often closest to another title, sometimes to what the post explains (issue #14: on Stack
    Exchange the mean found the original in the top five for 33% of titles in a box of at most
    one unrelated thread, the opening post alone 29%)."""
    titles = encoder().encode([title for title, _ in texts], batch=BATCH_SIZE)
    wholes = encoder().encode([whole for _, whole in texts], batch=BATCH_SIZE)
    return (titles + wholes) / 2


def _store(texts: dict[int, tuple[str, str]], vectors: Any) -> int:
    """Store the vectors of threads whose text is still what the model read; a thread edited
    meanwhile is left waiting (its edit marked it stale: no vector of its old text becomes
    current). The caller commits."""
    now_texts = thread_texts(list(texts))
    existing = {
        row.thread_id: row
        for row in db.session.scalars(
            select(ThreadEmbedding).where(ThreadEmbedding.thread_id.in_(list(texts)))
        )
    }
    stored = 0
    for thread_id, vector in zip(texts, vectors, strict=True):
        if now_texts.get(thread_id) != texts[thread_id]:
            continue
        row = existing.get(thread_id)
        if row is None:
            row = ThreadEmbedding(thread_id=thread_id)
            db.session.add(row)
        row.model, row.vector, row.stale, row.updated_at = model.MODEL_NAME, to_bytes(vector), False, utcnow()
        stored += 1
    db.session.flush()
    return stored


def embed_waiting(limit: int = JOB_LIMIT, progress: Callable[[int], None] | None = None) -> int:
    """Vectors for up to `limit` waiting threads; returns how many were stored. Background work
    (the job, the CLI) that commits: no transaction stays open while the model runs, and each
    batch is kept as soon as it is done."""
    stored = seen = 0
    last_id = 0
    while seen < limit:
        batch = list(
            db.session.scalars(_waiting().where(Thread.id > last_id).limit(min(BATCH_SIZE, limit - seen)))
        )
        if not batch:
            break
        texts = thread_texts(batch)
        db.session.commit()  # ends the read: an edit committed while the model runs is seen below
        if texts:
            stored += _store(texts, thread_vectors(list(texts.values())))
            db.session.commit()
        seen += len(batch)
        last_id = batch[-1]
        if progress is not None:
            progress(len(batch))
    return stored


def embed_new_threads() -> str:
    """The periodic job (forum/jobs/builtin.py): vectors for threads new or changed since."""
    if not is_on():
        return "off (SEMANTIC_SEARCH, or the semantic extra is not installed)"
    done = embed_waiting()
    return f"embedded {done}, {waiting_count()} waiting"


def mark_stale(thread_id: int) -> None:
    """A thread's title or opening post changed: its vector waits for the job (in the caller's
    transaction). Until then the similar box treats the thread lexically."""
    db.session.execute(
        update(ThreadEmbedding).where(ThreadEmbedding.thread_id == thread_id).values(stale=True)
    )


def vectors_of(thread_ids: Sequence[int]) -> dict[int, Any]:
    """The current vectors of these threads (one query); threads waiting for theirs are absent."""
    if not thread_ids:
        return {}
    rows = db.session.execute(
        select(ThreadEmbedding.thread_id, ThreadEmbedding.vector).where(
            ThreadEmbedding.thread_id.in_(thread_ids),
            ThreadEmbedding.model == model.MODEL_NAME,
            ThreadEmbedding.stale.is_(False),
        )
    )
    return {thread_id: from_bytes(vector) for thread_id, vector in rows}


def embedded_count() -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ThreadEmbedding)
            .where(ThreadEmbedding.model == model.MODEL_NAME, ThreadEmbedding.stale.is_(False))
        )
        or 0
    )


def forget_vectors() -> int:
    """Mark every vector stale, so that all are computed again (`flask semantic reindex --all`);
    the caller commits."""
    return db.session.execute(update(ThreadEmbedding).values(stale=True)).rowcount
