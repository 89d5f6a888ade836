"""A call costs what it returns, not what the store holds (second review, M8): job
records and journals grew without bound and every call read all of them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import attrs

from application.consolidation import JobRecord, JobState
from application.consolidation.journals import prune_journals
from application.store import StoredObject
from domain import SpaceId
from domain.consolidation import JournalState
from infrastructure.repositories.consolidation import StoreJobRepository, StoreJournalRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import FakeClock, seed, services_over
from tests.test_backup_journals import _pending


class _CountingStore(MemoryObjectStore):
    """Counts the GETs by kind of object."""

    def __init__(self) -> None:
        super().__init__()
        self.gets: Counter[str] = Counter()

    async def get(self, key: str) -> StoredObject:
        kind = (
            "job"
            if key.startswith("_system/jobs/")
            else "journal"
            if "/_consolidations/" in key
            else "meta"
            if key.endswith("/_meta.json")
            else "other"
        )
        self.gets[kind] += 1
        return await super().get(key)


async def test_job_calls_read_only_the_records_they_answer_with() -> None:
    clock, store = FakeClock(), _CountingStore()
    services = services_over(store, clock)
    admin = await seed(services, clock)
    repository = StoreJobRepository(store)
    for n in range(300):  # finished jobs of other spaces, and of this one
        space = SpaceId("proj" if n % 10 == 0 else f"other-{n % 7}")
        at = clock.now() - timedelta(hours=n + 1)
        await repository.put(JobRecord(f"old{n:05d}", space, "agent", None, JobState.SUCCEEDED, at, at, 1))
    store.gets.clear()
    job = await services.jobs.submit(admin, "proj")
    submitted = store.gets["job"]
    await services.jobs.drain()
    store.gets.clear()
    newest = await services.jobs.jobs(admin, "proj", limit=1)
    assert [j.job_id for j in newest] == [job.job_id]
    assert store.gets["job"] == 1
    assert submitted <= 2  # the unfinished ones only: none but its own
    store.gets.clear()
    lanes = await services.supervision.queues(admin, ["proj"])
    assert lanes.lanes[0].lane_state == "idle"
    assert store.gets["job"] <= 3  # LATEST_JOBS records


async def test_history_and_backups_read_only_the_journals_they_need() -> None:
    clock, store = FakeClock(), _CountingStore()
    services = services_over(store, clock)
    admin = await seed(services, clock)
    await services.jobs.service.consolidate(SpaceId("proj"), "first")
    journals = StoreJournalRepository(store)
    base = _pending(SpaceId("proj"), "# decisions\n")
    for n in range(200):  # old committed runs
        old = attrs.evolve(base, run_id=f"20260101T{n:06d}000000Z-old-000", consumed=())
        await journals.prepare(old)
        await journals.mark_committed(attrs.evolve(old, state=JournalState.COMMITTED))
    await services.backups.create(admin, "proj")  # a process reads every journal once
    store.gets.clear()
    latest = await services.jobs.history(admin, "proj", limit=1)
    assert [r.job_id for r in latest] == ["first"]
    assert store.gets["journal"] == 1
    store.gets.clear()
    assert await services.jobs.service.roll_forward(SpaceId("proj")) == 0
    assert store.gets["journal"] == 0  # only the prepared journals are read: none


async def test_journals_older_than_the_retention_are_pruned_but_never_a_prepared_one() -> None:
    clock, store = FakeClock(), MemoryObjectStore()
    services = services_over(store, clock)
    await seed(services, clock)
    journals = StoreJournalRepository(store)
    base = _pending(SpaceId("proj"), "# decisions\n")
    for n in range(5):
        old = attrs.evolve(base, run_id=f"20250101T{n:06d}000000Z-old-000", consumed=())
        await journals.prepare(old)
        await journals.mark_committed(attrs.evolve(old, state=JournalState.COMMITTED))
    stuck = attrs.evolve(base, run_id="20250102T000000000000Z-stuck-000", consumed=())
    await journals.prepare(stuck)
    assert await prune_journals(journals, SpaceId("proj"), "20260101T000000000000Z") == 5
    assert await journals.run_ids(SpaceId("proj")) == [stuck.run_id]
    await services.jobs.service.consolidate(SpaceId("proj"), "now")  # prunes once a day
    assert stuck.run_id not in await journals.run_ids(SpaceId("proj"))  # rolled forward, then old


async def test_a_run_reads_the_space_metadata_once_before_its_batches() -> None:
    """One home for what a run knows of its space: ``_meta.json`` is read once for the run
    (its description came from a second read), once by the synthesis read (which checks
    the space exists) and once per batch by the commit's conditional update."""
    clock, store = FakeClock(), _CountingStore()
    services = services_over(store, clock)
    await seed(services, clock)
    store.gets.clear()
    report = await services.jobs.service.consolidate(SpaceId("proj"), "run")
    assert report.batches == 1
    assert store.gets["meta"] == 3
