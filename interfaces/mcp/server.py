"""The MCP server: one tool per use case, named and shaped after the public live-memory
tool contract so that clients and agent rules written for it keep working.

Every tool returns a dict with a ``status`` field (``ok``, ``created``, ``deleted``); a
refused or failed call is an MCP tool error (``isError``) whose text starts with the
error's kind (``PermissionDenied: ...``, ``NotFound: ...``, ``InvalidInput: ...``).
"""

from __future__ import annotations

from typing import Any, Final

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from mcp.types import Tool as MCPTool
from mcp_types import Resource as MCPResource
from pydantic import AnyHttpUrl

from application.services import Services
from application.store import StoreError
from domain import DomainError, Permission
from interfaces.edge.errors import message_of
from interfaces.mcp.catalog import TOOL_PERMISSIONS, TOOLS
from interfaces.mcp.context import ToolContext, error_result
from interfaces.mcp.listen import ListenWatch, live_resources, space_resources
from interfaces.mcp.tools_bank import bank_resources
from interfaces.mcp.tools_context import context_prompts
from interfaces.metrics import Metrics
from interfaces.ratelimit import ToolRateLimiter

__all__ = ["INSTRUCTIONS", "build_mcp_server"]

INSTRUCTIONS: Final = """live-mem is the shared working memory of your team of agents.
At the start of a task: bank_read_all(space_id) to load the memory bank, and
work_items(space_id) for what is open and who holds what.
While you work: live_note(space_id, category, content) for each observation, decision,
todo, insight, question, progress or issue worth keeping; keep notes short and factual.
Claim a work item or a file before working on it (work_claim); when done, work_done
with the outcome. Never try to edit the bank: consolidation writes it from the notes."""


def _untitled(schema: Any) -> Any:
    """A JSON Schema without its ``title`` annotations (a property named ``title`` kept)."""
    if isinstance(schema, list):
        return [_untitled(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _untitled(sub) for name, sub in value.items()}
        else:
            out[key] = _untitled(value)
    return out


def lean(tool: MCPTool) -> MCPTool:
    """The tool as ``tools/list`` offers it: its description on one line (a docstring's
    indentation is bytes every agent pays for in every session), its input schema
    without the ``title`` annotations pydantic adds (optional in JSON Schema, and saying
    no more than the property names), and no output schema: every tool's was the same
    ``{"type": "object", "additionalProperties": true}``, which tells a client nothing
    (an output schema is optional in the MCP spec; results still carry the JSON object
    as ``structuredContent`` and as text)."""
    return tool.model_copy(
        update={
            "description": " ".join((tool.description or "").split()),
            "input_schema": _untitled(tool.input_schema),
            "output_schema": None,
        }
    )


class LiveMemServer(MCPServer):
    """The SDK's server, refusing a call that names a parameter its tool does not take:
    the SDK would drop it silently and do something else quietly (``max_age_days`` for
    ``older_than_days`` ran a 7-day dry run)."""

    _parameters: dict[str, frozenset[str]] | None = None
    _offered: list[MCPTool] | None = None
    tool_context: ToolContext | None = None

    async def list_tools(self) -> list[MCPTool]:
        """The tools the caller's permission can use (``TOOL_PERMISSIONS``): a read
        token is not offered, and does not pay in its context for, the tools it can
        never call. A caller with no identity (a local server without a token) sees
        every tool; calling one still needs the permission."""
        if self._offered is None:  # the tools are fixed once the server is built
            self._offered = [lean(t) for t in await super().list_tools()]
        who = await self.tool_context.who() if self.tool_context is not None else None
        if who is None:
            return list(self._offered)
        return [t for t in self._offered if TOOL_PERMISSIONS.get(t.name, Permission.ADMIN) <= who.permission]

    async def list_resources(self) -> list[MCPResource]:
        """The registered resources, then the caller's: per readable space its live
        activity and its hot bank files (:func:`interfaces.mcp.listen.space_resources`)."""
        listed = await super().list_resources()
        who = await self.tool_context.who() if self.tool_context is not None else None
        if who is None or self.tool_context is None:
            return listed
        try:
            return listed + await space_resources(self.tool_context, who)
        except (DomainError, StoreError) as exc:
            raise MCPError(INVALID_PARAMS, message_of(exc)) from None

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        """See :meth:`MCPServer.call_tool`; an unknown parameter is ``InvalidInput``
        naming it and the parameters the tool takes, and nothing runs."""
        if self._parameters is None:
            self._parameters = {
                t.name: frozenset((t.input_schema or {}).get("properties", {}))
                for t in await super().list_tools()
            }
        known = self._parameters.get(name)
        unknown = sorted(set(arguments or {}) - known) if known is not None else []
        if unknown:
            takes = ", ".join(sorted(known or ())) or "none"
            return error_result(
                "InvalidInput", f"{name} takes no parameter {', '.join(unknown)}; its parameters: {takes}"
            )
        return await super().call_tool(name, arguments, context)


def build_mcp_server(
    services: Services,
    metrics: Metrics,
    *,
    local_token: str | None = None,
    token_verifier: TokenVerifier | None = None,
    public_url: str = "http://127.0.0.1:8080",
    limiter: ToolRateLimiter | None = None,
) -> MCPServer:
    """Build the MCP server with every live-mem tool and the bank resources.

    Args:
        services: the use cases.
        metrics: where tool calls are counted.
        local_token: the token that stdio or in-memory callers act with.
        token_verifier: verifies HTTP bearer tokens (None for stdio / in-memory).
        public_url: the server's public base URL (OAuth protected resource metadata,
            and the base of archive download links over HTTP).
        limiter: per-token rate limits by tool family (defaults when None).
    """
    auth = (
        AuthSettings(
            issuer_url=AnyHttpUrl(public_url),
            resource_server_url=AnyHttpUrl(f"{public_url}/mcp"),
            validate_token_resource=False,
        )
        if token_verifier is not None
        else None
    )
    ctx = ToolContext(
        services,
        metrics,
        local_token,
        limiter,
        download_base=public_url if token_verifier is not None else None,
    )
    bus = InMemorySubscriptionBus()  # this replica's listeners; changes come from the store
    mcp = LiveMemServer(
        "live-mem",
        instructions=INSTRUCTIONS,
        version=services.system.version,
        token_verifier=token_verifier,
        auth=auth,
        warn_on_duplicate_tools=True,
        subscriptions=bus,
        middleware=[ListenWatch(ctx, bus)],
    )
    mcp.tool_context = ctx
    for declared in TOOLS:
        ctx.register(mcp, declared)
    bank_resources(mcp, ctx)
    context_prompts(mcp, ctx)
    live_resources(mcp, ctx)
    return mcp
