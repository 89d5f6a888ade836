"""The contracts of :mod:`application.work.ports`, run on every store: records are
created once, replaced only over the version read, listed whole (a corrupt one skipped),
and a race between writers has exactly one winner."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from application.work.ports import ClaimRepository, ItemRepository, PresenceRepository
from contracts.backend import Backend, WithBackend
from domain import AgentName, Conflict, NoteCategory, NotFound, SpaceId
from domain.work import Claim, ItemState, WorkItem
from infrastructure import layout
from infrastructure.repositories.work import (
    StoreClaimRepository,
    StoreItemRepository,
    StorePresenceRepository,
)

__all__ = ["ClaimRepositoryContract", "ItemRepositoryContract", "PresenceRepositoryContract"]

SPACE = SpaceId("alpha")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _item(n: int, state: ItemState = ItemState.OPEN) -> WorkItem:
    return WorkItem(SPACE, f"{n:016x}", NoteCategory.TODO, AgentName("alice"), T0, f"task {n}", state)


def _claim(holder: str, resource: str = "file:src/app.py", minutes: int = 15) -> Claim:
    return Claim(SPACE, resource, AgentName(holder), T0, T0 + timedelta(minutes=minutes))


class ItemRepositoryContract(WithBackend):
    """Behaviour of every ``ItemRepository``."""

    @pytest.fixture
    def items(self, backend: Backend) -> ItemRepository:
        return StoreItemRepository(backend.store)

    async def test_an_item_is_added_once_and_read_back_whole(self, items: ItemRepository) -> None:
        assert await items.add(_item(1))
        assert not await items.add(attrs.evolve(_item(1), title="another title"))
        got, etag = await items.get(SPACE, _item(1).item_id)
        assert got == _item(1)
        assert etag

    async def test_a_missing_item_is_not_found(self, items: ItemRepository) -> None:
        with pytest.raises(NotFound, match="no work item"):
            await items.get(SPACE, "00000000000000ff")

    async def test_a_replace_over_a_stale_version_loses(self, items: ItemRepository) -> None:
        await items.add(_item(1))
        _, etag = await items.get(SPACE, _item(1).item_id)
        await items.replace(_item(1, ItemState.DONE), etag)
        with pytest.raises(Conflict):
            await items.replace(_item(1, ItemState.DROPPED), etag)
        assert (await items.get(SPACE, _item(1).item_id))[0].state is ItemState.DONE

    async def test_of_two_concurrent_replaces_exactly_one_wins(self, items: ItemRepository) -> None:
        await items.add(_item(1))
        _, etag = await items.get(SPACE, _item(1).item_id)
        results = await asyncio.gather(
            *(items.replace(_item(1, state), etag) for state in (ItemState.DONE, ItemState.DROPPED)),
            return_exceptions=True,
        )
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"]

    async def test_a_listing_holds_every_item_skips_a_corrupt_one_and_sees_changes(
        self, backend: Backend, items: ItemRepository
    ) -> None:
        for n in range(3):
            await items.add(_item(n))
        backend.raw_put(layout.item_key(SPACE, "00000000000000aa"), b"{not json")
        assert sorted(i.item_id for i in await items.list(SPACE)) == [_item(n).item_id for n in range(3)]
        _, etag = await items.get(SPACE, _item(2).item_id)
        await items.replace(_item(2, ItemState.DONE), etag)
        listed = {i.item_id: i.state for i in await items.list(SPACE)}
        assert listed[_item(2).item_id] is ItemState.DONE
        assert await items.list(SpaceId("beta")) == []


class ClaimRepositoryContract(WithBackend):
    """Behaviour of every ``ClaimRepository``."""

    @pytest.fixture
    def claims(self, backend: Backend) -> ClaimRepository:
        return StoreClaimRepository(backend.store)

    async def test_a_resource_never_claimed_has_no_record(self, claims: ClaimRepository) -> None:
        assert await claims.get(SPACE, "file:src/app.py") is None

    async def test_of_concurrent_first_claims_exactly_one_is_written(self, claims: ClaimRepository) -> None:
        holders = [f"agent-{n}" for n in range(6)]
        results = await asyncio.gather(*(claims.create(_claim(h)) for h in holders), return_exceptions=True)
        winners = [h for h, r in zip(holders, results, strict=True) if r is None]
        assert len(winners) == 1
        assert all(isinstance(r, Conflict) for r in results if r is not None)
        found = await claims.get(SPACE, "file:src/app.py")
        assert found is not None
        assert found[0].holder.value == winners[0]

    async def test_a_replace_over_a_stale_version_loses(self, claims: ClaimRepository) -> None:
        await claims.create(_claim("alice"))
        found = await claims.get(SPACE, "file:src/app.py")
        assert found is not None
        await claims.replace(_claim("bob"), found[1])
        with pytest.raises(Conflict):
            await claims.replace(_claim("carol"), found[1])

    async def test_any_resource_name_makes_a_valid_key_and_comes_back_as_written(
        self, claims: ClaimRepository
    ) -> None:
        names = ["file:src/app.py", "area:billing/../x", "é" * 120, "a b\tc", "item:0123456789abcdef"]
        for name in names:
            await claims.create(_claim("alice", name))
        assert sorted(c.resource for c in await claims.list(SPACE)) == sorted(names)

    async def test_a_corrupt_record_reads_as_released_and_can_be_replaced(
        self, backend: Backend, claims: ClaimRepository
    ) -> None:
        backend.raw_put(layout.claim_key(SPACE, "area:x"), b"\xff garbage")
        found = await claims.get(SPACE, "area:x")
        assert found is not None
        assert not found[0].live(T0)
        await claims.replace(_claim("alice", "area:x"), found[1])
        assert [c.holder.value for c in await claims.list(SPACE)] == ["alice"]


class PresenceRepositoryContract(WithBackend):
    """Behaviour of every ``PresenceRepository``."""

    @pytest.fixture
    def presence(self, backend: Backend) -> PresenceRepository:
        return StorePresenceRepository(backend.store)

    async def test_a_record_only_moves_forward(self, presence: PresenceRepository) -> None:
        alice = AgentName("alice")
        await presence.record(SPACE, alice, T0 + timedelta(minutes=5), note=True)
        await presence.record(SPACE, alice, T0, note=False)
        await presence.record(SPACE, alice, T0 + timedelta(minutes=9), note=False)
        (record,) = await presence.list(SPACE)
        assert record.last_activity_at == T0 + timedelta(minutes=9)
        assert record.last_note_at == T0 + timedelta(minutes=5)

    async def test_concurrent_records_keep_the_latest(self, presence: PresenceRepository) -> None:
        times = [T0 + timedelta(seconds=s) for s in (7, 3, 9, 1, 5)]
        await asyncio.gather(*(presence.record(SPACE, AgentName("bob"), t, note=False) for t in times))
        (record,) = await presence.list(SPACE)
        assert record.last_activity_at == max(times)
        assert record.last_note_at is None
