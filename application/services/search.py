"""Ranked search over a space's whole memory: live notes, bank sections, archive entries.

The index (:class:`application.search.SearchIndex`) is derived data, kept by each replica
and brought up to date from the store before every query: the notes come from the note
listing the replica keeps (new ones read, consumed ones dropped); the bank and archive
files from one listing of ``bank/``, a file being re-read only when its ETag changed.
So two replicas on one bucket index the same documents and return the same rankings;
a replica that starts builds its index from the store on the first query of a space.

Semantic search is optional: with an embedder, every document is also embedded (in
batches of ``EMBED_BATCH``; its vector kept in the store under its content hash, so no
replica embeds a text twice) and a query fuses the BM25 ranking with the cosine ranking by
reciprocal rank fusion, ``score = sum(1 / (RRF_K + rank))`` over the two lists (Cormack,
Clarke and Büttcher, "Reciprocal rank fusion outperforms Condorcet and individual rank
learning methods", SIGIR 2009; ``RRF_K = 60`` as there). When the endpoint fails, results
are lexical and marked ``degraded``; never a failed search.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Final

import attrs
import structlog

from application.access import require_space_access
from application.ports import BankRepository, NoteRepository, SpaceRepository
from application.search import (
    DocKind,
    Embedder,
    EmbeddingsUnavailable,
    SearchDoc,
    SearchFilter,
    SearchHit,
    SearchIndex,
    VectorIndex,
    VectorRepository,
)
from application.times import parse_since
from domain import AgentName, BankFileName, Identity, InvalidInput, Note, NoteCategory, Permission, SpaceId
from domain.consolidation import Document
from domain.consolidation.archive import is_archive_name, read_archive

__all__ = ["RRF_K", "SCOPES", "SearchResults", "SearchService", "Semantic"]

log = structlog.get_logger("live_mem.search")

SCOPES: Final = {
    "all": frozenset(),
    "live": frozenset({DocKind.NOTE}),
    "bank": frozenset({DocKind.BANK}),
    "archive": frozenset({DocKind.ARCHIVE}),
}
QUERY_MAX: Final = 500
LIMIT_MAX: Final = 200
RRF_K: Final = 60
EMBED_BATCH: Final = 64
QUERY_WAIT_SECONDS: Final = 3.0
"""The longest a query waits for the embeddings endpoint (its own vector, and the
space's documents not embedded yet); past it the answer is lexical and ``degraded``."""
FUSION_DEPTH: Final = 50
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
    unembedded: dict[str, SearchDoc] = attrs.Factory(dict)
    lock: asyncio.Lock = attrs.Factory(asyncio.Lock)
    build: asyncio.Task[None] | None = None


@attrs.frozen
class Semantic:
    """What semantic search needs: the embedder, the stored vectors, the vector index."""

    embedder: Embedder
    vectors: VectorRepository
    index: VectorIndex


def note_doc(note: Note) -> SearchDoc:
    """A live note as a document; its tags and author are keywords."""
    return SearchDoc(
        doc_id=f"note:{note.note_id}",
        kind=DocKind.NOTE,
        ref=note.note_id,
        text=note.content,
        agent=note.agent.value,
        category=note.category.value,
        timestamp=note.created_at,
        keywords=" ".join((*note.tags, note.agent.value)),
    )


def file_docs(space_id: SpaceId, name: BankFileName, text: str) -> list[SearchDoc]:
    """A bank file's documents: one per section (``file#heading``), or for an archive
    file one per entry (a note's entry is ``file#note_id``, with its author, category
    and time)."""
    if is_archive_name(name):
        docs = []
        for index, entry in enumerate(read_archive(space_id, text)):
            heading, body, note = entry.heading, entry.text, entry.note
            docs.append(
                SearchDoc(
                    doc_id=f"archive:{note.note_id}" if note else f"archive:{name}#{index}",
                    kind=DocKind.ARCHIVE,
                    ref=f"{name}#{note.note_id if note else heading}",
                    text=body,
                    agent=note.agent.value if note else "",
                    category=note.category.value if note else "",
                    timestamp=note.created_at if note else None,
                    group=name.value,
                    keywords=" ".join((*note.tags, note.agent.value)) if note else "",
                )
            )
        return docs
    document = Document.parse(text)
    sections = [("", document.preamble), *((s.title, s.heading + s.body) for s in document.sections)]
    return [
        SearchDoc(
            doc_id=f"bank:{name}#{index}",
            kind=DocKind.BANK,
            ref=f"{name}#{title}" if title else name.value,
            text=body.strip(),
            group=name.value,
        )
        for index, (title, body) in enumerate(sections)
        if body.strip() and title.casefold() != "archive"
    ]


def _log_failure(task: asyncio.Task[None]) -> None:
    """Retrieve a background build's error (a query that waited for it raised it too)."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("search_build_failed", error=type(task.exception()).__name__)


def _lead(text: str, width: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width].rsplit(" ", 1)[0] + " …"


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
        self._semantic = semantic
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
        if self._semantic is None:
            hits = await asyncio.to_thread(self._index.query, space, query, where, limit)
            return SearchResults(hits, partial=partial)
        return attrs.evolve(await self._hybrid(space, query, where, limit), partial=partial)

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
                task.add_done_callback(_log_failure)
                ours = True
            done, _ = await asyncio.wait({task}, timeout=max(0.0, deadline - loop.time()))
            if not done:
                log.info("search_partial", space=space.value, notes_indexed=len(state.notes))
                return False
            task.result()  # a store error is the query's error
            if ours:
                return True

    async def _hybrid(self, space: SpaceId, query: str, where: SearchFilter, limit: int) -> SearchResults:
        assert self._semantic is not None
        lexical = await asyncio.to_thread(self._index.query, space, query, where, max(limit, FUSION_DEPTH))
        try:
            async with asyncio.timeout(QUERY_WAIT_SECONDS):
                [vector] = await self._semantic.embedder.embed([query])
        except (EmbeddingsUnavailable, TimeoutError) as exc:
            log.warning("search_degraded", space=space.value, reason=str(exc) or "timed out")
            return SearchResults(lexical[:limit], degraded=True)
        nearest = self._semantic.index.query(space, vector, where, max(limit, FUSION_DEPTH))
        fused: dict[str, float] = {}
        docs: dict[str, SearchDoc] = {}
        snippets = {h.doc.doc_id: h.snippet for h in lexical}
        for rank, doc in enumerate([h.doc for h in lexical], start=1):
            fused[doc.doc_id] = fused.get(doc.doc_id, 0.0) + 1 / (RRF_K + rank)
            docs[doc.doc_id] = doc
        for rank, (doc, _score) in enumerate(nearest, start=1):
            fused[doc.doc_id] = fused.get(doc.doc_id, 0.0) + 1 / (RRF_K + rank)
            docs[doc.doc_id] = doc
        best = sorted(fused, key=lambda d: (-fused[d], d))[:limit]
        hits = [SearchHit(docs[d], round(fused[d], 6), snippets.get(d) or _lead(docs[d].text)) for d in best]
        return SearchResults(hits, degraded=bool(self._state[space].unembedded))

    async def refresh(self, space: SpaceId) -> None:
        """Bring the space's index up to date with the store (module docstring)."""
        state = self._state.setdefault(space, _Indexed())
        async with state.lock:
            await self._refresh_notes(space, state)
            await self._refresh_files(space, state)
            if self._semantic is not None and state.unembedded:
                try:
                    async with asyncio.timeout(QUERY_WAIT_SECONDS):
                        await self._embed(space, state, self._semantic)
                except TimeoutError:  # what was embedded stays; the rest waits for next time
                    log.warning("embedding_deferred", space=space.value, pending=len(state.unembedded))

    async def _embed(self, space: SpaceId, state: _Indexed, semantic: Semantic) -> None:
        """Vectors for the documents that have none yet: from the store when another
        replica made them, else from the embedder (a failure leaves them for next time)."""
        pending = list(state.unembedded.values())
        hashes = {d.doc_id: hashlib.sha256(d.text.encode("utf-8")).hexdigest() for d in pending}
        model = semantic.embedder.model
        stored = await semantic.vectors.get_many(model, list(hashes.values()))

        def indexed(doc: SearchDoc, vector: Sequence[float]) -> None:
            semantic.index.upsert(space, doc, vector)
            state.unembedded.pop(doc.doc_id, None)

        missing = []
        for doc in pending:
            found = stored.get(hashes[doc.doc_id])
            if found is None:
                missing.append(doc)
            else:
                indexed(doc, found)  # another replica embedded it
        try:
            for start in range(0, len(missing), EMBED_BATCH):
                batch = missing[start : start + EMBED_BATCH]
                for doc, vector in zip(
                    batch, await semantic.embedder.embed([d.text for d in batch]), strict=True
                ):
                    await semantic.vectors.put(model, hashes[doc.doc_id], vector)
                    indexed(doc, vector)  # usable at once, even if the wait is cut short
        except EmbeddingsUnavailable as exc:
            log.warning("embedding_failed", space=space.value, pending=len(missing), reason=str(exc))

    def _vector_indexed(
        self, space: SpaceId, state: _Indexed, doc: SearchDoc, vector: Sequence[float]
    ) -> None:
        assert self._semantic is not None
        self._semantic.index.upsert(space, doc, vector)
        state.unembedded.pop(doc.doc_id, None)

    async def _added(self, space: SpaceId, state: _Indexed, docs: Sequence[SearchDoc]) -> None:
        await asyncio.to_thread(self._index.upsert, space, docs)  # off the event loop
        if self._semantic is not None:
            state.unembedded.update({d.doc_id: d for d in docs})

    async def _removed(
        self, space: SpaceId, state: _Indexed, doc_ids: Sequence[str] = (), group: str = ""
    ) -> None:
        if group:
            await asyncio.to_thread(self._index.delete_group, space, group)
            stale = [i for i, d in state.unembedded.items() if d.group == group]
        else:
            await asyncio.to_thread(self._index.delete, space, doc_ids)
            stale = list(doc_ids)
        for doc_id in stale:
            state.unembedded.pop(doc_id, None)
        if self._semantic is not None:
            if group:
                self._semantic.index.delete_group(space, group)
            else:
                self._semantic.index.delete(space, doc_ids)

    async def _refresh_notes(self, space: SpaceId, state: _Indexed) -> None:
        refs = await self._notes.refs(space)
        live = {r.note_id for r in refs}
        gone = state.notes - live
        if gone:
            await self._removed(space, state, [f"note:{i}" for i in gone])
            state.notes -= gone
        fresh = [r for r in refs if r.note_id not in state.notes]
        for start in range(0, len(fresh), NOTE_READ_BATCH):
            notes = await self._notes.get_many(fresh[start : start + NOTE_READ_BATCH])
            await self._added(space, state, [note_doc(n) for n in notes])
            state.notes.update(n.note_id for n in notes)

    async def _refresh_files(self, space: SpaceId, state: _Indexed) -> None:
        listed = {info.name: info.etag for info in await self._bank.list(space)}
        for name in [n for n in state.files if n not in listed]:
            await self._removed(space, state, group=name.value)
            del state.files[name]
        changed: Sequence[BankFileName] = [n for n, etag in listed.items() if state.files.get(n) != etag]
        for name in changed:
            try:
                file = await self._bank.get(space, name)
            except LookupError:  # removed since the listing
                continue
            await self._removed(space, state, group=name.value)
            docs = await asyncio.to_thread(file_docs, space, name, file.content)
            await self._added(space, state, docs)
            state.files[name] = listed[name]

    def forget(self, space: SpaceId) -> None:
        """Drop the space's documents (it was deleted or restored): rebuilt on next use."""
        state = self._state.pop(space, None)
        if state is not None and state.build is not None:
            state.build.cancel()
        self._index.clear(space)
