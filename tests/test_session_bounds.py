"""Bounds on the sessions a token holds (second review, H2 and M3): legacy SSE streams
are capped per token and in all with a share kept for other tokens; concurrent opens of
streamable HTTP sessions cannot beat the per-token cap; /health sees file descriptors
running out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from interfaces.http import HttpOptions, build_http_app, open_files
from ops.server import serve_in_process
from tests.mcp_support import deploy
from tests.test_http import MCP_HEADERS, MCP_INITIALIZE, MCP_TOOLS_LIST

pytestmark = pytest.mark.slow


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def _streams(http: httpx.AsyncClient, url: str, token: str, count: int) -> AsyncIterator[list[int]]:
    """Open ``count`` SSE streams with ``token`` one after the other; yield their status
    codes while those that opened stay open."""
    async with contextlib.AsyncExitStack() as stack:
        codes = []
        for _ in range(count):
            answer = await stack.enter_async_context(http.stream("GET", url, headers=_auth(token)))
            codes.append(answer.status_code)
            if answer.status_code == 429:
                await answer.aread()
                assert answer.json()["error"] == "RateLimited"
                assert int(answer.headers["retry-after"]) > 0
        yield codes


async def test_sse_sessions_are_capped_per_token_and_other_tokens_still_get_in() -> None:
    deployment = await deploy()
    app = build_http_app(deployment.services, HttpOptions(sessions_per_token=2))
    reader, writer = str(deployment.tokens["read"]), str(deployment.tokens["write"])
    async with serve_in_process(app) as base, httpx.AsyncClient(timeout=10) as http:
        async with (
            _streams(http, f"{base}/sse", reader, 3) as mine,
            _streams(http, f"{base}/sse", writer, 1) as others,
        ):
            assert mine == [200, 200, 429]
            assert others == [200]
        async with _streams(http, f"{base}/sse", reader, 2) as again:
            assert again == [200, 200]  # closed streams gave their places back


async def test_sse_sessions_are_bounded_in_all_and_a_share_is_kept_for_other_tokens() -> None:
    deployment = await deploy()
    app = build_http_app(deployment.services, HttpOptions(sessions_per_token=10, sse_max_sessions=4))
    read, write, manage = (str(deployment.tokens[r]) for r in ("read", "write", "manage"))
    async with (
        serve_in_process(app) as base,
        httpx.AsyncClient(timeout=10) as http,
        _streams(http, f"{base}/sse", read, 4) as greedy,
        _streams(http, f"{base}/sse", write, 2) as newcomer,
        _streams(http, f"{base}/sse", manage, 1) as late,
    ):
        assert greedy == [200, 200, 200, 429]  # the last quarter is not its
        assert newcomer == [200, 429]  # one from the kept share, then the total
        assert late == [429]


async def test_concurrent_opens_cannot_beat_the_per_token_session_cap() -> None:
    deployment = await deploy()
    app = build_http_app(deployment.services, HttpOptions(sessions_per_token=2))
    headers = {**MCP_HEADERS, **_auth(str(deployment.tokens["write"]))}
    async with serve_in_process(app) as base, httpx.AsyncClient(timeout=30) as http:
        opened = await asyncio.gather(
            *(http.post(f"{base}/mcp", json=MCP_INITIALIZE, headers=headers) for _ in range(24))
        )
        assert {a.status_code for a in opened} <= {200, 429}
        ids = [a.headers["mcp-session-id"] for a in opened if a.status_code == 200]
        live = [
            s
            for s in ids
            if (
                await http.post(f"{base}/mcp", json=MCP_TOOLS_LIST, headers={**headers, "Mcp-Session-Id": s})
            ).status_code
            == 200
        ]
    assert ids
    assert len(live) <= 2


async def test_health_answers_503_when_file_descriptors_run_out() -> None:
    deployment = await deploy()
    app = build_http_app(deployment.services, HttpOptions())
    async with serve_in_process(app) as base, httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(f"{base}/health")).status_code == 200
        files = open_files()
        assert files is not None
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        held: list[int] = []
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (files[0] + 36, hard))
            held = [os.open(os.devnull, os.O_RDONLY) for _ in range(33)]
            exhausted = await http.get(f"{base}/health")
        finally:
            for fd in held:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        recovered = await http.get(f"{base}/health")
    assert exhausted.status_code == 503
    assert exhausted.json()["files"] == "exhausted"
    assert recovered.status_code == 200
    assert recovered.json()["files"] == "ok"


async def test_ctrl_c_with_streams_open_stops_quietly(tmp_path: Path) -> None:
    """First hour, item 6: with a page or SSE client open, stopping waited for the
    graceful timeout and printed a CancelledError traceback."""
    from ops.server import server_process, wait_healthy
    from tests.mcp_support import BOOTSTRAP_KEY

    env = {"LIVE_MEM_DATA_DIR": str(tmp_path / "data"), "ADMIN_BOOTSTRAP_KEY": BOOTSTRAP_KEY}
    log = tmp_path / "server.log"
    headers = _auth(BOOTSTRAP_KEY)
    with server_process(env, log) as (process, base):
        await wait_healthy(base)
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            await http.post("/api/spaces", json={"space_id": "alpha"}, headers=headers)
            async with (
                http.stream("GET", "/sse", headers=headers) as sse,
                http.stream("GET", "/api/spaces/alpha/events", headers=headers) as page,
            ):
                assert (sse.status_code, page.status_code) == (200, 200)
                os.kill(process.pid, signal.SIGINT)
                code = await asyncio.get_running_loop().run_in_executor(None, process.wait, 60)
    assert code == 0
    printed = log.read_text()
    assert "Traceback" not in printed
    assert "CancelledError" not in printed
