"""A consolidation request joins only a job whose selection covers it (first hour,
item 2): all notes, or the same agent's; any other request gets a job of its own that
runs after the space's earlier ones."""

from __future__ import annotations

from datetime import timedelta

import attrs

from application.consolidation import JobRecord, JobState
from application.services import Services
from domain import SpaceId
from infrastructure.repositories.consolidation import StoreJobRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import KEY, FakeClock, seed, services_over
from tests.mcp_support import BOOTSTRAP_KEY, connect, deploy, payload


async def test_requests_of_different_scope_get_their_own_jobs_and_every_note_is_consumed() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)  # notes of alice, bob and carol
    tokens = {
        name: await services.auth.create(admin, f"{name}-2", role, ["proj"])
        for name, role in (("alice", "manage"), ("bob", "write"), ("carol", "write"))
    }
    me = {name: await services.auth.authenticate(t.secret) for name, t in tokens.items()}
    for name in ("bob", "carol"):  # a note each under the new identities
        await services.notes.write(me[name], "proj", "progress", f"{name} finished a task")
    bobs = await services.jobs.submit(me["bob"], "proj")  # bob-2's own notes
    carols = await services.jobs.submit(me["carol"], "proj")  # carol-2's own notes
    everything = await services.jobs.submit(me["alice"], "proj")  # manage: all notes
    again = await services.jobs.submit(admin, "proj")  # all notes again: joins
    await services.jobs.drain()
    assert len({bobs.job_id, carols.job_id, everything.job_id}) == 3
    assert again.job_id == everything.job_id
    done = {j.job_id: await services.jobs.status(admin, j.job_id) for j in (bobs, carols, everything)}
    assert all(j.state.value == "succeeded" for j in done.values()), [j.error for j in done.values()]
    consumed = {i: j.report.notes_consumed if j.report else None for i, j in done.items()}
    assert consumed[bobs.job_id] == 1
    assert consumed[carols.job_id] == 1
    assert (await services.notes.read(admin, "proj")).notes == []  # the rest went in the third


async def _orphan(services: Services, clock: FakeClock) -> JobRecord:
    """A job a process started and then died with: running, its record 60 s old."""
    admin = await services.auth.authenticate(KEY)
    job = JobRecord(
        "deadbeef00000001",
        SpaceId("proj"),
        admin.name.value,
        None,
        JobState.RUNNING,
        clock.now() - timedelta(seconds=60),
        clock.now() - timedelta(seconds=60),
        attempts=1,
        runner="gone:4242",
    )
    await StoreJobRepository(services.store).put(job)
    return job


async def test_a_job_whose_runner_died_is_taken_over_by_the_next_request() -> None:
    """First hour, item 1: a bank_consolidate from a process that exited left its job
    'running' for the whole consolidation timeout; every request got it back."""
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    orphan = await _orphan(services, clock)
    joined = await services.jobs.submit(admin, "proj")
    await services.jobs.drain()
    done = await services.jobs.status(admin, orphan.job_id)
    assert joined.job_id == orphan.job_id
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.attempts == 2
    assert done.runner is not None
    assert done.runner != "gone:4242"
    assert (await services.notes.read(admin, "proj")).notes == []


async def test_the_servers_check_takes_over_a_job_whose_heartbeat_stopped() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    orphan = await _orphan(services, clock)
    assert await services.jobs.resume_abandoned() == 1
    await services.jobs.drain()
    assert (await services.jobs.status(admin, orphan.job_id)).state is JobState.SUCCEEDED


async def test_a_job_that_beats_is_not_taken_over() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    await seed(services, clock)
    orphan = await _orphan(services, clock)
    await StoreJobRepository(services.store).put(attrs.evolve(orphan, updated_at=clock.now()))
    assert await services.jobs.resume_abandoned() == 0


async def test_a_jobs_status_shows_its_runner_and_age() -> None:
    deployment = await deploy()
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        status = payload(await client.call_tool("bank_consolidation_status", {"job_id": deployment.job_id}))
    assert status["runner"]
    assert status["age_seconds"] >= 0
