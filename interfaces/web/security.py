"""Headers and checks for the page, its API and archive links (``/ui``, ``/api/``,
``/downloads/``): the ``Host`` and
``Origin`` checks of ``/mcp`` (the MCP SDK's DNS-rebinding protection, same settings;
a POST must also send ``Content-Type: application/json``), and on every answer a strict
Content-Security-Policy (no inline script or style, nothing from another origin, no
framing), ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request

__all__ = ["CONTENT_SECURITY_POLICY", "PageSecurity"]

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_HEADERS: Final = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_PAGE_PATHS: Final = ("/ui", "/api/", "/downloads/")


class PageSecurity:
    """ASGI middleware for the page's paths (module docstring); other paths pass."""

    def __init__(self, app: ASGIApp, settings: TransportSecuritySettings) -> None:
        self._app = app
        self._check = TransportSecurityMiddleware(settings)

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(_PAGE_PATHS):
            await self._app(scope, receive, send)
            return
        refused = await self._check.validate_request(Request(scope), is_post=scope.get("method") == "POST")
        if refused is not None:
            refused.headers.update({k.decode(): v.decode() for k, v in _HEADERS})
            await refused(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in _HEADERS if h[0] not in present),
                ]
            await send(message)

        await self._app(scope, receive, send_with_headers)
