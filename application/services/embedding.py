"""Background embedding: a space's documents get their vectors after they are written,
never on a query's path.

When a note is written (or a query finds documents without a vector), the space's
embedding task is started, or told to run once more if it is running: it brings the
space's search index up to date with the store, then gives every document without a
vector one, in batches of ``EMBED_BATCH`` texts, at most ``EMBED_CONCURRENCY`` batches at
a time over all spaces (a local model on 2 cores is CPU-bound; more at once only makes
each slower). A vector is first looked up in the store by the SHA-256 of its text (another
replica, or an earlier run, embedded it) and stored there when made, so no text is
embedded twice. A document removed or replaced while its batch was being embedded is not
put back in the vector index. An endpoint failure stops the task; the next write or
query starts it again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import attrs
import structlog

from application.search_ports import Embedder, EmbeddingsUnavailable, SearchDoc, VectorIndex, VectorRepository
from domain import SpaceId

__all__ = [
    "EMBED_BATCH",
    "EMBED_CONCURRENCY",
    "BackgroundEmbedding",
    "EmbeddingProgress",
    "Semantic",
    "log_failure",
]

log = structlog.get_logger("live_mem.search")

EMBED_BATCH: Final = 64
"""Texts per call to the embedder."""
EMBED_CONCURRENCY: Final = 1
"""Batches embedded at a time, all spaces together."""


@attrs.frozen
class Semantic:
    """What semantic search needs: the embedder, the stored vectors, the vector index."""

    embedder: Embedder
    vectors: VectorRepository
    index: VectorIndex


@attrs.frozen
class EmbeddingProgress:
    """How far embedding has got: ``embedded`` documents have a vector in this replica's
    index, ``pending`` wait for one; ``error`` is the last failure's reason ("" when the
    last batch succeeded)."""

    model: str
    embedded: int
    pending: int
    error: str = ""


@attrs.define
class _Space:
    pending: dict[str, SearchDoc] = attrs.Factory(dict)
    task: asyncio.Task[None] | None = None
    again: bool = False
    error: str = ""


def log_failure(event: str) -> Callable[[asyncio.Task[None]], None]:
    """A done-callback that retrieves a background task's error and logs it as ``event``
    (its type and message), so that no failure of a task nobody awaits goes unseen."""

    def retrieve(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning(event, error=type(error).__name__, reason=str(error)[:300])

    return retrieve


class BackgroundEmbedding:
    """The documents waiting for a vector, per space, and the tasks that embed them
    (module docstring).

    Args:
        semantic: the embedder, vector store and vector index.
        refresh: brings a space's search index up to date with the store (it calls
            :meth:`added` and :meth:`removed` for what changed).
    """

    def __init__(self, semantic: Semantic, refresh: Callable[[SpaceId], Awaitable[None]]) -> None:
        self.semantic = semantic
        self._refresh = refresh
        self._spaces: dict[SpaceId, _Space] = {}
        self._slots = asyncio.Semaphore(EMBED_CONCURRENCY)

    def _space(self, space: SpaceId) -> _Space:
        return self._spaces.setdefault(space, _Space())

    def added(self, space: SpaceId, docs: Sequence[SearchDoc]) -> None:
        """Documents to embed (a document replacing one with its id replaces it here too)."""
        self._space(space).pending.update({d.doc_id: d for d in docs})

    def removed(self, space: SpaceId, doc_ids: Sequence[str] = (), group: str = "") -> None:
        """Documents gone (by id, or every document of ``group``): out of the queue and
        out of the vector index."""
        pending = self._space(space).pending
        if group:
            for doc_id in [i for i, d in pending.items() if d.group == group]:
                del pending[doc_id]
            self.semantic.index.delete_group(space, group)
        else:
            for doc_id in doc_ids:
                pending.pop(doc_id, None)
            self.semantic.index.delete(space, doc_ids)

    def pending(self, space: SpaceId) -> int:
        """How many of the space's documents wait for a vector."""
        found = self._spaces.get(space)
        return len(found.pending) if found is not None else 0

    def progress(self, space: SpaceId | None = None) -> EmbeddingProgress:
        """One space's progress, or (``space`` None) every space this replica has indexed."""
        spaces = [space] if space is not None else list(self._spaces)
        states = [self._spaces[s] for s in spaces if s in self._spaces]
        return EmbeddingProgress(
            model=self.semantic.embedder.model,
            embedded=sum(self.semantic.index.count(s) for s in spaces),
            pending=sum(len(s.pending) for s in states),
            error=next((s.error for s in states if s.error), ""),
        )

    def schedule(self, space: SpaceId) -> None:
        """Start the space's embedding task, or have the running one go round once more.
        Must be called on the event loop."""
        state = self._space(space)
        if state.task is not None and not state.task.done():
            state.again = True
            return
        state.again = False
        state.task = asyncio.get_running_loop().create_task(self._run(space, state))
        state.task.add_done_callback(log_failure("embedding_task_failed"))

    async def idle(self, space: SpaceId) -> None:
        """Wait until the space's embedding task has nothing more to do (tests,
        benchmarks, and a reindex that should finish before it answers)."""
        state = self._spaces.get(space)
        while state is not None and state.task is not None and not state.task.done():
            await asyncio.wait({state.task})

    def forget(self, space: SpaceId) -> None:
        """Drop the space's queue and vectors (it was deleted or restored)."""
        state = self._spaces.pop(space, None)
        if state is not None and state.task is not None:
            state.task.cancel()
        self.semantic.index.clear(space)

    async def _run(self, space: SpaceId, state: _Space) -> None:
        while True:
            state.again = False
            await self._refresh(space)
            if not await self._embed(space, state) or not state.again:
                return

    async def _embed(self, space: SpaceId, state: _Space) -> bool:
        """Vectors for the documents waiting: from the store when they were made before,
        else from the embedder. False when the embedder failed (the rest wait)."""
        semantic = self.semantic
        waiting = list(state.pending.values())
        hashes = {d.doc_id: hashlib.sha256(d.text.encode("utf-8")).hexdigest() for d in waiting}
        model = semantic.embedder.model

        def indexed(doc: SearchDoc, vector: Sequence[float]) -> None:
            if state.pending.get(doc.doc_id) is doc:  # not removed nor replaced meanwhile
                semantic.index.upsert(space, doc, vector)
                del state.pending[doc.doc_id]

        stored = await semantic.vectors.get_many(model, list(hashes.values()))
        missing = []
        for doc in waiting:
            found = stored.get(hashes[doc.doc_id])
            if found is None:
                missing.append(doc)
            else:
                indexed(doc, found)
        for start in range(0, len(missing), EMBED_BATCH):
            batch = [d for d in missing[start : start + EMBED_BATCH] if state.pending.get(d.doc_id) is d]
            if not batch:
                continue
            try:
                async with self._slots:
                    vectors = await semantic.embedder.embed([d.text for d in batch])
            except EmbeddingsUnavailable as exc:
                state.error = str(exc)
                log.warning(
                    "embedding_failed", space=space.value, pending=len(state.pending), reason=str(exc)
                )
                return False
            for doc, vector in zip(batch, vectors, strict=True):
                await semantic.vectors.put(model, hashes[doc.doc_id], vector)
                indexed(doc, vector)
            state.error = ""
        return True
