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

__all__ = ["DocKind", "SearchDoc", "SearchFilter", "SearchHit", "SearchIndex"]


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
    ``**``."""

    doc: SearchDoc
    score: float
    snippet: str


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
        """The best ``limit`` documents for ``text`` (any of its words; more and rarer
        words rank higher: BM25), best first. Text with no word gives no hit."""
        ...
