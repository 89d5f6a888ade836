"""The answer to a request without a valid bearer token, before the MCP transports see
it: HTTP 401 with ``WWW-Authenticate: Bearer error="invalid_token",
error_description="..."`` (RFC 6750, section 3) saying which case it is: missing,
unknown, revoked or expired. live-mem has no OAuth authorization server, so it
advertises none: the SDK's protected-resource metadata routes are removed from the app,
and clients such as the MCP Inspector are not sent into an OAuth flow that cannot end.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from application.services import Services
from application.store import StoreError
from domain import AuthenticationFailed, Identity

__all__ = ["VERIFIED", "BearerGate"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

_GUARDED: Final = ("/mcp", "/sse", "/messages", "/api/")
AUTH_WAIT_SECONDS: Final = 10.0
"""The longest a request waits for the token store; past it the answer is 503."""

VERIFIED: contextvars.ContextVar[tuple[str, Identity] | None] = contextvars.ContextVar(
    "live_mem_verified_bearer", default=None
)
"""The bearer token the gate verified for the request under way, and its identity: the
SDK's token verifier, called further down the same request, reads it instead of asking
the token store a second time."""


class BearerGate:
    """ASGI middleware: checks the bearer token of requests to the MCP transports and
    the page's API with the same :class:`AuthService` as every tool; valid ones pass
    unchanged."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self._app = app
        self._services = services

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(_GUARDED) or scope.get("method") == "OPTIONS":
            await self._app(scope, receive, send)
            return
        secret = _bearer(scope)
        try:
            if secret is None:
                raise AuthenticationFailed("a bearer token is required (Authorization: Bearer lm_...)")
            async with asyncio.timeout(AUTH_WAIT_SECONDS):
                identity = await self._services.auth.authenticate(secret)
        except AuthenticationFailed as exc:
            await _refuse(send, 401, str(exc), challenge=True)
            return
        except (StoreError, TimeoutError):
            await _refuse(send, 503, "the token store is unavailable; try again later", challenge=False)
            return
        verified = VERIFIED.set((secret, identity))
        try:
            await self._app(scope, receive, send)
        finally:
            VERIFIED.reset(verified)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() or None if scheme.lower() == "bearer" else None
    return None


async def _refuse(send: Any, status: int, reason: str, *, challenge: bool) -> None:
    body = json.dumps({"error": "invalid_token" if challenge else "unavailable", "error_description": reason})
    headers = [(b"content-type", b"application/json")]
    if challenge:
        quoted = reason.replace("\\", "\\\\").replace('"', '\\"')
        headers.append(
            (b"www-authenticate", f'Bearer error="invalid_token", error_description="{quoted}"'.encode())
        )
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})
