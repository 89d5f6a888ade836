"""What every tool needs: the services, the caller's identity, error mapping, logs, metrics."""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final, ParamSpec, TypeVar

import attrs
import structlog
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent

from application.services import Download, Services
from application.store import StoreError
from domain import AgentName, DomainError, Identity, InvalidInput, Permission, hash_secret
from interfaces.edge.errors import error_body, kind_and_message, message_of
from interfaces.edge.shapes import archive
from interfaces.metrics import Metrics
from interfaces.ratelimit import ToolRateLimiter

__all__ = ["Call", "Tool", "ToolContext", "error_result", "identity_claims", "tool"]

P = ParamSpec("P")
R = TypeVar("R")
log = structlog.get_logger("live_mem.tools")
_CURRENT_TOOL: contextvars.ContextVar[str] = contextvars.ContextVar("live_mem_tool", default="")
_CURRENT_CALLER: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "live_mem_caller", default=None
)
_TARGETS: Final = ("token_hash", "token_hashes", "backup_id", "target_space_id", "filename", "name")
_BODIES: Final = frozenset({"content", "jsonl", "rules", "description"})
"""Arguments recorded by their length only."""
_AUDIT_FACTS: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar(
    "live_mem_audit_facts", default=None
)


def audit_fact(**facts: object) -> None:
    """Add what a call did (``purged=3``, ``broken=True``) to its audit record."""
    current = _AUDIT_FACTS.get()
    if current is not None:
        current.update(facts)


def audit_detail(arguments: dict[str, Any], facts: dict[str, object] | None = None) -> str:
    """The ``detail`` of an audit record: the call's arguments but the space (bodies by
    their length, lists joined) and then what it did, as ``key=value`` pairs."""
    parts: list[str] = []
    for key, value in sorted(arguments.items()):
        if key == "space_id":
            continue
        if key in _BODIES and isinstance(value, str):
            parts.append(f"{key}_chars={len(value)}")
        elif isinstance(value, bool | int | float):
            parts.append(f"{key}={value}")
        elif isinstance(value, str) and value:
            parts.append(f"{key}={value[:80]}")
        elif isinstance(value, list | tuple) and value:
            parts.append(f"{key}={','.join(str(v) for v in value)[:160]}")
    parts.extend(f"{key}={value}" for key, value in (facts or {}).items())
    return " ".join(parts)


def identity_claims(identity: Identity) -> dict[str, Any]:
    """The claims the HTTP token verifier attaches to an access token."""
    return {
        "name": identity.name.value,
        "permission": identity.permission.label,
        "spaces": list(identity.spaces),
    }


def _identity_from_claims(claims: dict[str, Any]) -> Identity:
    return Identity(
        AgentName(claims["name"]), Permission.parse(claims["permission"]), tuple(claims["spaces"])
    )


@attrs.frozen
class Tool:
    """An MCP tool as its module declares it (:func:`tool`): the function, whose first
    parameter receives the :class:`Call` and whose other parameters are the tool's
    input schema; the permission ``tools/list`` offers it to; whether every call is
    audited. The services still authorize each call."""

    fn: Callable[..., Awaitable[Any]]
    permission: Permission
    audited: bool = False

    @property
    def name(self) -> str:
        """The tool's name: its function's."""
        return self.fn.__name__

    @property
    def summary(self) -> str:
        """The first line of its description."""
        return (self.fn.__doc__ or "").split("\n")[0]


def tool(permission: Permission, *, audited: bool = False) -> Callable[[Callable[..., Awaitable[Any]]], Tool]:
    """Declare a top-level function an MCP tool (registered by :meth:`ToolContext.register`).

    Args:
        permission: the least permission whose tokens are offered the tool in ``tools/list``.
        audited: append every call, allowed or refused, to the audit log.
    """

    def declare(fn: Callable[..., Awaitable[Any]]) -> Tool:
        return Tool(fn, permission, audited)

    return declare


@attrs.frozen
class Call:
    """One tool call, authenticated and within its rate limit: who calls (``me``), the
    use cases (``services``) and the MCP edge (``context``)."""

    me: Identity
    services: Services
    context: ToolContext

    async def deliver(self, download: Download) -> dict[str, Any]:
        """See :meth:`ToolContext.deliver`."""
        return await self.context.deliver(download)


def error_result(kind: str, message: str) -> CallToolResult:
    """A refused or failed call: an MCP tool error (``isError: true``, MCP spec,
    "Error Handling" of tools) whose text is the JSON object
    ``{"status": "error", "error": kind, "message": message}``, so that a client that
    parses every result as JSON reads ``status: error``."""
    text = json.dumps(error_body(kind, message))
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


class ToolContext:
    """Shared by every tool of one MCP server.

    Args:
        services: the use cases.
        metrics: Prometheus metrics of this app.
        local_token: the token to act with when no HTTP bearer token is present (stdio
            and in-memory connections); None means such calls are unauthenticated.
        limiter: per-token rate limits by tool family (the defaults when None).
        download_base: the base URL of the ``/downloads/`` links archives are handed
            out through (HTTP); None to answer archives inline (stdio, in memory).
    """

    def __init__(
        self,
        services: Services,
        metrics: Metrics,
        local_token: str | None,
        limiter: ToolRateLimiter | None = None,
        download_base: str | None = None,
    ) -> None:
        self.services = services
        self.metrics = metrics
        self._local_token = local_token
        self._limiter = limiter or ToolRateLimiter()
        self._download_base = download_base.rstrip("/") if download_base else None
        self.tools: list[Tool] = []
        """Every registered tool, in registration order."""

    async def deliver(self, download: Download) -> dict[str, Any]:
        """The tool answer for an archive: a single-use link to ``/downloads/{ticket}``
        over HTTP, so the archive crosses the wire once, streamed; the archive's bytes
        in base64 for a local client, which has no link to follow (see
        :func:`interfaces.edge.shapes.archive`)."""
        if self._download_base is not None:
            return archive(download, url=f"{self._download_base}/downloads/{download.ticket}")
        return archive(download, data=await self.services.downloads.read(download.ticket))

    async def caller(self) -> Identity:
        """The identity of the current call. Over HTTP the SDK's bearer middleware has
        verified the token; stdio and in-memory calls verify the local token per call,
        so a revoked token stops working at once.

        Raises:
            AuthenticationFailed.
        """
        identity, secret = await self._identify()
        _CURRENT_CALLER.set((hash_secret(secret), identity.name.value))
        structlog.contextvars.bind_contextvars(agent=identity.name.value)
        tool = _CURRENT_TOOL.get()
        if tool:
            self._limiter.check(tool, identity.name.value)
        return identity

    async def _identify(self) -> tuple[Identity, str]:
        """The current request's identity and bearer secret: the HTTP bearer token the
        SDK verified, else the local token, verified now.

        Raises:
            AuthenticationFailed, StoreError.
        """
        access = get_access_token()
        if access is not None and access.claims:
            return _identity_from_claims(access.claims), access.token
        return await self.services.auth.authenticate(self._local_token), self._local_token or ""

    async def who(self) -> Identity | None:
        """The identity of the current request, or None when it has none (a local
        server without a token, or one that does not authenticate); no rate limit."""
        try:
            return (await self._identify())[0]
        except (DomainError, StoreError):
            return None

    async def _audit(self, tool: str, kwargs: dict[str, Any], outcome: str, request_id: str) -> None:
        """Append the call to the audit log; a failure to do so is logged, never raised."""
        token, agent = _CURRENT_CALLER.get() or ("", "unauthenticated")
        space = kwargs.get("space_id")
        named = (kwargs.get(k) for k in _TARGETS)
        target = next(
            (",".join(map(str, v)) if isinstance(v, list | tuple) else str(v) for v in named if v), ""
        )
        try:
            await self.services.audit.record(
                token=token,
                agent=agent,
                action=tool,
                space=space if isinstance(space, str) else "",
                target=target[:200],
                outcome=outcome,
                request_id=request_id,
                detail=audit_detail(kwargs, _AUDIT_FACTS.get()),
            )
        except (StoreError, DomainError) as exc:
            log.error("audit_write_failed", tool=tool, error=type(exc).__name__)  # noqa: TRY400 - no traceback in logs

    def resource(self, name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
        """Wrap a resource read like a tool: errors become a ``ResourceError`` with the
        same text as a tool's (no traceback logged for a refusal), and every read is
        counted in the metrics under ``name``."""

        def wrap(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            @functools.wraps(fn)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                started = time.perf_counter()
                outcome = "ok"
                try:
                    return await fn(*args, **kwargs)
                except (DomainError, StoreError) as exc:
                    outcome = type(exc).__name__
                    log.info("resource_refused", resource=name, error=outcome, message=str(exc)[:300])
                    raise ResourceError(message_of(exc)) from None
                except (ValueError, TypeError):
                    outcome = "InvalidInput"
                    raise ResourceError(message_of(InvalidInput("invalid parameters"))) from None
                finally:
                    self.metrics.observe_tool(name, outcome, time.perf_counter() - started)

            return wrapper

        return wrap

    def prompt(self, name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
        """Wrap a prompt like a tool: its caller rate-limited as ``name``, a refusal an
        MCP error with the tool's text (``Kind: message``, code -32602), metrics."""

        def wrap(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            @functools.wraps(fn)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                started = time.perf_counter()
                outcome = "ok"
                marker = _CURRENT_TOOL.set(name)
                try:
                    return await fn(*args, **kwargs)
                except (DomainError, StoreError) as exc:
                    outcome = type(exc).__name__
                    log.info("prompt_refused", prompt=name, error=outcome, message=str(exc)[:300])
                    raise MCPError(INVALID_PARAMS, message_of(exc)) from None
                finally:
                    _CURRENT_TOOL.reset(marker)
                    self.metrics.observe_tool(f"prompt:{name}", outcome, time.perf_counter() - started)

            return wrapper

        return wrap

    def register(self, mcp: MCPServer, declared: Tool) -> None:
        """Add a declared tool to ``mcp``. Each call gets a request id and the space in
        the logs, is authenticated and rate-limited (:meth:`caller`) before the tool's
        function runs, is counted in the metrics, audited when the tool says so, and
        every error becomes a tool error result (:func:`error_result`) that carries no
        stack trace or internal detail. The SDK sees the function's signature without
        its first parameter (the :class:`Call`)."""
        name = declared.name
        signature = inspect.signature(declared.fn, eval_str=True)
        parameters = list(signature.parameters.values())[1:]

        async def entry(**kwargs: Any) -> Any:
            return await self._call(declared, kwargs)

        entry.__name__ = entry.__qualname__ = name
        entry.__doc__ = declared.fn.__doc__
        entry.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        entry.__annotations__ = {p.name: p.annotation for p in parameters}
        entry.__annotations__["return"] = signature.return_annotation
        mcp.add_tool(entry, name=name, description=declared.fn.__doc__)
        self.tools.append(declared)

    async def _call(self, declared: Tool, kwargs: dict[str, Any]) -> Any:
        """One call of a registered tool (:meth:`register`)."""
        name = declared.name
        request_id = uuid.uuid4().hex[:12]
        space = kwargs.get("space_id")
        _CURRENT_TOOL.set(name)
        _CURRENT_CALLER.set(None)
        _AUDIT_FACTS.set({})
        with structlog.contextvars.bound_contextvars(
            request_id=request_id, tool=name, space=space if isinstance(space, str) else None
        ):
            started = time.perf_counter()
            outcome = "ok"
            try:
                return await declared.fn(Call(await self.caller(), self.services, self), **kwargs)
            except ToolError:
                outcome = "error"
                raise
            except (DomainError, StoreError) as exc:
                outcome = type(exc).__name__
                log.info("tool_refused", error=type(exc).__name__, message=str(exc)[:300])
                return error_result(*kind_and_message(exc))
            except (ValueError, TypeError) as exc:
                outcome = "InvalidInput"
                log.info("tool_bad_input", error=type(exc).__name__)
                return error_result("InvalidInput", "invalid parameters")
            except Exception:
                outcome = "InternalError"
                log.exception("tool_failed", request_id=request_id)
                return error_result("InternalError", f"unexpected server error (request {request_id})")
            finally:
                elapsed = time.perf_counter() - started
                self.metrics.observe_tool(name, outcome, elapsed)
                log.info("tool_call", outcome=outcome, duration_ms=round(elapsed * 1000, 2))
                if declared.audited:
                    await self._audit(name, kwargs, outcome, request_id)
