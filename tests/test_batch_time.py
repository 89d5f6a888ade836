"""CONSOLIDATION_TIMEOUT bounds a batch, not a whole job (issue 'abstractive consolidation
that cannot lie', item 6: one call took 13-447 s on a loaded machine and the 600 s limit
covered the whole job, so a large run on a slow model could not finish), and a running
job shows its progress batch by batch. A planner that sleeps stands in for a slow model."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from application.consolidation import JobRecord
from application.consolidation.planners import PlannedBatch, PlanRequest
from application.services import Services
from application.store import StoredObject
from infrastructure.settings import Settings
from infrastructure.stores import MemoryObjectStore
from interfaces.bootstrap import build_services
from tests.consolidation_support import KEY, NOTES, FakeClock, SmallBatches, seed

SPACE = "proj"


class SlowBatches(SmallBatches):
    """Four notes a batch; the n-th plan takes ``delays[n]`` seconds (the last repeats)."""

    def __init__(self, delays: list[float]) -> None:
        super().__init__()
        self.delays = delays
        self.calls = 0

    async def plan(self, request: PlanRequest) -> PlannedBatch:
        delay = self.delays[min(self.calls, len(self.delays) - 1)]
        self.calls += 1
        await asyncio.sleep(delay)
        return await super().plan(request)


class RecordingStore(MemoryObjectStore):
    """Keeps every version of the job records written."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[dict[str, Any]] = []

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> str:
        if key.startswith("_system/jobs/"):
            self.jobs.append(json.loads(data))
        return await super().put(key, data, content_type=content_type)

    async def get(self, key: str) -> StoredObject:
        return await super().get(key)


async def _run(planner: SlowBatches, seconds: float) -> tuple[Services, JobRecord, RecordingStore]:
    store = RecordingStore()
    clock = FakeClock()
    services = build_services(
        store,
        bootstrap_key=KEY,
        store_kind="test",
        planner=planner,
        clock=clock,
        settings=Settings(consolidation_timeout=seconds),
    )
    admin = await seed(services, clock)
    job = await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    return services, await services.jobs.status(admin, job.job_id), store


async def test_a_job_longer_than_the_timeout_finishes_when_each_batch_is_within_it() -> None:
    planner = SlowBatches([0.6])
    _, done, _ = await _run(planner, seconds=1.0)
    assert planner.calls == 3  # three batches: 1.8 s in all, each 0.6 s
    assert done.state.value == "succeeded", done.error
    assert done.report is not None
    assert done.report.notes_consumed == len(NOTES)


async def test_a_batch_over_the_timeout_fails_alone_and_the_batches_before_it_stay() -> None:
    planner = SlowBatches([0.05, 2.0])
    services, done, _ = await _run(planner, seconds=0.5)
    assert done.state.value == "failed"
    assert "a batch took more than 0.5 s" in (done.error or "")
    assert "CONSOLIDATION_TIMEOUT, per batch" in (done.error or "")
    assert done.report is not None
    assert done.report.batches == 1
    assert done.report.notes_consumed == 4
    admin = await services.auth.authenticate(KEY)
    assert (await services.notes.read(admin, SPACE)).total_matching == len(NOTES) - 4


async def test_a_running_job_shows_its_report_after_each_batch() -> None:
    _, done, store = await _run(SlowBatches([0.0]), seconds=10.0)
    assert done.state.value == "succeeded", done.error
    running = [j["report"]["batches"] for j in store.jobs if j["state"] == "running" and j["report"]]
    assert running[:2] == [1, 2]  # the progress, batch by batch, before the end
