"""The ASGI application: MCP over streamable HTTP (``/mcp``) and legacy SSE (``/sse``,
``/messages/``), the web page (``/ui``) and its JSON API (``/api/``), archive links
(``/downloads/``), ``/health`` and ``/metrics``; bearer tokens verified by the SDK's
middleware through :class:`BearerTokenVerifier`."""

from __future__ import annotations

import asyncio
import os
import resource

import attrs
import structlog
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from application.services import Services
from domain import AuthenticationFailed, hash_secret
from interfaces.bearer import VERIFIED, BearerGate
from interfaces.downloads import download_routes
from interfaces.edge.shapes import embeddings_dict
from interfaces.mcp.context import identity_claims
from interfaces.mcp.server import build_mcp_server
from interfaces.metrics import CONTENT_TYPE_LATEST, Metrics
from interfaces.ratelimit import ToolRateLimiter
from interfaces.sessions import SessionCap, SseStreamCap, StreamsStop
from interfaces.web import PageSecurity, WebContext, web_routes

__all__ = ["BearerTokenVerifier", "HttpOptions", "build_http_app"]

log = structlog.get_logger("live_mem.http")


class BearerTokenVerifier:
    """The SDK's ``TokenVerifier`` over :meth:`AuthService.authenticate`: a revoked or
    expired token is refused on its next request. A token the :class:`BearerGate`
    already verified for this request is not looked up again."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def verify_token(self, token: str) -> AccessToken | None:
        """An access token carrying the identity as claims, or None (HTTP 401)."""
        verified = VERIFIED.get()
        if verified is not None and verified[0] == token:
            identity = verified[1]
        else:
            try:
                identity = await self._services.auth.authenticate(token)
            except AuthenticationFailed:
                return None
        # The SDK binds a session to the client id: the token's own hash, so that a token
        # sharing another's name can never reach that token's sessions.
        return AccessToken(
            token=token,
            client_id=hash_secret(token),
            scopes=[identity.permission.label],
            claims=identity_claims(identity),
        )


@attrs.frozen
class HttpOptions:
    """HTTP settings of the app.

    Attributes:
        public_url: base URL clients use (OAuth protected-resource metadata).
        allowed_hosts, allowed_origins: DNS-rebinding protection (``Host`` and
            ``Origin`` checks, MCP transport security); empty lists disable the check.
        max_body_bytes: request body limit.
        rate_limits: per-token limits by tool family that replace the defaults
            (``RATE_LIMIT_*``; see :mod:`interfaces.ratelimit`).
        sessions_per_token: streamable HTTP sessions one token may hold open
            (``SESSIONS_PER_TOKEN``; see :mod:`interfaces.sessions`).
        session_idle_seconds: an unused session is closed after this long
            (``SESSION_IDLE_SECONDS``).
        sse_max_sessions: legacy SSE streams open at once for every token together
            (``SSE_MAX_SESSIONS``), never more than a quarter of the process's file
            descriptor limit (``RLIMIT_NOFILE``).
    """

    public_url: str = "http://127.0.0.1:8080"
    allowed_hosts: tuple[str, ...] = ("127.0.0.1:*", "localhost:*", "[::1]:*")
    allowed_origins: tuple[str, ...] = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")
    max_body_bytes: int = 1024 * 1024
    rate_limits: tuple[tuple[str, str], ...] = ()
    sessions_per_token: int = 32
    session_idle_seconds: float = 600.0
    sse_max_sessions: int = 256


def open_files() -> tuple[int, int] | None:
    """The file descriptors this process holds and its soft limit (``RLIMIT_NOFILE``),
    or None where ``/proc/self/fd`` cannot be read."""
    try:
        held = len(os.listdir("/proc/self/fd"))
    except OSError:
        return None
    return held, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def files_exhausted(files: tuple[int, int] | None) -> bool:
    """True when ``files`` (from :func:`open_files`) use 90% or more of the limit."""
    return files is not None and files[1] > 0 and files[0] >= 0.9 * files[1]


def build_http_app(
    services: Services,
    options: HttpOptions,
    metrics: Metrics | None = None,
    *,
    stopping: asyncio.Event | None = None,
) -> Starlette:
    """The whole HTTP app. Its lifespan runs the streamable HTTP session manager; when
    ``stopping`` is set, open event streams end (see :class:`StreamsStop`)."""
    metrics = metrics or Metrics()
    services.jobs.observe(metrics.observe_job)
    limiter = ToolRateLimiter(dict(options.rate_limits))
    mcp = build_mcp_server(
        services,
        metrics,
        token_verifier=BearerTokenVerifier(services),
        public_url=options.public_url,
        limiter=limiter,
    )
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=bool(options.allowed_hosts or options.allowed_origins),
        allowed_hosts=list(options.allowed_hosts),
        allowed_origins=list(options.allowed_origins),
    )

    async def health(_: Request) -> Response:
        # Unauthenticated: says whether the store answers, never why (bucket names and
        # endpoints stay in the logs and in the authenticated system_health tool).
        report = await services.system.health()
        if not report.ok:
            log.warning("health_store_unavailable", error=report.store, tokens=report.tokens)
        files = open_files()
        exhausted = files_exhausted(files)
        if exhausted:
            log.warning("health_files_exhausted", files=files)
        ok = report.ok and not exhausted
        body = {
            "status": "ok" if ok else "degraded",
            "version": services.system.version,
            "store": "ok" if report.store == "ok" else "unavailable",
            "tokens": "ok" if report.tokens == "ok" else "unreadable",
            "files": "exhausted" if exhausted else "ok",
            "llm": report.llm,
            "embeddings": embeddings_dict(services.search.progress_all()),
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    async def prometheus(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app = mcp.streamable_http_app(
        max_request_body_size=options.max_body_bytes,
        transport_security=security,
        session_idle_timeout=options.session_idle_seconds,
    )
    sse = mcp.sse_app(max_request_body_size=options.max_body_bytes, transport_security=security)
    app.router.routes.append(Route("/health", health, methods=["GET"]))
    app.router.routes.append(Route("/metrics", prometheus, methods=["GET"]))
    known = {getattr(r, "path", None) for r in app.router.routes}
    app.router.routes.extend(r for r in sse.router.routes if getattr(r, "path", None) not in known)
    app.router.routes.extend(web_routes(WebContext(services, metrics, limiter)))
    app.router.routes.extend(download_routes(services))
    # No OAuth authorization server exists: advertise none (see interfaces/bearer.py).
    app.router.routes[:] = [
        r for r in app.router.routes if not str(getattr(r, "path", "")).startswith("/.well-known/")
    ]
    app.add_middleware(
        SessionCap, per_token=options.sessions_per_token, idle_seconds=options.session_idle_seconds
    )
    files = open_files()
    fd_share = files[1] // 4 if files is not None and files[1] > 0 else options.sse_max_sessions
    app.add_middleware(
        SseStreamCap, per_token=options.sessions_per_token, total=min(options.sse_max_sessions, fd_share)
    )
    if stopping is not None:
        app.add_middleware(StreamsStop, stopping=stopping)
    app.add_middleware(BearerGate, services=services)
    app.add_middleware(PageSecurity, settings=security)  # outermost: added last
    return app
