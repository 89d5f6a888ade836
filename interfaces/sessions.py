"""At most ``SESSIONS_PER_TOKEN`` streamable HTTP sessions per token: opening one more
closes that token's least recently used session first, so one token can no longer fill
the server's session table and lock every other client out. Sessions idle longer than
``SESSION_IDLE_SECONDS`` are closed by the SDK itself.

The middleware learns a session's id from the ``Mcp-Session-Id`` header of the answer
that opened it (MCP specification, "Streamable HTTP: session management"), and closes
one by sending the SDK the DELETE a client would send, with the same token.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from domain import hash_secret

__all__ = ["SessionCap"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_HEADER = b"mcp-session-id"


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        authorization = _header(scope, b"authorization") or ""
        if scope["type"] != "http" or not scope.get("path", "").startswith("/mcp") or not authorization:
            await self._app(scope, receive, send)
            return
        owner = hash_secret(authorization.partition(" ")[2].strip())
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
            oldest = min(mine, key=lambda s: mine[s])
            del mine[oldest]
            await self._close(scope, authorization, oldest)

        async def remember(message: Any) -> None:
            if message["type"] == "http.response.start":
                for key, value in message.get("headers", []):
                    if key.lower() == _HEADER:
                        mine[value.decode("latin-1")] = time.monotonic()
            await send(message)

        await self._app(scope, receive, remember)

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
