"""The consolidation use case on a memory store (extractive planner): what it writes,
what it leaves, and that no fault or concurrent run loses or doubles a note."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from application.consolidation import ConsolidationFailed, ExtractivePlanner
from application.consolidation.planners import PlannedBatch, PlanRequest
from application.services import Services
from application.store import ObjectStore, StoreError
from domain import AgentName, BankFile, BankFileName, Conflict, Identity, Permission, SpaceId
from domain.consolidation import JournalState
from infrastructure.repositories import StoreBankRepository
from infrastructure.repositories.consolidation import StoreJournalRepository
from infrastructure.settings import Settings
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import NOTES, FakeClock, FaultyStore, SmallBatches, seed, services_over

DEFAULTS = Settings()  # production's defaults
SPACE = SpaceId("proj")


async def _bank(services: Services) -> dict[str, str]:
    """The hot bank, each work item's id (its note's random id, another in every scenario
    run) written as ``ID``, so that banks of separate runs over the same notes compare."""
    admin = await services.auth.authenticate("Rt5yU8iO2pA4sD6fG1hJ3kL9zX7cV0bNmQ")
    files = await services.bank.read_all(admin, SPACE.value)
    return {f.name.value: re.sub(r"; item [0-9a-f]{8,32}\)", "; item ID)", f.content) for f in files}


async def _live_ids(services: Services) -> set[str]:
    from infrastructure.repositories import StoreNoteRepository

    return {r.note_id for r in await StoreNoteRepository(services.store).refs(SPACE)}


async def test_extractive_run_files_every_note_and_consumes_it() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    job = await services.jobs.submit(admin, SPACE.value)
    await services.jobs.drain()
    done = await services.jobs.status(admin, job.job_id)
    assert done.state.value == "succeeded", done.error
    assert done.report is not None
    assert done.report.notes_consumed == 10
    assert list(done.report.files_changed) == ["activeContext.md", "decisions.md", "progress.md"]
    assert list(done.report.archive_files) == [
        "archive/activeContext/2026.md",
        "archive/decisions/2026.md",
        "archive/progress/2026.md",
    ]
    bank = await _bank(services)
    assert "- 2026-03-02 · alice · decision: Store everything in S3; no database." in bank["decisions.md"]
    assert "## Known issues" in bank["progress.md"]
    assert "## 2026-W10" in bank["progress.md"]
    assert "## Recent changes" in bank["activeContext.md"]  # all ten notes are recent ones
    assert "- 2026-03-09 · alice · todo: Write the consolidation journal." in bank["activeContext.md"]
    # the repeated progress note was merged: the newest keeps the line and names the other
    assert bank["progress.md"].count("The S3 adapter passes its contract suite.") == 1
    assert (
        "- 2026-03-05 · bob · progress: The S3 adapter passes its contract suite. (also bob 2026-03-03)"
        in (bank["progress.md"])
    )
    assert "- archive/progress/2026.md: 6 entries" in bank["progress.md"]
    assert await _live_ids(services) == set()
    history = await services.jobs.history(admin, SPACE.value)
    assert sum(len(run.consumed) for run in history) == 10
    meta = await services.spaces.overview(admin, SPACE.value)
    assert meta.meta.consolidations == 1
    assert meta.synthesis.startswith("Extractive consolidation filed 10 notes")


async def test_each_note_lands_in_full_in_exactly_one_archive_file_and_in_the_hot_bank() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    await services.jobs.submit(admin, SPACE.value)
    await services.jobs.drain()
    bank = await _bank(services)
    archive = {f.name.value: f.content for f in await StoreBankRepository(services.store).get_archive(SPACE)}
    assert not any(name.startswith("archive/") for name in bank)  # bank_read_all: the hot bank only
    for agent, category, content in NOTES:
        entry = f" · {agent} · {category} · "
        holders = [n for n, text in archive.items() if entry in text and f"> {content}" in text]
        assert len(holders) == 1, content
        assert any(content in text for text in bank.values()), content


async def test_a_writer_consolidates_only_its_own_notes() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    alice = Identity(AgentName("alice"), Permission.WRITE, (SPACE.value,))  # seed made her token
    await services.jobs.submit(alice, SPACE.value)
    await services.jobs.drain()
    page = await services.notes.read(admin, SPACE.value, limit=50)
    assert {n.agent.value for n in page.notes} == {"bob", "carol"}
    assert page.total_matching == 6


async def test_notes_written_during_a_run_are_left_alone() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)

    class WritesMidRun(ExtractivePlanner):
        async def plan(self, request: PlanRequest) -> PlannedBatch:
            await services.notes.write(admin, SPACE.value, "todo", "written while consolidating")
            return await super().plan(request)

    racing = services_over(services.store, clock, WritesMidRun())
    await racing.jobs.submit(admin, SPACE.value)
    await racing.jobs.drain()
    page = await services.notes.read(admin, SPACE.value)
    assert [n.content for n in page.notes] == ["written while consolidating"]
    assert "written while consolidating" not in "".join((await _bank(services)).values())


async def test_concurrent_runs_on_one_space_one_runs_and_no_note_is_consumed_twice() -> None:
    clock = FakeClock()
    store = MemoryObjectStore()
    services = services_over(store, clock, SmallBatches())
    await seed(services, clock)
    other = services_over(store, clock, SmallBatches())

    async def run(s: Services, job: str) -> Any:
        try:
            return await s.jobs.service.consolidate(SPACE, job)
        except Conflict as exc:
            return exc

    results = await asyncio.gather(run(services, "job-a"), run(other, "job-b"))
    assert sum(isinstance(r, Conflict) for r in results) == 1
    journals = await StoreJournalRepository(store).list(SPACE)
    consumed = [c.note_id for j in journals for c in j.consumed]
    assert len(consumed) == len(set(consumed)) == 10


LEGACY = (
    "# progress\n\n## 2026-W09\n\n- 2026-02-27 · dave · progress: Written before the archive existed.\n"
    "  A second line of that old note.\n- 2026-02-28 · dave · progress: Another old entry.\n"
)


async def _scenario(store: ObjectStore, clock: FakeClock, archives: bool) -> Services:
    """The seeded space; with ``archives``, a small budget and a legacy progress.md whose
    entries the archive does not hold yet, so the run moves entries into the archive."""
    services = services_over(store, clock, SmallBatches(), bank_budget_tokens=900 if archives else 8000)
    await seed(services, clock)
    if archives:
        await StoreBankRepository(store).put(SPACE, BankFile(BankFileName("progress.md"), LEGACY))
    return services


async def _clean_state(archives: bool) -> tuple[dict[str, str], dict[str, str]]:
    clock = FakeClock()
    services = await _scenario(MemoryObjectStore(), clock, archives)
    await services.jobs.service.consolidate(SPACE, "baseline")
    return await _bank(services), await _archive(services)


async def _archive(services: Services) -> dict[str, str]:
    """Archive files with note ids masked (each setup draws its own ids)."""
    files = await StoreBankRepository(services.store).get_archive(SPACE)
    return {f.name.value: re.sub(r"(### \S+ · \S+ · [a-z]+ · )[0-9a-f]+", r"\1ID", f.content) for f in files}


async def _count_calls(archives: bool) -> int:
    clock = FakeClock()
    counting = FaultyStore(MemoryObjectStore())
    services = await _scenario(counting, clock, archives)
    before = counting.calls
    await services.jobs.service.consolidate(SPACE, "count")
    return counting.calls - before


@pytest.mark.parametrize("archives", [False, True], ids=["plain", "moves-entries-to-archive"])
async def test_a_fault_at_every_store_call_loses_no_note_and_recovers_the_same_bank(archives: bool) -> None:
    expected_bank, expected_archive = await _clean_state(archives)
    if archives:
        moved = "\n".join(expected_archive.values())
        assert "### moved 2026-03-12 · from progress.md § 2026-W09" in moved  # the legacy entries
        assert "> - 2026-02-27 · dave · progress: Written before the archive existed." in moved
    total = await _count_calls(archives)
    assert total > 30  # several batches, each with journal, bank, archive, meta, deletes
    for k in range(1, total + 1):
        clock = FakeClock()
        faulty = FaultyStore(MemoryObjectStore())
        services = await _scenario(faulty, clock, archives)
        original = await _live_ids(services)
        faulty.calls, faulty.fail_at = 0, k
        with pytest.raises((StoreError, ConsolidationFailed)):
            await services.jobs.service.consolidate(SPACE, f"faulty-{k}")
        faulty.fail_at = None
        clock.advance(3600)  # any lease the failed run kept has expired
        await services.jobs.service.consolidate(SPACE, f"recovery-{k}")
        journals = await StoreJournalRepository(faulty.inner).list(SPACE)
        assert all(j.state is JournalState.COMMITTED for j in journals), k
        consumed = [c.note_id for j in journals for c in j.consumed]
        live = await _live_ids(services)
        for note_id in original:
            assert (note_id in live) + consumed.count(note_id) == 1, (k, note_id)
        assert await _bank(services) == expected_bank, k
        assert await _archive(services) == expected_archive, k


async def test_a_stale_prepared_journal_is_rolled_forward_first() -> None:
    from application.consolidation import ConsolidationService
    from infrastructure.repositories import StoreBankRepository, StoreNoteRepository, StoreSpaceRepository
    from infrastructure.repositories.consolidation import StoreLeaseRepository

    class CrashBeforeCommit(StoreJournalRepository):
        async def mark_committed(self, journal: Any) -> None:
            raise StoreError("the process died here")

    clock = FakeClock()
    store = MemoryObjectStore()
    services = services_over(store, clock, SmallBatches())
    await seed(services, clock)

    def service(journals: StoreJournalRepository) -> ConsolidationService:
        return ConsolidationService(
            spaces=StoreSpaceRepository(store),
            notes=StoreNoteRepository(store),
            bank=StoreBankRepository(store),
            journals=journals,
            leases=StoreLeaseRepository(store),
            planner=SmallBatches(),
            clock=clock,
            lease_seconds=DEFAULTS.consolidation_timeout,
            max_notes=DEFAULTS.consolidation_max_notes,
            journal_retention_days=DEFAULTS.journal_retention_days,
        )

    with pytest.raises(StoreError):
        await service(CrashBeforeCommit(store)).consolidate(SPACE, "crashes")
    journals = StoreJournalRepository(store)
    prepared = [j for j in await journals.list(SPACE) if j.state is JournalState.PREPARED]
    assert len(prepared) == 1
    clock.advance(3600)
    report = await service(journals).consolidate(SPACE, "recovers")
    assert report.recovered == 1
    assert all(j.state is JournalState.COMMITTED for j in await journals.list(SPACE))
    assert await _live_ids(services) == set()


async def test_consolidating_a_missing_space_or_another_agents_notes_is_refused() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    writer = await services.auth.authenticate(
        (await services.auth.create(admin, "dave", "write", [SPACE.value])).secret
    )
    from domain import NotFound, PermissionDenied

    with pytest.raises(PermissionDenied):
        await services.jobs.submit(writer, SPACE.value, agent="alice")
    with pytest.raises(NotFound):
        await services.jobs.submit(admin, "nope")
    assert AgentName("alice")  # the scope name itself is valid
    assert BankFileName("decisions.md")


async def test_a_finished_run_releases_its_lease_so_the_next_runs_at_once() -> None:
    clock = FakeClock()
    store = MemoryObjectStore()
    services = services_over(store, clock, SmallBatches())
    admin = await seed(services, clock)
    await services.jobs.service.consolidate(SPACE, "first")
    assert "proj/_lease.json" not in store._objects
    await services.notes.write(admin, SPACE.value, "todo", "one more")
    report = await services.jobs.service.consolidate(SPACE, "second")
    assert report.notes_consumed == 1


async def test_a_backup_excludes_a_running_consolidation_and_never_copies_the_lease(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import application.services.backups

    monkeypatch.setattr(application.services.backups, "BACKUP_WAIT_SECONDS", 0.5)  # a run that never ends
    services, admin, end_run = await _under_a_running_job()
    store = services.store
    assert isinstance(store, MemoryObjectStore)
    with pytest.raises(Conflict):
        await services.backups.create(admin, SPACE.value)
    await end_run()
    info = await services.backups.create(admin, SPACE.value)
    assert info.objects == 15  # meta, rules, the ten notes and the records of their three work items
    copied = [k for k in store._objects if k.startswith("_backups/")]
    assert copied
    assert not any(k.endswith("_lease.json") for k in copied)
    assert "proj/_lease.json" not in store._objects


async def _under_a_running_job() -> tuple[Services, Identity, Callable[[], Awaitable[None]]]:
    """A seeded space whose lease a consolidation holds; the services, the admin, and
    what ends the run (releases the lease)."""
    from datetime import timedelta

    from infrastructure.repositories.consolidation import StoreLeaseRepository

    clock = FakeClock()
    store = MemoryObjectStore()
    services = services_over(store, clock)
    admin = await seed(services, clock)
    leases = StoreLeaseRepository(store)
    held = await leases.acquire(SPACE, "job-running", clock.now() + timedelta(minutes=5), clock.now())
    return services, admin, lambda: leases.release(held)


async def test_a_backup_waits_for_the_consolidation_under_way_and_then_copies() -> None:
    """First hour, item 3: a backup was refused with Conflict while a run went on."""
    import asyncio

    services, admin, end_run = await _under_a_running_job()
    backup = asyncio.create_task(services.backups.create(admin, SPACE.value))
    await asyncio.sleep(0.5)
    assert not backup.done()  # waiting, not refused
    await end_run()
    info = await asyncio.wait_for(backup, timeout=30)
    assert info.objects == 15  # as above: presence records and claims are never backed up


async def test_deleting_a_space_waits_for_no_consolidation() -> None:
    from domain import NotFound

    services, admin, end_run = await _under_a_running_job()
    with pytest.raises(Conflict):
        await services.spaces.delete(admin, SPACE.value, confirm=True)
    assert len(await _live_ids(services)) == 10  # nothing was deleted
    await end_run()
    assert await services.spaces.delete(admin, SPACE.value, confirm=True) == 18  # and 3 presence records
    assert isinstance(services.store, MemoryObjectStore)
    assert not [k for k in services.store._objects if k.startswith("proj/")]
    with pytest.raises(NotFound):
        await services.spaces.delete(admin, SPACE.value, confirm=True)


async def test_a_multi_batch_run_counts_once_and_its_synthesis_describes_the_whole_run() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock, SmallBatches())  # 4 notes a batch
    admin = await seed(services, clock)
    report = await services.jobs.service.consolidate(SPACE, "multi")
    assert report.batches == 3
    overview = await services.spaces.overview(admin, SPACE.value)
    assert overview.meta.consolidations == 1
    assert overview.synthesis.startswith("Extractive consolidation filed 10 notes from 3 agents")
