"""Semantic search adapters: the in-memory vector index (NumPy), the vectors kept in the
object store, and an OpenAI-compatible embeddings client.

Vectors are kept at ``_system/vectors/{model digest}/{content sha256}`` as little-endian
float32 bytes, so a replica reads what any other embedded instead of embedding it again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from typing import Any, Final

import attrs
import numpy as np

from application.search_ports import DocKind, EmbeddingsUnavailable, SearchDoc, SearchFilter
from application.store import ObjectNotFound, ObjectStore
from domain import SpaceId
from infrastructure import layout

__all__ = ["NumpyVectorIndex", "OpenAICompatibleEmbedder", "StoreVectorRepository"]

_PREFIX: Final = layout.VECTORS_PREFIX
_READ_CONCURRENCY: Final = 16


def _model_folder(model: str) -> str:
    return f"{_PREFIX}{hashlib.sha256(model.encode('utf-8')).hexdigest()[:16]}/"


MAX_DIMENSION: Final = 4096
"""The largest embedding accepted (bge-m3: 1024, all-MiniLM-L6-v2: 384)."""


def check_vector(vector: Sequence[float], dimension: int | None) -> int:
    """The vector's dimension, checked: 1 to ``MAX_DIMENSION`` finite numbers, and
    ``dimension`` of them when one is expected.

    Raises:
        EmbeddingsUnavailable: naming what is wrong (an endpoint that changed models
            mid-way, a vector too long, NaN or infinity).
    """
    size = len(vector)
    if not 1 <= size <= MAX_DIMENSION:
        raise EmbeddingsUnavailable(f"the endpoint answered a {size}-dimensional vector (1-{MAX_DIMENSION})")
    if dimension is not None and size != dimension:
        raise EmbeddingsUnavailable(
            f"the endpoint answered a {size}-dimensional vector after {dimension}-dimensional ones"
        )
    if not np.all(np.isfinite(np.asarray(vector, dtype=np.float64))):
        raise EmbeddingsUnavailable("the endpoint answered a vector with NaN or infinity")
    return size


class StoreVectorRepository:
    """:class:`application.search_ports.VectorRepository` on an object store."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, list[float]]:
        """See the port."""
        folder = _model_folder(model)
        semaphore = asyncio.Semaphore(_READ_CONCURRENCY)

        async def one(digest: str) -> tuple[str, list[float]] | None:
            async with semaphore:
                try:
                    data = (await self._store.get(folder + digest)).data
                except ObjectNotFound:
                    return None
            if not data or len(data) % 4 or len(data) > 4 * MAX_DIMENSION:
                return None  # not a vector this server wrote: embedded again
            return digest, np.frombuffer(data, dtype="<f4").astype(float).tolist()

        found = [f for f in await asyncio.gather(*(one(h) for h in dict.fromkeys(hashes))) if f]
        sizes = Counter(len(v) for _, v in found)
        common = sizes.most_common(1)[0][0] if sizes else 0
        return {digest: vector for digest, vector in found if len(vector) == common}

    async def put(self, model: str, content_hash: str, vector: Sequence[float]) -> None:
        """See the port."""
        data = np.asarray(vector, dtype="<f4").tobytes()
        await self._store.put(
            _model_folder(model) + content_hash, data, content_type="application/octet-stream"
        )


@attrs.define
class _SpaceVectors:
    """One space's documents and unit vectors; ``matrix`` stacks them (rows in ``order``)
    and is rebuilt on the first query after a change."""

    docs: dict[str, tuple[SearchDoc, Any]] = attrs.Factory(dict)
    order: list[str] = attrs.Factory(list)
    matrix: Any = None


class NumpyVectorIndex:
    """:class:`application.search_ports.VectorIndex`: unit vectors in memory, cosine by one
    matrix-vector product over the space's documents, filters applied to the documents'
    attributes, the best ``limit`` picked by ``numpy.partition``."""

    def __init__(self) -> None:
        self._spaces: dict[SpaceId, _SpaceVectors] = {}

    def upsert(self, space_id: SpaceId, doc: SearchDoc, vector: Sequence[float]) -> None:
        """See the port. A vector whose dimension differs from the space's others
        replaces them all (the model changed): vectors of two models never mix."""
        array = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(array))
        space = self._spaces.setdefault(space_id, _SpaceVectors())
        if space.docs and next(iter(space.docs.values()))[1].shape != array.shape:
            space.docs.clear()
        space.docs[doc.doc_id] = (doc, array / norm if norm else array)
        space.matrix = None

    def delete(self, space_id: SpaceId, doc_ids: Sequence[str]) -> None:
        """See the port."""
        space = self._spaces.get(space_id)
        if space is not None:
            for doc_id in doc_ids:
                if space.docs.pop(doc_id, None) is not None:
                    space.matrix = None

    def delete_group(self, space_id: SpaceId, group: str) -> None:
        """See the port."""
        space = self._spaces.get(space_id)
        if space is not None:
            self.delete(space_id, [i for i, (d, _) in space.docs.items() if d.group == group])

    def clear(self, space_id: SpaceId) -> None:
        """See the port."""
        self._spaces.pop(space_id, None)

    def count(self, space_id: SpaceId) -> int:
        """See the port."""
        space = self._spaces.get(space_id)
        return len(space.docs) if space is not None else 0

    def _scores(self, space_id: SpaceId, vector: Sequence[float]) -> tuple[_SpaceVectors, Any] | None:
        """The space and every document's cosine to ``vector`` (rows in ``order``), or
        None when the space has no vector of ``vector``'s dimension."""
        space = self._spaces.get(space_id)
        if space is None or not space.docs:
            return None
        if space.matrix is None:
            space.order = list(space.docs)
            space.matrix = np.stack([space.docs[i][1] for i in space.order])
        query = np.asarray(vector, dtype=np.float32)
        if space.matrix.shape[1:] != query.shape:
            return None  # a query embedded by another model than the index's
        norm = float(np.linalg.norm(query))
        return space, space.matrix @ (query / norm if norm else query)

    def query(
        self, space_id: SpaceId, vector: Sequence[float], where: SearchFilter, limit: int
    ) -> list[tuple[SearchDoc, float]]:
        """See the port."""
        scored = self._scores(space_id, vector) if limit > 0 else None
        if scored is None:
            return []
        space, scores = scored
        if where != SearchFilter():
            keep = np.fromiter(
                (_passes(space.docs[i][0], where) for i in space.order), bool, len(space.order)
            )
            scores = np.where(keep, scores, -np.inf)
        count = min(limit, int(np.isfinite(scores).sum()))
        if count == 0:
            return []
        # the best ``count`` plus every document tied with the last of them, then exact order
        floor = np.partition(scores, -count)[-count]
        rows = [(space.docs[space.order[i]][0], float(scores[i])) for i in np.flatnonzero(scores >= floor)]
        rows.sort(key=lambda row: (-row[1], row[0].doc_id))
        return [(doc, round(score, 6)) for doc, score in rows[:count]]

    def similarities(
        self, space_id: SpaceId, vector: Sequence[float], doc_ids: Sequence[str]
    ) -> dict[str, float]:
        """See the port."""
        space = self._spaces.get(space_id)
        if space is None:
            return {}
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        found = {}
        for doc_id in doc_ids:
            entry = space.docs.get(doc_id)
            if entry is not None and entry[1].shape == query.shape:
                found[doc_id] = round(float(entry[1] @ query) / (norm or 1.0), 6)
        return found


def _passes(doc: SearchDoc, where: SearchFilter) -> bool:
    if where.kinds and doc.kind not in where.kinds:
        return False
    if (where.category or where.agent or where.since) and doc.kind is DocKind.BANK:
        return False
    if where.category and doc.category != where.category:
        return False
    if where.agent and doc.agent != where.agent:
        return False
    return not (
        where.since and (doc.timestamp is None or doc.timestamp.astimezone(UTC) < where.since.astimezone(UTC))
    )


class OpenAICompatibleEmbedder:
    """:class:`application.search_ports.Embedder` over an OpenAI-compatible ``/embeddings``
    endpoint (OpenAI API reference, "Create embeddings"): bge-m3 on an LLM platform, a
    local llama.cpp (``--embedding``) or Ollama server. The URL is used as given (it ends
    in ``/v1``). Any failure is raised as ``EmbeddingsUnavailable``."""

    def __init__(self, *, base_url: str, api_key: str, model: str, timeout: float = 30.0) -> None:
        from openai import AsyncOpenAI  # noqa: PLC0415 - only when embeddings are configured

        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=1
        )
        self._model = model
        self._dimension: int | None = None  # the first answer's; every later one must match

    @property
    def model(self) -> str:
        """See the port."""
        return self._model

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """See the port."""
        import openai  # noqa: PLC0415

        try:
            answer = await self._client.embeddings.create(model=self._model, input=list(texts))
        except openai.OpenAIError as exc:
            raise EmbeddingsUnavailable(f"the embeddings endpoint failed: {type(exc).__name__}") from exc
        vectors = [item.embedding for item in sorted(answer.data, key=lambda d: d.index)]
        if len(vectors) != len(texts):
            raise EmbeddingsUnavailable(f"asked for {len(texts)} vectors, got {len(vectors)}")
        for vector in vectors:
            self._dimension = check_vector(vector, self._dimension)
        return vectors
