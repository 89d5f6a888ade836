"""Work items, claims and presence records on any ``ObjectStore`` (keys in
:mod:`infrastructure.layout`). They implement :mod:`application.work.ports` and pass
``contracts/work.py``.

Listing reads every record of a space; records already read are kept in memory by
(key, ETag), so a listing costs one LIST plus a GET per record that changed. The cache
is derived from the store and checked against it on every listing: an ETag that moved
is read again, a key that went is forgotten.
"""

from __future__ import annotations

import asyncio
import builtins
from datetime import UTC, datetime
from typing import Final, Generic, TypeVar

import structlog

from application.store import CorruptObject, ObjectNotFound, ObjectStore, PreconditionFailed
from domain import AgentName, Conflict, NotFound, SpaceId
from domain.work import Claim, Presence, WorkItem
from infrastructure import codecs, layout
from infrastructure.repositories._cas import cas_update

__all__ = ["StoreClaimRepository", "StoreItemRepository", "StorePresenceRepository"]

log = structlog.get_logger("live_mem.store")
T = TypeVar("T")
_JSON: Final = "application/json"
_READ_CONCURRENCY: Final = 16


class _Records(Generic[T]):
    """Every record under a prefix, read through a (key, ETag) cache per prefix: each
    listing keeps only the keys it found, so a record that changed is read again and
    one that went is forgotten."""

    def __init__(self, store: ObjectStore, cls: type[T]) -> None:
        self._store = store
        self._cls = cls
        self._cache: dict[str, dict[str, tuple[str, T]]] = {}

    async def all(self, prefix: str) -> list[T]:
        infos = [i async for page in self._store.list_pages(prefix) for i in page if i.key.endswith(".json")]
        known = self._cache.get(prefix, {})
        fresh: dict[str, tuple[str, T]] = {}
        gate = asyncio.Semaphore(_READ_CONCURRENCY)

        async def one(key: str, etag: str) -> None:
            cached = known.get(key)
            if cached is not None and cached[0] == etag:
                fresh[key] = cached
                return
            async with gate:
                try:
                    got = await self._store.get(key)
                    value = codecs.decode_json(got.data, self._cls, key)
                except ObjectNotFound:
                    return
                except CorruptObject as exc:
                    log.warning("record_unreadable", key=key, error=str(exc)[:200])
                    return
            fresh[key] = (got.etag, value)

        await asyncio.gather(*(one(i.key, i.etag) for i in infos))
        self._cache[prefix] = fresh
        return [fresh[i.key][1] for i in infos if i.key in fresh]


class StoreItemRepository:
    """Implements :class:`application.work.ports.ItemRepository`."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._records = _Records(store, WorkItem)

    async def add(self, item: WorkItem) -> bool:
        """See the port."""
        key = layout.item_key(item.space_id, item.item_id)
        try:
            await self._store.put_if_absent(key, codecs.encode_json(item), content_type=_JSON)
        except PreconditionFailed:
            return False
        return True

    async def get(self, space_id: SpaceId, item_id: str) -> tuple[WorkItem, str]:
        """See the port."""
        key = layout.item_key(space_id, item_id)
        try:
            got = await self._store.get(key)
        except ObjectNotFound:
            raise NotFound(f"no work item {item_id} in space {space_id}") from None
        return codecs.decode_json(got.data, WorkItem, key), got.etag

    async def replace(self, item: WorkItem, etag: str) -> None:
        """See the port."""
        key = layout.item_key(item.space_id, item.item_id)
        try:
            await self._store.put_if_match(key, codecs.encode_json(item), etag, content_type=_JSON)
        except PreconditionFailed:
            raise Conflict(f"work item {item.item_id} changed meanwhile; read it again") from None

    async def list(self, space_id: SpaceId) -> builtins.list[WorkItem]:
        """See the port."""
        return await self._records.all(layout.items_prefix(space_id))


class StoreClaimRepository:
    """Implements :class:`application.work.ports.ClaimRepository`."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._records = _Records(store, Claim)

    async def get(self, space_id: SpaceId, resource: str) -> tuple[Claim, str] | None:
        """See the port. A corrupt record reads as none: the next claim replaces it."""
        key = layout.claim_key(space_id, resource)
        try:
            got = await self._store.get(key)
        except ObjectNotFound:
            return None
        try:
            return codecs.decode_json(got.data, Claim, key), got.etag
        except CorruptObject:
            log.warning("corrupt_claim_replaced", key=key)
            gone = datetime.min.replace(tzinfo=UTC)
            expired = Claim(space_id, resource, AgentName("unknown"), gone, gone, released=True)
            return expired, got.etag

    async def create(self, claim: Claim) -> None:
        """See the port."""
        key = layout.claim_key(claim.space_id, claim.resource)
        try:
            await self._store.put_if_absent(key, codecs.encode_json(claim), content_type=_JSON)
        except PreconditionFailed:
            raise Conflict(f"{claim.resource} was claimed meanwhile; try again") from None

    async def replace(self, claim: Claim, etag: str) -> None:
        """See the port."""
        key = layout.claim_key(claim.space_id, claim.resource)
        try:
            await self._store.put_if_match(key, codecs.encode_json(claim), etag, content_type=_JSON)
        except PreconditionFailed:
            raise Conflict(f"{claim.resource} changed meanwhile; try again") from None

    async def list(self, space_id: SpaceId) -> builtins.list[Claim]:
        """See the port."""
        return await self._records.all(layout.claims_prefix(space_id))


class StorePresenceRepository:
    """Implements :class:`application.work.ports.PresenceRepository`."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._records = _Records(store, Presence)

    async def record(self, space_id: SpaceId, agent: AgentName, at: datetime, *, note: bool) -> None:
        """See the port (compare-and-swap, so concurrent replicas keep the latest)."""
        await cas_update(
            self._store,
            layout.presence_key(space_id, agent),
            decode=lambda data: codecs.decode_json(data, Presence, "presence record"),
            encode=codecs.encode_json,
            change=lambda p: p.merged(at, note=note),
            initial=lambda: Presence(space_id, agent, at, at if note else None),
        )

    async def list(self, space_id: SpaceId) -> builtins.list[Presence]:
        """See the port."""
        return await self._records.all(layout.presence_prefix(space_id))
