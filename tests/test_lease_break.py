"""An admin can break a space's lease whose holder died or hangs (review item 6), and a
consolidation whose lease was broken stops before it writes another batch: nothing it
committed is lost, nothing is consumed twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.consolidation.planners import PlannedBatch, PlanRequest
from domain import Conflict, SpaceId
from domain.consolidation import JournalState
from infrastructure.repositories.consolidation import StoreJournalRepository, StoreLeaseRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import FakeClock, SmallBatches, seed, services_over
from tests.mcp_support import BOOTSTRAP_KEY, SPACE, connect, deploy, payload


class BreakingPlanner(SmallBatches):
    """Small batches; while planning the second one, ``interrupt`` runs (an admin
    breaking the lease of a run that seems stuck)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.interrupt: Callable[[], Awaitable[Any]] | None = None

    async def plan(self, request: PlanRequest) -> PlannedBatch:
        self.calls += 1
        if self.calls == 2 and self.interrupt is not None:
            await self.interrupt()
        return await super().plan(request)


async def test_a_run_whose_lease_is_broken_stops_before_its_next_batch() -> None:
    clock, planner = FakeClock(), BreakingPlanner()
    services = services_over(MemoryObjectStore(), clock, planner)
    admin = await seed(services, clock)
    planner.interrupt = lambda: services.supervision.lease(admin, "proj", break_it=True)
    with pytest.raises(Conflict, match="taken over; this run stops"):
        await services.jobs.service.consolidate(SpaceId("proj"), "run-one")
    journals = await StoreJournalRepository(services.store).list(SpaceId("proj"))
    assert [(j.state, len(j.consumed)) for j in journals] == [(JournalState.COMMITTED, 4)]
    live = (await services.notes.read(admin, "proj", limit=100)).total_matching
    assert live == 6  # the second batch wrote nothing: its notes wait for the next run
    planner.interrupt = None
    report = await services.jobs.service.consolidate(SpaceId("proj"), "run-two")
    assert report.notes_consumed == 6
    journals = await StoreJournalRepository(services.store).list(SpaceId("proj"))
    consumed = [c.note_id for j in journals for c in j.consumed]
    assert len(consumed) == len(set(consumed)) == 10
    assert all(j.state is JournalState.COMMITTED for j in journals)


async def test_admin_break_lease_shows_then_breaks_a_dead_holders_lease() -> None:
    deployment = await deploy()
    leases = StoreLeaseRepository(deployment.services.store)
    now = datetime.now(UTC)
    await leases.acquire(SpaceId(SPACE), "job-of-a-dead-server", now + timedelta(minutes=10), now)
    async with connect(deployment.services, BOOTSTRAP_KEY) as admin:
        refused = await deployment.services.jobs.submit(
            await deployment.services.auth.authenticate(BOOTSTRAP_KEY), SPACE
        )
        await deployment.services.jobs.drain()
        blocked = payload(await admin.call_tool("bank_consolidation_status", {"job_id": refused.job_id}))
        shown = payload(await admin.call_tool("admin_break_lease", {"space_id": SPACE}))
        still = await leases.current(SpaceId(SPACE))
        broken = payload(await admin.call_tool("admin_break_lease", {"space_id": SPACE, "confirm": True}))
        free = payload(await admin.call_tool("admin_break_lease", {"space_id": SPACE}))
        job = payload(await admin.call_tool("bank_consolidate", {"space_id": SPACE}))
        await deployment.services.jobs.drain()
        done = payload(await admin.call_tool("bank_consolidation_status", {"job_id": job["job_id"]}))
        audit = payload(await admin.call_tool("admin_audit_log", {"space_id": SPACE}))
    assert blocked["state"] == "failed"
    assert "already running" in blocked["error"]
    assert (shown["state"], shown["holder"], shown["broken"]) == ("held", "job-of-a-dead-server", False)
    assert still is not None  # showing changed nothing
    assert (broken["state"], broken["broken"]) == ("held", True)
    assert free["state"] == "free"
    assert done["state"] == "succeeded"
    assert ("admin_break_lease", "ok") in {(r["action"], r["outcome"]) for r in audit["records"]}
