"""Running the server: HTTP under hypercorn, or stdio for a local MCP client."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import Final

import structlog
from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from application.consolidation.heartbeat import HEARTBEAT_SECONDS
from application.services import Services
from application.services.system import ping_within
from application.store import StoreError, StoreUnavailable
from domain import AuthenticationFailed
from interfaces import bootstrap
from interfaces.http import HttpOptions, build_http_app
from interfaces.mcp import build_mcp_server
from interfaces.metrics import Metrics

__all__ = ["hypercorn_config", "run_http", "run_stdio"]

log = structlog.get_logger("live_mem.serve")


def hypercorn_config(host: str, port: int, toml: str | None = None) -> Config:
    """Hypercorn settings: those of ``toml`` (``HYPERCORN_CONFIG``, e.g.
    ``ops/hypercorn.toml``) or the defaults below, always bound to ``host:port``.
    Defaults: no access log (structlog logs each tool call), graceful shutdown within
    10 s, keep-alive above common proxy idle timeouts."""
    if toml:
        config = Config.from_toml(toml)
    else:
        config = Config()
        config.accesslog = None
        config.graceful_timeout = 10.0
        config.keep_alive_timeout = 75.0
        config.include_server_header = False
    config.bind = [f"{host}:{port}"]
    return config


def http_options(settings: bootstrap.Settings) -> HttpOptions:
    """The HTTP options the settings give (allowed hosts default to loopback names)."""
    defaults = HttpOptions()
    return HttpOptions(
        public_url=settings.base_url,
        allowed_hosts=settings.allowed_hosts or defaults.allowed_hosts,
        allowed_origins=settings.allowed_origins or defaults.allowed_origins,
        max_body_bytes=settings.max_body_bytes,
        rate_limits=settings.rate_limits,
        sessions_per_token=settings.sessions_per_token,
        session_idle_seconds=float(settings.session_idle_seconds),
        sse_max_sessions=settings.sse_max_sessions,
    )


async def run_http(
    settings: bootstrap.Settings,
    *,
    on_ready: Callable[[Services], Awaitable[None]] | None = None,
    shutdown: asyncio.Event | None = None,
) -> None:
    """Serve HTTP until SIGINT/SIGTERM (or ``shutdown`` is set).

    Raises:
        InvalidInput: a short or placeholder ``ADMIN_BOOTSTRAP_KEY``.
    """
    services = await bootstrap.services_from_settings(settings)
    try:
        await _check_store(services, settings)
    except BaseException:
        await services.close()
        raise
    swept = await asyncio.to_thread(bootstrap.sweep_archive_orphans)
    if swept:
        log.warning("archives_swept", directories=swept, reason="left by a server that died")
    stop = shutdown or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    app = build_http_app(services, http_options(settings), Metrics(), stopping=stop)
    if not services.store.supports_conditional_writes:
        log.warning("no_conditional_writes", advice="this deployment must run a single replica")
    log.info("serving", url=f"{settings.base_url}/mcp", store=bootstrap.describe_store(settings))
    resumer = asyncio.create_task(_resume_abandoned_jobs(services, settings.consolidation_timeout, stop))
    try:
        if on_ready is not None:
            await on_ready(services)
        config = hypercorn_config(settings.host, settings.port, settings.hypercorn_config)
        # hypercorn's ASGI type is narrower than Starlette's call signature; they interoperate.
        await hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
    finally:
        stop.set()
        await resumer
        await services.close()


START_CHECK_SECONDS: Final = 10.0
"""How long start-up waits for the store to answer before giving up in one line."""


async def _check_store(services: Services, settings: bootstrap.Settings) -> None:
    """Ping the store before serving anything.

    Raises:
        StoreUnavailable: naming the store and the cause (refused, timed out, DNS,
            credentials), within ``START_CHECK_SECONDS``.
    """
    error = await ping_within(services.store, START_CHECK_SECONDS)
    if error is not None:
        raise StoreUnavailable(f"cannot use {bootstrap.describe_store(settings)}: {error}")


async def _resume_abandoned_jobs(services: Services, period_base: float, stop: asyncio.Event) -> None:
    """At start and then every ``HEARTBEAT_SECONDS`` (at most ``period_base / 4``),
    resume consolidation jobs whose server died (their heartbeat stopped)."""
    while not stop.is_set():
        try:
            resumed = await services.jobs.resume_abandoned()
            if resumed:
                log.warning("resumed_jobs", count=resumed)
        except StoreError as exc:  # the store is down: said in one line, tried again later
            log.warning("resume_failed", error=str(exc))
        except Exception:
            log.exception("resume_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=max(1.0, min(HEARTBEAT_SECONDS, period_base / 4)))
    await services.jobs.drain()


async def run_stdio(settings: bootstrap.Settings) -> None:
    """Serve MCP over stdin/stdout, every call acting with ``LIVE_MEM_TOKEN`` (never with
    the bootstrap key: a token names the agent and its rights).

    Raises:
        AuthenticationFailed: the token does not authenticate in the configured store
            (the message names the store); nothing is served.
    """
    services = await bootstrap.services_from_settings(settings)
    token = settings.local_token
    try:
        try:  # refuse to start rather than list tools that would all fail
            await services.auth.authenticate(token)
        except AuthenticationFailed as exc:
            raise AuthenticationFailed(
                f"LIVE_MEM_TOKEN: {exc} in the store {bootstrap.describe_store(settings)}"
            ) from None
        await build_mcp_server(services, Metrics(), local_token=token).run_stdio_async()
    finally:
        await services.close()
