"""One corrupt object never breaks the others (review item 6): listings skip and report
it, job resumption goes on past it, a corrupt lease is taken over."""

from __future__ import annotations

import attrs

from application.consolidation import JobState
from domain import SpaceId
from infrastructure.repositories.consolidation import JOBS_PREFIX, StoreJobRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import FakeClock, seed, services_over
from tests.mcp_support import BOOTSTRAP_KEY, OTHER, SPACE, connect, deploy, payload


async def test_a_corrupt_space_meta_is_reported_and_the_other_spaces_still_listed() -> None:
    deployment = await deploy()
    await deployment.services.store.put(f"{OTHER}/_meta.json", b"{not json")
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        listed = payload(await client.call_tool("space_list", {}))
        backups = payload(await client.call_tool("backup_list", {"space_id": ""}))
    assert [s["space_id"] for s in listed["spaces"]] == [SPACE]
    assert listed["unreadable"] == [OTHER]
    assert backups["status"] == "ok"


async def test_a_corrupt_job_record_does_not_stop_the_resumption_of_others() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    job = await services.consolidation.submit(admin, "proj")
    await services.consolidation.drain()
    await services.store.put(f"{JOBS_PREFIX}broken.json", b"\\x00 not a job")
    await StoreJobRepository(services.store).put(attrs.evolve(job, job_id="0" * 16, state=JobState.RUNNING))
    clock.advance(3600)
    assert await services.consolidation.resume_abandoned() == 1


async def test_a_corrupt_lease_is_taken_over_instead_of_blocking_the_space() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    await seed(services, clock)
    await services.store.put("proj/_lease.json", b"garbage")
    report = await services.consolidation._service.consolidate(SpaceId("proj"), "after-corruption")
    assert report.notes_consumed == 10
