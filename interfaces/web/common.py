"""What every JSON endpoint under ``/api/`` shares: the caller's identity (verified by
the :class:`~interfaces.bearer.BearerGate`, as for ``/mcp``), the per-token rate limits of
the MCP tools, the audit log, and one error format.

An error answers ``{"status": "error", "error": Kind, "message": text}`` with the HTTP
status of its kind (400 bad input, 401, 403, 404, 409, 429 with ``Retry-After``, 503);
the message is the one an MCP tool gives for the same refusal.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from application.services import Services
from application.store import CorruptObject, StoreError
from domain import (
    AlreadyExists,
    AuthenticationFailed,
    Conflict,
    DomainError,
    Identity,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RateLimited,
    hash_secret,
)
from interfaces.bearer import VERIFIED
from interfaces.edge.errors import error_body, kind_and_message
from interfaces.metrics import Metrics
from interfaces.ratelimit import ToolRateLimiter

__all__ = ["Handler", "WebContext", "json_body"]

log = structlog.get_logger("live_mem.web")

Handler = Callable[[Request, Identity], Awaitable[Any]]
Endpoint = Callable[[Request], Awaitable[Response]]

_STATUS: Final[tuple[tuple[type[Exception], int], ...]] = (
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (AlreadyExists, 409),
    (Conflict, 409),
    (RateLimited, 429),
    (InvalidInput, 400),
    (DomainError, 400),
    (CorruptObject, 500),
    (StoreError, 503),  # unavailable, access denied or refused: the store's side
)
MAX_JSON_BYTES: Final = 1024 * 1024


def _error(kind: str, message: str, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(kind, message), status, headers=headers)


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body. Raises ``InvalidInput`` for anything else."""
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidInput(f"the request body is over {MAX_JSON_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeError):
        raise InvalidInput("the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


class WebContext:
    """Shared by the endpoints of one app.

    Args:
        services: the use cases (every decision is theirs).
        metrics: request counts and durations, by endpoint action.
        limiter: the MCP tools' per-token limits; an endpoint counts as the tool it
            mirrors (``bank_read``, ``space_create``...), so the page cannot be used to
            get round them.
    """

    def __init__(self, services: Services, metrics: Metrics, limiter: ToolRateLimiter) -> None:
        self.services = services
        self._metrics = metrics
        self._limiter = limiter

    def endpoint(
        self, action: str, *, audited: bool = False
    ) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
        """Wrap ``handler(request, caller)``: the caller from the bearer gate, the rate
        limit of ``action``, errors in the module's format, metrics under ``web_{action}``,
        and an audit record when ``audited`` (action named as the MCP tool)."""

        def wrap(handler: Handler) -> Endpoint:
            @functools.wraps(handler)
            async def run(request: Request) -> Response:
                started = time.perf_counter()
                request_id = uuid.uuid4().hex[:12]
                verified = VERIFIED.get()
                outcome = "ok"
                identity: Identity | None = None
                try:
                    if verified is None:
                        raise AuthenticationFailed("a bearer token is required")
                    identity = verified[1]
                    self._limiter.check(action, identity.name.value)
                    result = await handler(request, identity)
                    return result if isinstance(result, Response) else JSONResponse(result)
                except (DomainError, StoreError) as exc:
                    outcome = type(exc).__name__
                    log.info("web_refused", action=action, error=outcome, message=str(exc)[:300])
                    return self._refusal(exc)
                except Exception:
                    outcome = "InternalError"
                    log.exception("web_failed", action=action, request_id=request_id)
                    return _error("InternalError", f"unexpected server error (request {request_id})", 500)
                finally:
                    self._metrics.observe_tool(f"web_{action}", outcome, time.perf_counter() - started)
                    if audited and verified is not None:
                        await self._audit(action, request, (verified[0], identity), outcome, request_id)

            return run

        return wrap

    @staticmethod
    def _refusal(exc: Exception) -> JSONResponse:
        """The error as an MCP tool reports it, with the HTTP status of its kind."""
        kind, message = kind_and_message(exc)
        status = next(code for cls, code in _STATUS if isinstance(exc, cls))
        headers = None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            headers = {"Retry-After": str(exc.retry_after)}
        return _error(kind, message, status, headers)

    async def _audit(
        self,
        action: str,
        request: Request,
        caller: tuple[str, Identity | None],
        outcome: str,
        request_id: str,
    ) -> None:
        secret, identity = caller
        params = request.path_params
        target = str(params.get("token_id") or params.get("backup_id") or "")
        try:
            await self.services.audit.record(
                token=hash_secret(secret),
                agent=identity.name.value if identity else "unauthenticated",
                action=action,
                space=str(params.get("space_id") or getattr(request.state, "audit_space", "")),
                target=target[:200],
                outcome=outcome,
                request_id=request_id,
            )
        except (StoreError, DomainError) as exc:
            log.error("audit_write_failed", action=action, error=type(exc).__name__)  # noqa: TRY400 - no traceback in logs
