"""Running ``live-mem serve`` as a child process and talking MCP to it (demo, benchmarks
and process-level tests). Servers bind 127.0.0.1 and are stopped by PID."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Final

import httpx2
from hypercorn.asyncio import serve
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from interfaces.serve import hypercorn_config

__all__ = ["call", "free_port", "mcp_client", "serve_in_process", "server_process", "wait_healthy"]


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


UNLIMITED: Final = {
    "RATE_LIMIT_NOTES": "1000000/minute",
    "RATE_LIMIT_READS": "1000000/minute",
    "RATE_LIMIT_ADMIN": "1000000/minute",
}
"""The demo and the benchmarks drive one server as fast as it goes, from a few tokens:
rate limits would measure themselves, so their servers run without them."""


@contextlib.contextmanager
def server_process(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start ``live-mem serve`` with ``env`` over the current environment, its output
    appended to ``log``; yield the process and its base URL; on exit stop it (SIGTERM,
    then SIGKILL after 10 s) if it still runs."""
    port = free_port()
    full = {**os.environ, **UNLIMITED, **env, "MCP_SERVER_PORT": str(port), "LIVE_MEM_HOST": "127.0.0.1"}
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "serve"], env=full, stdout=sink, stderr=sink
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
        process.wait()


async def wait_healthy(base: str, patience: float = 30.0) -> None:
    """Poll ``/health`` until it answers 200 (at most ``patience`` seconds).

    Raises:
        TimeoutError: it never did.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    async with httpx2.AsyncClient() as http:
        while True:
            with contextlib.suppress(httpx2.HTTPError):
                if (await http.get(f"{base}/health", timeout=2)).status_code == 200:
                    return
            if loop.time() > deadline:
                raise TimeoutError(f"{base} did not become healthy in {patience} s")
            await asyncio.sleep(0.2)


def mcp_client(base: str, token: str | None) -> Client:
    """An MCP client over streamable HTTP (``{base}/mcp``) with a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=300.0))
    return Client(streamable_http_client(f"{base}/mcp", http_client=http))


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    """Call a tool; return its structured answer.

    Raises:
        RuntimeError: the tool answered with an error (its text is the message).
    """
    result = await client.call_tool(tool, args)
    if result.is_error:
        raise RuntimeError(" ".join(getattr(c, "text", "") for c in result.content))
    return dict(result.structured_content or {})


@contextlib.asynccontextmanager
async def serve_in_process(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Serve an ASGI ``app`` with hypercorn in this event loop on 127.0.0.1 and ``port``
    (a free one when None); yield the base URL once the port accepts connections; stop
    on exit."""
    port = port or free_port()
    stop = asyncio.Event()
    config = hypercorn_config("127.0.0.1", port)
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        for _ in range(250):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
            else:
                writer.close()
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
