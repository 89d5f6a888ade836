"""Ports of the state of the work: work items, claims and presence records.

Each is changed by conditional writes only (put-if-absent, put-if-match: the S3 API's
``If-None-Match: *`` and ``If-Match``), so the store stays the one source of truth for
every replica. Contract suites: ``contracts/work.py``.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from domain import AgentName, SpaceId
from domain.work import Claim, Presence, WorkItem

__all__ = ["ClaimRepository", "ItemRepository", "PresenceRepository"]


class ItemRepository(Protocol):
    """Work items' stored state, one record per item."""

    async def add(self, item: WorkItem) -> bool:
        """Store a new item unless one with its id exists (put-if-absent); True when
        this call wrote it. Idempotent: an existing record is never replaced."""
        ...

    async def get(self, space_id: SpaceId, item_id: str) -> tuple[WorkItem, str]:
        """The item and the version (ETag) it was read at. Raises ``NotFound``."""
        ...

    async def replace(self, item: WorkItem, etag: str) -> None:
        """Write ``item`` over the version ``etag`` (put-if-match).

        Raises:
            Conflict: the record changed since it was read (another writer won).
        """
        ...

    async def list(self, space_id: SpaceId) -> builtins.list[WorkItem]:
        """Every readable item of the space, any order (an unreadable record is
        skipped and logged, never fatal)."""
        ...


class ClaimRepository(Protocol):
    """Claims on named resources, one record per resource ever claimed."""

    async def get(self, space_id: SpaceId, resource: str) -> tuple[Claim, str] | None:
        """The resource's claim record and its ETag, or None when never claimed."""
        ...

    async def create(self, claim: Claim) -> None:
        """Write the first record of a resource (put-if-absent).

        Raises:
            Conflict: a record appeared meanwhile (another agent claimed it first).
        """
        ...

    async def replace(self, claim: Claim, etag: str) -> None:
        """Write over the version ``etag`` (put-if-match).

        Raises:
            Conflict: the record changed since it was read.
        """
        ...

    async def list(self, space_id: SpaceId) -> builtins.list[Claim]:
        """Every readable claim record of the space (released and expired included)."""
        ...


class PresenceRepository(Protocol):
    """The last activity of each agent in a space."""

    async def record(self, space_id: SpaceId, agent: AgentName, at: datetime, *, note: bool) -> None:
        """Advance the agent's record to ``at`` (a note when ``note``); never moves it back."""
        ...

    async def list(self, space_id: SpaceId) -> builtins.list[Presence]:
        """Every readable presence record of the space."""
        ...
