"""An in-process live-mem HTTP server (hypercorn on 127.0.0.1, a free port) and MCP
clients for it over streamable HTTP and SSE."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from mcp import Client
from mcp.client.sse import sse_client

from application.services import Services
from interfaces.http import HttpOptions, build_http_app
from ops.server import free_port, mcp_client, serve_in_process


@contextlib.asynccontextmanager
async def running_server(services: Services) -> AsyncIterator[str]:
    """Serve ``services`` on 127.0.0.1 and yield the base URL, which is also the
    server's public URL (archive links point there); stop on exit."""
    port = free_port()
    app = build_http_app(services, HttpOptions(public_url=f"http://127.0.0.1:{port}"))
    async with serve_in_process(app, port) as base:
        yield base


def streamable_client(base: str, token: str | None) -> Client:
    """An SDK client over streamable HTTP with a bearer token."""
    return mcp_client(base, token)


def sse_mcp_client(base: str, token: str | None) -> Client:
    """An SDK client over the legacy SSE transport with a bearer token."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client(sse_client(f"{base}/sse", headers=headers))
