"""Ranked search over a space's whole memory: live notes, bank sections, archive entries.

The index (:class:`application.search_ports.SearchIndex`) is derived data, kept by each replica
and brought up to date from the store before every query: the notes come from the note
listing the replica keeps (new ones read, consumed ones dropped); the bank and archive
files from one listing of ``bank/``, a file being re-read only when its ETag changed.
So two replicas on one bucket index the same documents and return the same rankings;
a replica that starts builds its index from the store on the first query of a space.

Semantic search is optional: with an embedder, every document is also embedded, in the
background after it is written (:mod:`application.services.embedding`), and a query fuses
the BM25 ranking with the cosine ranking (:mod:`application.services.fusion`). A query
never waits for the documents' vectors: it uses those that exist and says ``degraded``
while some are missing. When the embedder fails, results are lexical and ``degraded``;
never a failed search.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import attrs
import structlog

from application.access import require_space_access
from application.ports import BankRepository, NoteRepository, SpaceRepository
from application.search_ports import (
    DocKind,
    EmbeddingsUnavailable,
    SearchDoc,
    SearchFilter,
    SearchHit,
    SearchIndex,
)
from application.services.embedding import BackgroundEmbedding, EmbeddingProgress, Semantic, log_failure
from application.services.fusion import fuse
from application.services.search_docs import file_docs, lead, note_doc
from application.times import parse_since
from domain import AgentName, BankFileName, Identity, InvalidInput, NoteCategory, Permission, SpaceId

__all__ = ["SCOPES", "SearchResults", "SearchService", "Semantic"]

log = structlog.get_logger("live_mem.search")

SCOPES: Final = {
    "all": frozenset(),
    "live": frozenset({DocKind.NOTE}),
    "bank": frozenset({DocKind.BANK}),
    "archive": frozenset({DocKind.ARCHIVE}),
}
QUERY_MAX: Final = 500
LIMIT_MAX: Final = 200
QUERY_WAIT_SECONDS: Final = 3.0
"""The longest a query waits for the embedder to embed the query itself; past it the
answer is lexical and ``degraded``."""
FUSION_DEPTH: Final = 50
"""Candidates taken from each side before fusion."""
BUILD_WAIT_SECONDS: Final = 2.0
"""The longest a query waits for its space's index to catch up with the store."""
NOTE_READ_BATCH: Final = 50
"""Notes read and indexed at a time while the index is built (memory stays bounded)."""


@attrs.frozen
class SearchResults:
    """Hits best first; ``degraded`` when a semantic part could not be used; ``partial``
    when the space's index was still being built after ``BUILD_WAIT_SECONDS`` (the hits
    come from what is indexed so far; the build goes on in the background)."""

    hits: list[SearchHit]
    degraded: bool = False
    partial: bool = False


@attrs.define
class _Indexed:
    notes: set[str] = attrs.Factory(set)
    files: dict[BankFileName, str] = attrs.Factory(dict)
    lock: asyncio.Lock = attrs.Factory(asyncio.Lock)
    build: asyncio.Task[None] | None = None


class SearchService:
    """``memory_search`` and the ranked ``live_search`` (read permission)."""

    def __init__(
        self,
        spaces: SpaceRepository,
        notes: NoteRepository,
        bank: BankRepository,
        index: SearchIndex,
        semantic: Semantic | None = None,
    ) -> None:
        self._spaces = spaces
        self._notes = notes
        self._bank = bank
        self._index = index
        self._embedding = BackgroundEmbedding(semantic, self.refresh) if semantic is not None else None
        self._state: dict[SpaceId, _Indexed] = {}

    async def search(
        self,
        caller: Identity,
        space_id: str,
        query: str,
        *,
        scope: str = "all",
        limit: int = 10,
        category: str = "",
        agent: str = "",
        since: str = "",
    ) -> SearchResults:
        """The best ``limit`` (1-200) documents for ``query`` in ``scope`` (all, live,
        bank, archive), filtered by category, agent and ``since`` (ISO 8601; UTC when it
        has no zone).

        Raises:
            PermissionDenied, NotFound; InvalidInput for an empty query or one over 500
            characters, an unknown scope, category or agent name, a bad time or limit.
        """
        space = require_space_access(caller, Permission.READ, space_id)
        if not isinstance(query, str) or not query.strip() or len(query) > QUERY_MAX:
            raise InvalidInput(f"query must be 1-{QUERY_MAX} characters")
        if scope not in SCOPES:
            raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}")
        if not isinstance(limit, int) or not 1 <= limit <= LIMIT_MAX:
            raise InvalidInput(f"limit must be 1-{LIMIT_MAX}")
        where = SearchFilter(
            kinds=SCOPES[scope],
            category=NoteCategory.parse(category).value if category else "",
            agent=AgentName(agent).value if agent else "",
            since=parse_since(since),
        )
        await self._spaces.get(space)
        partial = not await self._catch_up(space)
        if self._embedding is None:
            hits = await asyncio.to_thread(self._index.query, space, query, where, limit)
            return SearchResults(hits, partial=partial)
        return attrs.evolve(await self._hybrid(self._embedding, space, query, where, limit), partial=partial)

    def note_written(self, space: SpaceId) -> None:
        """A note was stored in ``space``: embed it in the background (no-op without
        semantic search). Called on the event loop by the note service."""
        if self._embedding is not None:
            self._embedding.schedule(space)

    def progress(self, caller: Identity, space_id: str) -> EmbeddingProgress | None:
        """How far this replica has embedded the space's documents (read permission);
        None without semantic search. A space nobody searched or wrote to since the
        replica started has not been indexed yet: 0 and 0."""
        space = require_space_access(caller, Permission.READ, space_id)
        return self._embedding.progress(space) if self._embedding is not None else None

    def progress_all(self) -> EmbeddingProgress | None:
        """Embedding progress over every space this replica has indexed; None without
        semantic search."""
        return self._embedding.progress() if self._embedding is not None else None

    async def idle(self, space: SpaceId) -> None:
        """Wait until the space's background embedding has caught up (tests, benchmarks)."""
        if self._embedding is not None:
            await self._embedding.idle(space)

    async def _catch_up(self, space: SpaceId) -> bool:
        """Bring the space's index up to date in a background task, waiting for it at
        most ``BUILD_WAIT_SECONDS``; True when it is up to date. A build already under
        way (started by an earlier query) is waited for, then one more (incremental)
        refresh sees what was written since it started."""
        state = self._state.setdefault(space, _Indexed())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BUILD_WAIT_SECONDS
        while True:
            task, ours = state.build, False
            if task is None or task.done():
                task = state.build = loop.create_task(self.refresh(space))
                task.add_done_callback(log_failure("search_build_failed"))  # a waiting query raises it too
                ours = True
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
            if not done:
                log.info("search_partial", space=space.value, notes_indexed=len(state.notes))
                return False
            task.result()  # a store error is the query's error
            if ours:
                return True

    async def _hybrid(
        self, embedding: BackgroundEmbedding, space: SpaceId, query: str, where: SearchFilter, limit: int
    ) -> SearchResults:
        semantic = embedding.semantic
        depth = max(limit, FUSION_DEPTH)
        lexical = await asyncio.to_thread(self._index.query, space, query, where, depth)
        if embedding.pending(space):
            embedding.schedule(space)  # e.g. notes another replica wrote: never waited for
        try:
            async with asyncio.timeout(QUERY_WAIT_SECONDS):
                [vector] = await semantic.embedder.embed([query])
        except (EmbeddingsUnavailable, TimeoutError) as exc:
            log.warning("search_degraded", space=space.value, reason=str(exc) or "timed out")
            return SearchResults(lexical[:limit], degraded=True)
        scored = semantic.index.query(space, vector, where, depth)
        nearest = [doc for doc, _ in scored]
        similarity = {doc.doc_id: score for doc, score in scored}
        others = [h.doc.doc_id for h in lexical if h.doc.doc_id not in similarity]
        similarity.update(semantic.index.similarities(space, vector, others))  # lexical-only hits
        hits = fuse(lexical, nearest, similarity, limit, snippet_of={d.doc_id: lead(d.text) for d in nearest})
        return SearchResults(hits, degraded=embedding.pending(space) > 0)

    async def refresh(self, space: SpaceId) -> None:
        """Bring the space's index up to date with the store (module docstring)."""
        state = self._state.setdefault(space, _Indexed())
        async with state.lock:
            await self._refresh_notes(space, state)
            await self._refresh_files(space, state)

    async def _added(self, space: SpaceId, docs: Sequence[SearchDoc]) -> None:
        await asyncio.to_thread(self._index.upsert, space, docs)  # off the event loop
        if self._embedding is not None:
            self._embedding.added(space, docs)

    async def _removed(self, space: SpaceId, doc_ids: Sequence[str] = (), group: str = "") -> None:
        if group:
            await asyncio.to_thread(self._index.delete_group, space, group)
        else:
            await asyncio.to_thread(self._index.delete, space, doc_ids)
        if self._embedding is not None:
            self._embedding.removed(space, doc_ids, group)

    async def _refresh_notes(self, space: SpaceId, state: _Indexed) -> None:
        refs = await self._notes.refs(space)
        live = {r.note_id for r in refs}
        gone = state.notes - live
        if gone:
            await self._removed(space, [f"note:{i}" for i in gone])
            state.notes -= gone
        fresh = [r for r in refs if r.note_id not in state.notes]
        for start in range(0, len(fresh), NOTE_READ_BATCH):
            notes = await self._notes.get_many(fresh[start : start + NOTE_READ_BATCH])
            await self._added(space, [note_doc(n) for n in notes])
            state.notes.update(n.note_id for n in notes)

    async def _refresh_files(self, space: SpaceId, state: _Indexed) -> None:
        listed = {info.name: info.etag for info in await self._bank.list(space)}
        for name in [n for n in state.files if n not in listed]:
            await self._removed(space, group=name.value)
            del state.files[name]
        changed: Sequence[BankFileName] = [n for n, etag in listed.items() if state.files.get(n) != etag]
        for name in changed:
            try:
                file = await self._bank.get(space, name)
            except LookupError:  # removed since the listing
                continue
            await self._removed(space, group=name.value)
            docs = await asyncio.to_thread(file_docs, space, name, file.content)
            await self._added(space, docs)
            state.files[name] = listed[name]

    def forget(self, space: SpaceId) -> None:
        """Drop the space's documents (it was deleted or restored): rebuilt on next use."""
        state = self._state.pop(space, None)
        if state is not None and state.build is not None:
            state.build.cancel()
        self._index.clear(space)
        if self._embedding is not None:
            self._embedding.forget(space)
