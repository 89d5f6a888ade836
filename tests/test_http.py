"""The HTTP app over a real socket: streamable HTTP and SSE with bearer tokens, health,
metrics, and 50 agents writing at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx2
import pytest
from structlog.testing import capture_logs

from application.services import Services
from domain import AlreadyExists, Identity, InvalidInput, Note
from tests.http_support import running_server, sse_mcp_client, streamable_client
from tests.mcp_support import BOOTSTRAP_KEY, SPACE, deploy, payload


@pytest.mark.parametrize("transport", ["streamable", "sse"])
async def test_tools_over_http_with_a_bearer_token(transport: str) -> None:
    deployment = await deploy()
    make = streamable_client if transport == "streamable" else sse_mcp_client
    async with running_server(deployment.services) as base, make(base, deployment.tokens["write"]) as client:
        me = payload(await client.call_tool("system_whoami", {}))
        written = payload(
            await client.call_tool(
                "live_note", {"space_id": SPACE, "category": "insight", "content": f"over {transport}"}
            )
        )
        read = payload(await client.call_tool("live_read", {"space_id": SPACE, "limit": 1}))
    assert me["name"] == "write-agent"
    assert written["agent"] == "write-agent"
    assert read["notes"][0]["content"] == f"over {transport}"


MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
MCP_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}
"""A raw MCP initialize request (streamable HTTP, JSON-RPC 2.0), for session tests."""
MCP_TOOLS_LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}


async def test_requests_without_a_valid_token_get_401_saying_why_and_no_oauth_is_advertised() -> None:
    deployment = await deploy()
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    accept = {"Accept": "application/json, text/event-stream"}
    cases = {
        "missing": None,
        "unknown": "lm_nope",
        "revoked": deployment.tokens["revoked"],
        "expired": deployment.tokens["expired"],
    }
    async with running_server(deployment.services) as base, httpx2.AsyncClient() as http:
        answers = {}
        for case, token in cases.items():
            headers = accept if token is None else {**accept, "Authorization": f"Bearer {token}"}
            answers[case] = await http.post(f"{base}/mcp", json=body, headers=headers)
        sse = await http.get(f"{base}/sse", headers={"Authorization": "Bearer lm_nope"})
        metadata = await http.get(f"{base}/.well-known/oauth-protected-resource/mcp")
        metadata_root = await http.get(f"{base}/.well-known/oauth-protected-resource")
    for case, answer in answers.items():
        assert answer.status_code == 401, case
        challenge = answer.headers["www-authenticate"]
        assert challenge.startswith('Bearer error="invalid_token", error_description="'), case
        assert case in challenge or (case == "missing" and "required" in challenge), challenge
        assert "resource_metadata" not in challenge
    assert sse.status_code == 401
    assert (metadata.status_code, metadata_root.status_code) == (404, 404)


async def test_health_and_metrics() -> None:
    deployment = await deploy()
    async with running_server(deployment.services) as base:
        async with streamable_client(base, BOOTSTRAP_KEY) as client:
            await client.call_tool("space_list", {})
        async with httpx2.AsyncClient() as http:
            health = await http.get(f"{base}/health")
            metrics = await http.get(f"{base}/metrics")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert 'livemem_tool_calls_total{outcome="ok",tool="space_list"} 1.0' in metrics.text


async def test_fifty_agents_writing_forty_notes_each_lose_nothing() -> None:
    deployment = await deploy()
    services = deployment.services
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    agents = [
        (await services.auth.create(admin, f"agent-{i:02d}", "write", [SPACE])).secret for i in range(50)
    ]
    before = (await services.notes.read(admin, SPACE, limit=200)).total_matching

    async def agent(index: int, token: str, client_base: str) -> None:
        async with streamable_client(client_base, token) as client:
            for n in range(40):
                payload(
                    await client.call_tool(
                        "live_note",
                        {"space_id": SPACE, "category": "progress", "content": f"agent {index} note {n}"},
                    )
                )

    async with running_server(services) as base:
        await asyncio.gather(*(agent(i, t, base) for i, t in enumerate(agents)))
    notes = [n async for n in _all_notes(services, admin)]
    written = {n.content for n in notes if n.agent.value.startswith("agent-")}
    assert len(notes) - before == 2000
    assert written == {f"agent {i} note {n}" for i in range(50) for n in range(40)}


async def _all_notes(services: Services, admin: Identity) -> AsyncIterator[Note]:
    cursor = None
    while True:
        page = await services.notes.read(admin, SPACE, limit=200, cursor=cursor)
        for note in page.notes:
            yield note
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def test_health_answers_503_without_details_when_the_store_is_down() -> None:
    from application.store import StoreAccessDenied
    from infrastructure.stores import MemoryObjectStore
    from interfaces.bootstrap import build_services

    class DownStore(MemoryObjectStore):
        async def ping(self) -> None:
            raise StoreAccessDenied("HEAD bucket 'secret-bucket-name': refused")

    services = build_services(DownStore(), bootstrap_key=None, store_kind="memory")
    async with running_server(services) as base, httpx2.AsyncClient() as http:
        health = await http.get(f"{base}/health")
    assert health.status_code == 503
    assert health.json()["store"] == "unavailable"
    assert "secret-bucket-name" not in health.text


async def test_a_failed_consolidation_is_logged_with_its_job_and_counted_by_outcome() -> None:
    from domain import SpaceId
    from infrastructure.repositories.consolidation import StoreLeaseRepository

    deployment = await deploy()
    services = deployment.services
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    now = services.jobs._clock.now()
    await StoreLeaseRepository(services.store).acquire(
        SpaceId(SPACE), "someone-else", now.replace(year=2999), now
    )
    async with running_server(services) as base:
        with capture_logs() as logs:
            job = await services.jobs.submit(admin, SPACE)
            await services.jobs.drain()
        async with httpx2.AsyncClient() as http:
            metrics = await http.get(f"{base}/metrics")
    [failed] = [e for e in logs if e["event"] == "consolidation_failed"]
    assert failed["log_level"] == "warning"
    assert failed["job_id"] == job.job_id
    assert failed["error"].startswith("Conflict:")
    assert 'livemem_consolidation_jobs_total{outcome="failed"} 1.0' in metrics.text


async def test_a_session_belongs_to_its_token_not_to_the_name_it_shares() -> None:
    import attrs

    from domain import hash_secret
    from infrastructure.repositories import StoreTokenRepository

    deployment = await deploy()
    services = deployment.services
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    with pytest.raises(AlreadyExists):
        await services.auth.create(admin, "write-agent", "read", [SPACE])
    with pytest.raises(InvalidInput, match="reserved"):
        await services.auth.create(admin, "bootstrap-admin", "admin", ["*"])
    # A store written before names were unique may hold two tokens with one name.
    twin_secret = "lm_twin-secret-for-tests-0000000000000000000"
    [original] = [r for r in await services.auth.list(admin) if r.name.value == "write-agent"]
    twin = attrs.evolve(original, token_id="f" * 16, token_hash=hash_secret(twin_secret))
    await StoreTokenRepository(services.store).update(lambda records: [*records, twin])
    headers, init, listing = MCP_HEADERS, MCP_INITIALIZE, MCP_TOOLS_LIST
    async with running_server(services) as base, httpx2.AsyncClient() as http:
        opened = await http.post(
            f"{base}/mcp",
            json=init,
            headers={**headers, "Authorization": f"Bearer {deployment.tokens['write']}"},
        )
        session = opened.headers["mcp-session-id"]
        intruder = await http.post(
            f"{base}/mcp",
            json=listing,
            headers={**headers, "Authorization": f"Bearer {twin_secret}", "Mcp-Session-Id": session},
        )
        deleted = await http.delete(
            f"{base}/mcp", headers={"Authorization": f"Bearer {twin_secret}", "Mcp-Session-Id": session}
        )
    assert opened.status_code == 200
    assert (intruder.status_code, deleted.status_code) == (404, 404)


async def test_health_gives_up_on_a_silent_store_after_its_timeout() -> None:
    from infrastructure.settings import Settings
    from infrastructure.stores import MemoryObjectStore
    from interfaces.bootstrap import build_services

    class SilentStore(MemoryObjectStore):
        async def ping(self) -> None:
            await asyncio.sleep(3600)

    services = build_services(
        SilentStore(), bootstrap_key=BOOTSTRAP_KEY, store_kind="silent", settings=Settings(health_timeout=0.2)
    )
    report = await services.system.health()
    assert report.ok is False
    assert report.store == "the store did not answer within 0.2 s"


async def test_a_token_holds_a_bounded_number_of_sessions_its_oldest_closed_first() -> None:
    from interfaces.http import HttpOptions, build_http_app
    from ops.server import serve_in_process

    deployment = await deploy()
    app = build_http_app(deployment.services, HttpOptions(sessions_per_token=2))
    headers, init, listing = MCP_HEADERS, MCP_INITIALIZE, MCP_TOOLS_LIST

    def auth(token: str, session: str | None = None) -> dict[str, str]:
        extra = {"Mcp-Session-Id": session} if session else {}
        return {**headers, "Authorization": f"Bearer {token}", **extra}

    writer, reader = str(deployment.tokens["write"]), str(deployment.tokens["read"])
    async with serve_in_process(app) as base, httpx2.AsyncClient() as http:
        other = (await http.post(f"{base}/mcp", json=init, headers=auth(reader))).headers["mcp-session-id"]
        sessions = []
        for _ in range(3):
            opened = await http.post(f"{base}/mcp", json=init, headers=auth(writer))
            sessions.append(opened.headers["mcp-session-id"])
        answers = [
            (await http.post(f"{base}/mcp", json=listing, headers=auth(writer, s))).status_code
            for s in sessions
        ]
        others = (await http.post(f"{base}/mcp", json=listing, headers=auth(reader, other))).status_code
    assert answers == [404, 200, 200]  # the first, least recently used, was closed
    assert others == 200


@pytest.mark.parametrize("transport", ["streamable", "sse"])
async def test_tools_list_over_http_is_the_tokens_own(transport: str) -> None:
    from interfaces.mcp.catalog import TOOL_PERMISSIONS

    deployment = await deploy()
    make = streamable_client if transport == "streamable" else sse_mcp_client
    async with running_server(deployment.services) as base:
        async with make(base, deployment.tokens["read"]) as reader:
            offered = {t.name for t in (await reader.list_tools()).tools}
        async with make(base, BOOTSTRAP_KEY) as admin:
            everything = {t.name for t in (await admin.list_tools()).tools}
    assert offered == {name for name, needed in TOOL_PERMISSIONS.items() if needed.label == "read"}
    assert everything == set(TOOL_PERMISSIONS)
