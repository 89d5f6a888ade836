"""Exports and backup downloads check the archive's size before building it (review
item 3, part): an archive over the limit is refused from the listing alone, before a
single object is read."""

from __future__ import annotations

import pytest

from domain import LimitExceeded, SpaceId
from infrastructure.repositories import StoreBackupRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import KEY, RULES, FakeClock, services_over


class ListSink:
    """An archive sink that keeps the members it is given."""

    def __init__(self) -> None:
        self.members: list[tuple[str, bytes]] = []

    async def add(self, name: str, data: bytes) -> None:
        self.members.append((name, data))


class CountingStore(MemoryObjectStore):
    """Counts object reads."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    async def get(self, key: str):  # type: ignore[no-untyped-def]
        self.gets += 1
        return await super().get(key)


async def test_an_export_over_the_limit_is_refused_before_any_object_is_read() -> None:
    store = CountingStore()
    services = services_over(store, FakeClock())
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", RULES)
    for i in range(5):
        await services.notes.write(admin, "proj", "decision", f"{i} " + "z" * 20_000)
    backup = await services.backups.create(admin, "proj")
    repository = StoreBackupRepository(store)
    store.gets = 0
    sink = ListSink()
    with pytest.raises(LimitExceeded, match="over the 50000-byte limit"):
        await repository.export_space(SpaceId("proj"), sink, max_bytes=50_000)
    with pytest.raises(LimitExceeded, match="over the 50000-byte limit"):
        await repository.archive(SpaceId("proj"), backup.backup_id, sink, max_bytes=50_000)
    assert store.gets == 0
    assert sink.members == []
    added = await repository.export_space(SpaceId("proj"), sink, max_bytes=1_000_000)  # under it: built
    assert added == len(sink.members) >= 5
