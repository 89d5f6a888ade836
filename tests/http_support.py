"""An in-process live-mem HTTP server (hypercorn on 127.0.0.1, a free port) and MCP
clients for it over streamable HTTP and SSE."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from hypercorn.asyncio import serve
from mcp import Client
from mcp.client.sse import sse_client

from application.services import Services
from interfaces.http import HttpOptions, build_http_app
from interfaces.serve import hypercorn_config
from ops.server import free_port, mcp_client


@contextlib.asynccontextmanager
async def running_server(services: Services) -> AsyncIterator[str]:
    """Serve ``services`` on 127.0.0.1 and yield the base URL; stop on exit."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = build_http_app(services, HttpOptions(public_url=base))
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, hypercorn_config("127.0.0.1", port), shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    try:
        for _ in range(200):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
            else:
                writer.close()
                break
        yield base
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


def streamable_client(base: str, token: str | None) -> Client:
    """An SDK client over streamable HTTP with a bearer token."""
    return mcp_client(base, token)


def sse_mcp_client(base: str, token: str | None) -> Client:
    """An SDK client over the legacy SSE transport with a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(sse_client(f"{base}/sse", headers=headers))
