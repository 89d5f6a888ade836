"""Per-token rate limits by tool family, and one consolidation job per space at a time
(review item 8)."""

from __future__ import annotations

import pytest

from domain import NotFound
from interfaces.mcp import build_mcp_server
from interfaces.metrics import Metrics
from interfaces.ratelimit import ToolRateLimiter, family
from tests.mcp_support import BOOTSTRAP_KEY, SPACE, deploy, error_text


async def test_a_token_over_its_family_limit_is_told_when_to_retry_and_others_are_not() -> None:
    from mcp import Client

    d = await deploy()
    limiter = ToolRateLimiter({"notes": "3/minute"})
    server = build_mcp_server(d.services, Metrics(), local_token=d.tokens["write"], limiter=limiter)
    async with Client(server) as client:
        answers = [
            await client.call_tool("live_note", {"space_id": SPACE, "category": "todo", "content": f"n{i}"})
            for i in range(4)
        ]
        read = await client.call_tool("live_read", {"space_id": SPACE})
    assert [error_text(a) for a in answers[:3]] == ["", "", ""]
    refused = error_text(answers[3])
    assert "RateLimited: too many notes calls for this token" in refused
    assert "retry after" in refused
    assert error_text(read) == ""  # reads are another family
    other = build_mcp_server(d.services, Metrics(), local_token=d.tokens["manage"], limiter=limiter)
    async with Client(other) as client:
        note = await client.call_tool("live_note", {"space_id": SPACE, "category": "todo", "content": "x"})
    assert error_text(note) == ""  # another token has its own count


def test_families() -> None:
    assert [family(t) for t in ("live_note", "bank_consolidate", "backup_download", "admin_list_tokens")] == [
        "notes",
        "consolidate",
        "export",
        "admin",
    ]
    assert family("memory_search") == "reads"
    with pytest.raises(ValueError, match=r"."):
        ToolRateLimiter({"notes": "lots"})


async def test_a_second_consolidate_request_joins_the_queued_job() -> None:
    d = await deploy()
    admin = await d.services.auth.authenticate(BOOTSTRAP_KEY)
    first = await d.services.jobs.submit(admin, SPACE)
    second = await d.services.jobs.submit(admin, SPACE)
    await d.services.jobs.drain()
    assert second.job_id == first.job_id


async def test_finished_job_records_expire_after_the_retention() -> None:
    from datetime import timedelta

    from infrastructure.repositories.consolidation import StoreJobRepository
    from infrastructure.stores import MemoryObjectStore
    from tests.consolidation_support import FakeClock, seed, services_over

    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    old = await services.jobs.submit(admin, "proj")
    await services.jobs.drain()
    clock.advance(timedelta(days=8).total_seconds())
    await services.notes.write(admin, "proj", "todo", "one more")
    recent = await services.jobs.submit(admin, "proj")
    await services.jobs.drain()
    await services.jobs.resume_abandoned()
    jobs = StoreJobRepository(services.store)
    assert (await jobs.get(recent.job_id)).state.value == "succeeded"
    with pytest.raises(NotFound):
        await jobs.get(old.job_id)


async def test_every_tool_is_authenticated_and_rate_limited_before_it_runs() -> None:
    """Each tool's wrapper, not its body, authenticates the caller and counts the call
    in its family: with one call a minute per family, the first tool of each family
    runs and every later one is refused RateLimited whatever it is (no tool can skip
    the limit); an unknown token is refused on every tool."""
    from mcp import Client

    from interfaces.mcp.catalog import TOOLS

    d = await deploy()
    one = dict.fromkeys(("notes", "reads", "consolidate", "export", "admin"), "1/minute")
    server = build_mcp_server(d.services, Metrics(), local_token=BOOTSTRAP_KEY, limiter=ToolRateLimiter(one))
    stranger = build_mcp_server(d.services, Metrics(), local_token="lm_" + "0" * 40)
    samples = {"string": "x", "integer": 1, "boolean": False}
    seen: set[str] = set()
    async with Client(server) as client, Client(stranger) as outsider:
        for tool in (await client.list_tools()).tools:
            schema = tool.input_schema
            args = {
                name: samples.get(prop.get("type", "string"), "x")
                for name, prop in schema.get("properties", {}).items()
                if name in schema.get("required", [])
            }
            limited = "RateLimited" in error_text(await client.call_tool(tool.name, args))
            assert limited == (family(tool.name) in seen), tool.name
            seen.add(family(tool.name))
            refused = error_text(await outsider.call_tool(tool.name, args))
            assert refused.startswith("AuthenticationFailed"), tool.name
    assert len(seen) == 5
    assert {t.name for t in TOOLS} == {t.name for t in await server.list_tools()}
