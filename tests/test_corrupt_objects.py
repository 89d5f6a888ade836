"""One corrupt object never breaks the others (review item 6): listings skip and report
it, job resumption goes on past it, a corrupt lease is taken over, and a token store that
cannot be read makes authentication answer 503, not 500."""

from __future__ import annotations

import asyncio

import attrs
import httpx
import pytest

from application.consolidation import JobState
from application.store import StoredObject, StoreUnavailable
from domain import Identity, SpaceId
from infrastructure.repositories.consolidation import JOBS_PREFIX, StoreJobRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import FakeClock, seed, services_over
from tests.http_support import running_server
from tests.mcp_support import BOOTSTRAP_KEY, OTHER, SPACE, Deployment, connect, deploy, error_text, payload
from tests.test_http import MCP_HEADERS, MCP_INITIALIZE


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
    job = await services.jobs.submit(admin, "proj")
    await services.jobs.drain()
    await services.store.put(f"{JOBS_PREFIX}broken.json", b"\\x00 not a job")
    await StoreJobRepository(services.store).put(attrs.evolve(job, job_id="0" * 16, state=JobState.RUNNING))
    clock.advance(3600)
    assert await services.jobs.resume_abandoned() == 1


async def test_a_corrupt_lease_is_taken_over_instead_of_blocking_the_space() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    await seed(services, clock)
    await services.store.put("proj/_lease.json", b"garbage")
    report = await services.jobs.service.consolidate(SpaceId("proj"), "after-corruption")
    assert report.notes_consumed == 10


async def test_a_corrupt_or_unreachable_token_store_answers_503_not_500() -> None:
    deployment = await deploy()
    services = deployment.services
    token = deployment.tokens["read"]
    headers = {"Authorization": f"Bearer {token}"}
    mcp_headers = {**MCP_HEADERS, **headers}
    answers = []
    async with running_server(services) as base, httpx.AsyncClient() as http:
        await services.store.put("_system/tokens.json", b"{not json")
        answers.append(await http.get(f"{base}/api/whoami", headers=headers))
        answers.append(await http.post(f"{base}/mcp", json=MCP_INITIALIZE, headers=mcp_headers))
        store = services.store
        original = store.get

        async def down(key: str) -> StoredObject:
            raise StoreUnavailable(f"GET {key}: connection refused")

        store.get = down  # type: ignore[method-assign]
        try:
            answers.append(await http.get(f"{base}/api/whoami", headers=headers))
        finally:
            store.get = original  # type: ignore[method-assign]
    for answer in answers:
        assert answer.status_code == 503, answer.text
        assert answer.json() == {
            "error": "unavailable",
            "error_description": "the token store is unavailable; try again later",
        }


async def _space_with_history(deployment_notes: int = 3) -> tuple[Deployment, Identity]:
    deployment = await deploy()
    admin = await deployment.services.auth.authenticate(BOOTSTRAP_KEY)
    for i in range(deployment_notes):
        await deployment.services.notes.write(admin, SPACE, "decision", f"note {i} about s3")
    await deployment.services.jobs.submit(admin, SPACE)
    await deployment.services.jobs.drain()
    return deployment, admin


_EVERY_READ: tuple[tuple[str, dict[str, object]], ...] = (
    ("space_list", {}),
    ("bank_stale_spaces", {"min_notes": 1, "min_age_days": 0}),
    ("admin_gc_notes", {}),
    ("live_read", {"space_id": SPACE}),
    ("live_search", {"space_id": SPACE, "query": "s3"}),
    ("memory_search", {"space_id": SPACE, "query": "s3"}),
    ("bank_history", {"space_id": SPACE}),
    ("backup_create", {"space_id": SPACE}),
    ("space_export", {"space_id": SPACE}),
)


async def test_a_corrupt_journal_is_skipped_and_the_space_still_works() -> None:
    """Second review, M5: one corrupt journal broke space_list for everyone and the
    space's history, backups and consolidation."""
    deployment, admin = await _space_with_history()
    journal = next(k for k in deployment.store._objects if "/_consolidations/" in k)
    await deployment.services.store.put(journal, b"\x00 not a journal")
    await deployment.services.notes.write(admin, SPACE, "decision", "after the corruption, s3")
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        for tool, args in _EVERY_READ:
            result = await client.call_tool(tool, args)
            assert not error_text(result), f"{tool}: {error_text(result)}"
    job = await deployment.services.jobs.submit(admin, SPACE)
    await deployment.services.jobs.drain()
    done = await deployment.services.jobs.status(admin, job.job_id)
    assert done.state is JobState.SUCCEEDED, done.error
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        left = payload(await client.call_tool("live_read", {"space_id": SPACE}))
    assert left["notes"] == []


async def test_a_corrupt_note_is_skipped_reported_and_kept_while_the_others_are_consolidated() -> None:
    deployment, admin = await _space_with_history(0)
    for i in range(3):
        await deployment.services.notes.write(admin, SPACE, "decision", f"fresh note {i} about s3")
    bad = sorted(k for k in deployment.store._objects if "/live/" in k)[1]
    await deployment.services.store.put(bad, b"\x00garbage{")
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        for tool, args in _EVERY_READ:
            result = await client.call_tool(tool, args)
            assert not error_text(result), f"{tool}: {error_text(result)}"
        listed = payload(await client.call_tool("live_read", {"space_id": SPACE}))
    assert len(listed["notes"]) == 2  # the two fresh notes that can be read
    job = await deployment.services.jobs.submit(admin, SPACE)
    await deployment.services.jobs.drain()
    done = await deployment.services.jobs.status(admin, job.job_id)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.report is not None
    assert done.report.notes_consumed == 2
    assert list(done.report.notes_unreadable) == [bad]
    assert deployment.store._objects[bad][0] == b"\x00garbage{"  # kept for an admin, not lost


async def test_health_says_degraded_while_a_corrupt_token_store_refuses_everyone() -> None:
    """Second review, L7."""
    deployment = await deploy()
    async with running_server(deployment.services) as base, httpx.AsyncClient() as http:
        healthy = await http.get(f"{base}/health")
        await deployment.services.store.put("_system/tokens.json", b"{not json")
        broken = await http.get(f"{base}/health")
    assert healthy.status_code == 200
    assert healthy.json()["tokens"] == "ok"
    assert broken.status_code == 503
    assert broken.json()["tokens"] == "unreadable"
    assert broken.json()["store"] == "ok"


async def test_a_token_store_that_never_answers_gets_503_not_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """Second review, L8: on a store that stopped answering, /api/whoami gave no answer
    within 60 s."""
    import interfaces.bearer

    monkeypatch.setattr(interfaces.bearer, "AUTH_WAIT_SECONDS", 0.5)
    deployment = await deploy()
    store = deployment.services.store
    original = store.get

    async def silent(key: str) -> StoredObject:
        await asyncio.sleep(3600)
        return await original(key)

    headers = {"Authorization": f"Bearer {deployment.tokens['read']}"}
    async with running_server(deployment.services) as base, httpx.AsyncClient(timeout=30) as http:
        store.get = silent  # type: ignore[method-assign]
        try:
            answer = await http.get(f"{base}/api/whoami", headers=headers)
        finally:
            store.get = original  # type: ignore[method-assign]
    assert answer.status_code == 503
    assert answer.json()["error"] == "unavailable"
