"""A new space never inherits what an earlier space of the same id left (review item 5):
creation is refused over leftover objects until space_delete purges them, and a restore
that fails part-way cleans up after itself."""

from __future__ import annotations

import pytest

from application.store import StoreUnavailable
from domain import AlreadyExists, SpaceId
from infrastructure.repositories import StoreBackupRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import KEY, RULES, FakeClock, FaultyStore, services_over


async def test_a_note_left_by_a_deleted_space_blocks_its_id_until_purged() -> None:
    services = services_over(MemoryObjectStore(), FakeClock())
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", RULES)
    await services.spaces.delete(admin, "proj", confirm=True)
    # a note a writer put in while the deletion ran
    await services.store.put("proj/live/20260302T090000000000Z_bob_todo_00000000000000bb.md", b"leftover")
    with pytest.raises(AlreadyExists, match="purge them with space_delete"):
        await services.spaces.create(admin, "proj", "", RULES)
    await services.spaces.delete(admin, "proj", confirm=True)  # purges the leftovers
    await services.spaces.create(admin, "proj", "", RULES)
    assert (await services.notes.read(admin, "proj")).total_matching == 0


async def test_a_restore_that_fails_part_way_leaves_nothing_behind() -> None:
    clock = FakeClock()
    memory = MemoryObjectStore()
    faulty = FaultyStore(memory)
    services = services_over(faulty, clock)
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", RULES)
    await services.notes.write(admin, "proj", "decision", "keep it")
    backup = await services.backups.create(admin, "proj")
    backups = StoreBackupRepository(faulty)
    faulty.calls, faulty.fail_at = 0, 6  # after the listings and the first copies
    with pytest.raises(StoreUnavailable):
        await backups.restore(SpaceId("proj"), backup.backup_id, SpaceId("copy"), "g")
    faulty.fail_at = None
    assert [k for k in memory._objects if k.startswith("copy/")] == []
    assert faulty.calls >= 6  # the fault did strike mid-copy
    await services.backups.restore(admin, "proj", backup.backup_id, "copy")
    assert (await services.notes.read(admin, "copy")).total_matching == 1
