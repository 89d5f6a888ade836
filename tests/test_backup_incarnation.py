"""Backups belong to the incarnation of the space they copied (review item 5): a space
deleted and created again under the same id by another team does not see, download,
restore, delete or prune the earlier space's backups; an admin still can, and restoring
one into the free id brings that incarnation, with its backups, back."""

from __future__ import annotations

import json

import pytest

from application.ports import BackupInfo
from application.services import Services
from domain import Identity, NotFound
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import KEY, RULES, FakeClock, services_over


async def _old_and_new(clock: FakeClock | None = None) -> tuple[Services, Identity, Identity, BackupInfo]:
    """``proj`` backed up, deleted, then created again by a manage token of another team."""
    clock = clock or FakeClock()
    services = services_over(MemoryObjectStore(), clock, backup_retention=1)
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", RULES)
    await services.notes.write(admin, "proj", "decision", "the first team's secret plan")
    old = await services.backups.create(admin, "proj")
    await services.spaces.delete(admin, "proj", confirm=True)
    issued = await services.auth.create(admin, "team-b", "manage", ["proj", "stolen"])
    team_b = await services.auth.authenticate(issued.secret)
    clock.advance(60)
    await services.spaces.create(team_b, "proj", "", RULES)
    return services, admin, team_b, old


async def test_a_new_space_with_an_old_id_does_not_get_the_old_backups() -> None:
    services, _, team_b, old = await _old_and_new()
    assert await services.backups.list(team_b, "proj") == []
    with pytest.raises(NotFound):
        await services.backups.download(team_b, "proj", old.backup_id)
    with pytest.raises(NotFound):
        await services.backups.restore(team_b, "proj", old.backup_id, "stolen")
    with pytest.raises(NotFound):
        await services.backups.delete(team_b, "proj", old.backup_id)
    assert [k async for page in services.store.list_pages("stolen/") for k in page] == []


async def test_retention_in_the_new_space_does_not_prune_the_old_backups() -> None:
    clock = FakeClock()
    services, admin, team_b, old = await _old_and_new(clock)
    newer = []
    for _ in range(2):
        clock.advance(60)
        newer.append(await services.backups.create(team_b, "proj"))
    assert [b.backup_id for b in await services.backups.list(team_b, "proj")] == [newer[-1].backup_id]
    everything = await services.backups.list(admin, "proj")
    assert old.backup_id in [b.backup_id for b in everything]


async def test_an_admin_sees_the_old_backups_and_restoring_one_brings_its_incarnation_back() -> None:
    services, admin, _, old = await _old_and_new()
    listed = {b.backup_id: b for b in await services.backups.list(admin, "proj")}
    current = (await services.spaces.overview(admin, "proj")).meta.generation
    assert listed[old.backup_id].generation != current
    await services.backups.restore(admin, "proj", old.backup_id, "proj-old")
    assert (await services.notes.read(admin, "proj-old")).total_matching == 1
    # the old team's id freed, the old incarnation restored there: its backups are its own again
    await services.spaces.delete(admin, "proj", confirm=True)
    await services.backups.restore(admin, "proj", old.backup_id, "proj")
    issued = await services.auth.create(admin, "team-a", "manage", ["proj"])
    team_a = await services.auth.authenticate(issued.secret)
    assert [b.backup_id for b in await services.backups.list(team_a, "proj")] == [old.backup_id]


async def test_backups_and_spaces_written_before_generations_still_match() -> None:
    services = services_over(MemoryObjectStore(), FakeClock())
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", RULES)
    backup = await services.backups.create(admin, "proj")
    store = services.store
    for key in ("proj/_meta.json", f"_backups/proj/{backup.backup_id}/manifest.json"):
        body = json.loads((await store.get(key)).data)
        body.pop("generation")
        await store.put(key, json.dumps(body).encode())
    issued = await services.auth.create(admin, "old-client", "manage", ["proj"])
    manager = await services.auth.authenticate(issued.secret)
    assert [b.backup_id for b in await services.backups.list(manager, "proj")] == [backup.backup_id]
