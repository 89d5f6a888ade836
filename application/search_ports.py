"""The search port: a ranked full-text index over a space's live notes, bank sections and
archive entries. The index is derived data: the object store stays the only source of
truth and :class:`application.services.search.SearchService` rebuilds and refreshes it
from there."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from domain import SpaceId

__all__ = [
    "DocKind",
    "Embedder",
    "EmbeddingsUnavailable",
    "SearchDoc",
    "SearchFilter",
    "SearchHit",
    "SearchIndex",
    "VectorIndex",
    "VectorRepository",
]


class DocKind(enum.StrEnum):
    """What a search document stands for."""

    NOTE = "note"
    BANK = "bank"
    ARCHIVE = "archive"


@attrs.frozen
class SearchDoc:
    """One searchable document.

    Attributes:
        doc_id: unique within the space (``note:{id}``, ``bank:{file}#{n}``, ...).
        kind: note, bank section or archive entry.
        ref: what a client uses to find it: a note id, or ``file#heading``.
        text: the text to index and to cut snippets from.
        agent, category: of the note ("" for a bank section).
        timestamp: the note's time (None for a bank section).
        group: the object the document comes from (a bank or archive file name, or ""
            for a live note), so that a changed file's documents can be replaced at once.
        keywords: more words to match (a note's tags and author), weighted below the text.
    """

    doc_id: str
    kind: DocKind
    ref: str
    text: str
    agent: str = ""
    category: str = ""
    timestamp: datetime | None = None
    group: str = ""
    keywords: str = ""


@attrs.frozen
class SearchFilter:
    """Which documents a query may return: kinds (empty: all), and for notes and archive
    entries an exact category and agent, and a time at or after ``since``. A category,
    agent or since filter leaves bank sections out."""

    kinds: frozenset[DocKind] = frozenset()
    category: str = ""
    agent: str = ""
    since: datetime | None = None


@attrs.frozen
class SearchHit:
    """A ranked result: higher ``score`` is better; ``snippet`` marks matched terms with
    ``**``; ``all_words`` when the document holds every word the query was matched on
    (its stop words left out)."""

    doc: SearchDoc
    score: float
    snippet: str
    all_words: bool = False


class SearchIndex(Protocol):
    """A ranked full-text index, one per replica, partitioned by space.

    Rankings are deterministic: equal scores are ordered by ``doc_id``, so two replicas
    that indexed the same documents return the same results.
    """

    def upsert(self, space_id: SpaceId, docs: Sequence[SearchDoc]) -> None:
        """Add documents, replacing any with the same ``doc_id``."""
        ...

    def delete(self, space_id: SpaceId, doc_ids: Sequence[str]) -> None:
        """Remove documents (unknown ids are ignored)."""
        ...

    def delete_group(self, space_id: SpaceId, group: str) -> None:
        """Remove every document of one group (a bank or archive file)."""
        ...

    def clear(self, space_id: SpaceId) -> None:
        """Remove every document of the space (before a rebuild)."""
        ...

    def count(self, space_id: SpaceId) -> int:
        """How many documents the space has."""
        ...

    def query(self, space_id: SpaceId, text: str, where: SearchFilter, limit: int) -> list[SearchHit]:
        """The best ``limit`` documents for ``text``, best first: documents holding any
        of its words, English stop words left out unless the text has no other word;
        more and rarer words rank higher (BM25). Each hit says whether it holds every one
        of those words (``all_words``). Text with no word gives no hit."""
        ...


class EmbeddingsUnavailable(Exception):
    """The embeddings endpoint failed (unreachable, refused, timed out, bad answer); the
    message says why. Adapters raise nothing else."""


class Embedder(Protocol):
    """Turns texts into vectors (an OpenAI-compatible ``/embeddings`` endpoint)."""

    @property
    def model(self) -> str:
        """The model name; vectors of different models are never mixed."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order. Raises ``EmbeddingsUnavailable``."""
        ...


class VectorRepository(Protocol):
    """Vectors kept in the object store, keyed by model and content hash, so that no
    replica embeds a text another one already did."""

    async def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, list[float]]:
        """The stored vectors among ``hashes`` (missing ones left out)."""
        ...

    async def put(self, model: str, content_hash: str, vector: Sequence[float]) -> None:
        """Store one vector (idempotent)."""
        ...


class VectorIndex(Protocol):
    """Nearest neighbours by cosine similarity, one per replica, partitioned by space."""

    def upsert(self, space_id: SpaceId, doc: SearchDoc, vector: Sequence[float]) -> None:
        """Add or replace a document's vector."""
        ...

    def delete(self, space_id: SpaceId, doc_ids: Sequence[str]) -> None:
        """Remove documents (unknown ids are ignored)."""
        ...

    def delete_group(self, space_id: SpaceId, group: str) -> None:
        """Remove every document of one group."""
        ...

    def query(
        self, space_id: SpaceId, vector: Sequence[float], where: SearchFilter, limit: int
    ) -> list[tuple[SearchDoc, float]]:
        """The ``limit`` documents most similar to ``vector`` (cosine, best first; ties
        by ``doc_id``) that pass ``where``."""
        ...

    def similarities(
        self, space_id: SpaceId, vector: Sequence[float], doc_ids: Sequence[str]
    ) -> dict[str, float]:
        """The cosine similarity of ``vector`` to each of ``doc_ids`` that has a vector
        (the others left out; a vector of another dimension gives nothing)."""
        ...

    def count(self, space_id: SpaceId) -> int:
        """How many documents of the space have a vector."""
        ...

    def clear(self, space_id: SpaceId) -> None:
        """Remove every vector of the space."""
        ...
