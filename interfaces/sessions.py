"""Bounds on the sessions one token holds, so one token can no longer fill the server's
session table or its file descriptors and lock every other client out.

Streamable HTTP (``/mcp``): at most ``SESSIONS_PER_TOKEN`` sessions per token; opening
one more closes that token's least recently used session first. A session being opened
holds its place from the request on, so concurrent opens cannot overshoot the bound.
Sessions idle longer than ``SESSION_IDLE_SECONDS`` are closed by the SDK itself. The
middleware learns a session's id from the ``Mcp-Session-Id`` header of the answer that
opened it (MCP specification, "Streamable HTTP: session management"), and closes one by
sending the SDK the DELETE a client would send, with the same token.

Legacy SSE (``/sse``): a session lives as long as its ``GET /sse`` stream. At most
``SESSIONS_PER_TOKEN`` streams per token and ``SSE_MAX_SESSIONS`` in all; the last
quarter of those is kept for tokens that hold no stream yet. A stream past a bound is
refused with 429 and ``Retry-After`` before it opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from domain import hash_secret
from interfaces.edge.errors import error_body

__all__ = ["SessionCap", "SseStreamCap", "StreamsStop"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HEADER = b"mcp-session-id"
_OPENING: Final = "opening:"  # the prefix of a place held by a session being opened
_RETRY_SECONDS: Final = 30


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


class SessionCap:
    """ASGI middleware in front of ``/mcp`` (module docstring).

    Args:
        app: the app that serves ``/mcp``.
        per_token: sessions one token may hold open.
        idle_seconds: after this long unused a session is gone anyway (the SDK's idle
            timeout); its record here is dropped too.
    """

    def __init__(self, app: ASGIApp, *, per_token: int, idle_seconds: float) -> None:
        self._app = app
        self._per_token = per_token
        self._idle = idle_seconds
        self._sessions: dict[str, dict[str, float]] = {}
        self._counter = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = _header(scope, b"authorization") or ""
        if scope["type"] != "http" or not scope.get("path", "").startswith("/mcp") or not authorization:
            await self._app(scope, receive, send)
            return
        owner = _owner(authorization)
        mine = self._sessions.setdefault(owner, {})
        now = time.monotonic()
        for stale in [s for s, used in mine.items() if now - used > self._idle]:
            del mine[stale]
        session = _header(scope, _HEADER)
        if session is not None:
            if scope.get("method") == "DELETE":
                mine.pop(session, None)
            elif session in mine:
                mine[session] = now
            await self._app(scope, receive, send)
            return
        while len(mine) >= self._per_token:
            opened = [s for s in mine if not s.startswith(_OPENING)]
            if not opened:  # every place is held by an open in flight
                await _refuse(send, f"{len(mine)} sessions of this token are being opened at once")
                return
            oldest = min(opened, key=lambda s: mine[s])
            del mine[oldest]
            await self._close(scope, authorization, oldest)
        place = f"{_OPENING}{next(self._counter)}"
        mine[place] = now

        async def remember(message: Any) -> None:
            if message["type"] == "http.response.start":
                for key, value in message.get("headers", []):
                    if key.lower() == _HEADER:
                        mine[value.decode("latin-1")] = time.monotonic()
            await send(message)

        try:
            await self._app(scope, receive, remember)
        finally:
            mine.pop(place, None)

    async def _close(self, scope: Scope, authorization: str, session: str) -> None:
        """Send the SDK a client's DELETE for ``session``; the answer is discarded."""
        headers = [
            (b"authorization", authorization.encode("latin-1")),
            (_HEADER, session.encode("latin-1")),
            (b"host", (_header(scope, b"host") or "127.0.0.1").encode("latin-1")),
        ]
        delete = {**scope, "method": "DELETE", "headers": headers, "query_string": b""}

        async def nothing() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(_: Any) -> None:
            return None

        await self._app(delete, nothing, discard)


def _owner(authorization: str) -> str:
    """Whose sessions a request counts against: its bearer token's hash (not the
    token's name, which another token may share)."""
    return hash_secret(authorization.partition(" ")[2].strip())


async def _refuse(send: Send, message: str) -> None:
    """Answer 429 with the error body of every refusal and a ``Retry-After``."""
    body = json.dumps(error_body("RateLimited", f"{message}; retry after {_RETRY_SECONDS} s")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(_RETRY_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SseStreamCap:
    """ASGI middleware in front of ``GET /sse`` (module docstring).

    Args:
        app: the app that serves ``/sse``.
        per_token: streams one token may hold open.
        total: streams the server holds open for every token together.
    """

    def __init__(self, app: ASGIApp, *, per_token: int, total: int) -> None:
        self._app = app
        self._per_token = per_token
        self._total = max(1, total)
        self._reserved = self._total // 4
        self._streams: dict[str, int] = {}

    @property
    def open_streams(self) -> int:
        """How many SSE streams are open now."""
        return sum(self._streams.values())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = _header(scope, b"authorization") or ""
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or scope.get("path", "").rstrip("/") != "/sse"
            or not authorization
        ):
            await self._app(scope, receive, send)
            return
        owner = _owner(authorization)
        mine, everyone = self._streams.get(owner, 0), self.open_streams
        if mine >= self._per_token:
            await _refuse(send, f"this token holds {mine} SSE sessions (SESSIONS_PER_TOKEN)")
            return
        if everyone >= self._total or (mine and everyone >= self._total - self._reserved):
            await _refuse(send, f"the server holds {everyone} SSE sessions (SSE_MAX_SESSIONS)")
            return
        self._streams[owner] = mine + 1
        try:
            await self._app(scope, receive, send)
        finally:
            left = self._streams.get(owner, 1) - 1
            if left > 0:
                self._streams[owner] = left
            else:
                self._streams.pop(owner, None)


class StreamsStop:
    """ASGI middleware ending the long-lived streams (``GET /sse``, ``GET /mcp``, the
    page's ``.../events``) when the server stops: each runs as a task that is cancelled
    once ``stopping`` is set, so that the server's graceful shutdown does not wait its
    whole timeout for streams that never end, nor print their cancellation.

    Args:
        app: the app.
        stopping: set when the server begins to stop.
    """

    def __init__(self, app: ASGIApp, *, stopping: asyncio.Event) -> None:
        self._app = app
        self._stopping = stopping

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        streaming = (
            scope["type"] == "http"
            and scope.get("method") == "GET"
            and (path.rstrip("/") in ("/sse", "/mcp") or path.endswith("/events"))
        )
        if not streaming:
            await self._app(scope, receive, send)
            return
        served = asyncio.ensure_future(self._app(scope, receive, send))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({served, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not served.done():
                served.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await served
