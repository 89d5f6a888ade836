"""A space never stays stuck (second review, M6 and L5): a failed commit gives the lease
back at once; rules cannot declare a file that is also a folder, nor more files than a
plan may write; a journal that can never commit is given up by an admin, losing no note."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from application.store import StoreError, StoreUnavailable
from domain import InvalidInput, SpaceId
from infrastructure.repositories import StoreBankRepository, StoreNoteRepository
from infrastructure.repositories.consolidation import StoreLeaseRepository
from infrastructure.stores import FileSystemObjectStore, MemoryObjectStore
from tests.consolidation_support import KEY, NOTES, RULES, FakeClock, seed, services_over
from tests.mcp_support import BOOTSTRAP_KEY, SPACE, connect, deploy, error_text, payload

_CLASH = "# Rules\n\n## notes.md\nNotes.\n\n## notes.md/detail.md\nDetails.\n"


async def test_rules_declaring_a_file_that_is_also_a_folder_are_refused() -> None:
    deployment = await deploy()
    before = deployment.snapshot()
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        created = await client.call_tool("space_create", {"space_id": "gamma", "rules": _CLASH})
        updated = await client.call_tool("space_update_rules", {"space_id": SPACE, "rules": _CLASH})
    for result in (created, updated):
        assert "InvalidInput:" in error_text(result)
        assert "notes.md as a file and as the folder of notes.md/detail.md" in error_text(result)
    assert deployment.snapshot() == before


async def test_rules_may_declare_at_most_64_files_and_64_consolidate() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await services.auth.authenticate(KEY)

    def rules(count: int) -> str:
        return "# Rules\n\n" + "".join(f"## f{n:03d}.md\nFile {n}.\n\n" for n in range(count))

    with pytest.raises(InvalidInput, match="65 bank files; at most 64"):
        await services.spaces.create(admin, "many", "", rules(65))
    await services.spaces.create(admin, "many", "", rules(64))
    await services.notes.write(admin, "many", "decision", "One decision among many files.")
    report = await services.jobs.service.consolidate(SpaceId("many"), "job-many")
    assert report.notes_consumed == 1


class _BankWritesFail(MemoryObjectStore):
    """A store whose writes of bank files fail while ``failing`` is set."""

    failing = False

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> str:
        if self.failing and "/bank/" in key:
            raise StoreUnavailable("injected: the bank cannot be written")
        return await super().put(key, data, content_type=content_type)


class _Ticking(FakeClock):
    """A clock that moves a millisecond each time it is read, as a real one does: a
    renewed lease then differs from the first (and so does its ETag)."""

    def now(self) -> datetime:
        self.advance(0.001)
        return self.now_value


async def test_a_failed_commit_gives_the_lease_back_at_once() -> None:
    clock = _Ticking()
    store = _BankWritesFail()
    services = services_over(store, clock)
    await seed(services, clock)
    store.failing = True
    with pytest.raises(StoreUnavailable):
        await services.jobs.service.consolidate(SpaceId("proj"), "job-fails")
    assert await StoreLeaseRepository(store).current(SpaceId("proj")) is None
    store.failing = False
    report = await services.jobs.service.consolidate(SpaceId("proj"), "job-next")
    assert report.recovered == 1  # the prepared journal, rolled forward


async def test_a_journal_that_can_never_commit_is_given_up_by_an_admin_and_no_note_is_lost(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    store = FileSystemObjectStore(tmp_path)
    services = services_over(store, clock)
    admin = await seed(services, clock)
    space = SpaceId("proj")
    # Rules written before the check existed: notes.md both a file and a folder.
    await store.put("proj/_rules.md", (RULES + "\n## notes.md\nN.\n\n## notes.md/detail.md\nD.\n").encode())
    with pytest.raises(StoreError):  # the file system cannot hold notes.md and notes.md/
        await services.jobs.service.consolidate(space, "job-1")
    await services.spaces.update_rules(admin, "proj", RULES)  # fixed; the journal still cannot commit
    with pytest.raises(StoreError):  # every run rolls it forward first, and fails again
        await services.jobs.service.consolidate(space, "job-2")

    async with connect(services, KEY) as client:
        look = payload(await client.call_tool("admin_break_lease", {"space_id": "proj"}))
        assert len(look["unfinished_journals"]) == 1
        refused = await client.call_tool(
            "admin_break_lease", {"space_id": "proj", "discard_journal": look["unfinished_journals"][0]}
        )
        assert "InvalidInput:" in error_text(refused)
        done = payload(
            await client.call_tool(
                "admin_break_lease",
                {"space_id": "proj", "confirm": True, "discard_journal": look["unfinished_journals"][0]},
            )
        )
    assert done["discarded"] == look["unfinished_journals"][0]
    assert done["unfinished_journals"] == []
    report = await services.jobs.service.consolidate(space, "job-3")
    assert report.recovered == 0
    archive = "".join(f.content for f in await StoreBankRepository(store).get_archive(space))
    notes = StoreNoteRepository(store)
    live = {n.content for n in await notes.get_many(await notes.refs(space))}
    for _agent, _category, content in NOTES:
        assert content in archive or content in live, content
