"""Resources an agent can list and listen to, and the notifications that keep it current.

- ``resources/list`` holds, for each space the token may read (at most
  :data:`LISTED_SPACES`), its hot bank files (``livemem://{space}/bank/{file}``) and one
  resource for its live activity (``livemem://{space}/live``: who is active, the open
  work items, the newest notes).
- ``subscriptions/listen`` (MCP 2026-07-28; the SDK's own handler and bus): a listener
  names the resources it wants. :class:`ListenWatch`, a middleware before the handler,
  checks that the caller may read each named space (a refusal is an MCP error, before the
  stream opens) and watches those spaces (every readable one for ``resourcesListChanged``)
  for the stream's lifetime through :class:`application.watch.ChangeWatcher`, which
  learns of changes from the store. Each change becomes ``notifications/resources/updated``
  for the live resource (notes, work items, claims) and for each bank file a
  consolidation or edit committed, and ``notifications/resources/list_changed`` when a
  bank file came or went; at most ``FEED_POLL_SECONDS`` plus one poll late, on every
  replica.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import ResourcesListChanged, ResourceUpdated, SubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS
from mcp_types import Resource as MCPResource

from application.watch import SpaceChange
from domain import AuthenticationFailed, DomainError, Identity, InvalidInput, Permission, SpaceId
from interfaces.edge.errors import message_of
from interfaces.mcp.context import ToolContext

__all__ = ["LISTED_SPACES", "ListenWatch", "live_resources", "space_resources"]

LISTED_SPACES: Final = 100
SCHEME: Final = "livemem://"
NEWEST_NOTES: Final = 20
ITEMS_SHOWN: Final = 10


def live_uri(space: str) -> str:
    """The live activity resource of a space."""
    return f"{SCHEME}{space}/live"


def bank_uri(space: str, name: str) -> str:
    """A bank file's resource."""
    return f"{SCHEME}{space}/bank/{name}"


def _space_of(uri: object) -> str:
    if not isinstance(uri, str) or not uri.startswith(SCHEME) or "/" not in uri.removeprefix(SCHEME):
        raise InvalidInput(f"not a live-mem resource: {str(uri)[:120]} (livemem://SPACE/live or /bank/FILE)")
    return uri.removeprefix(SCHEME).split("/", 1)[0]


class ListenWatch:
    """Middleware (``ServerMiddleware``) that authorizes and watches what a
    ``subscriptions/listen`` stream asks for (module docstring)."""

    def __init__(self, ctx: ToolContext, bus: SubscriptionBus) -> None:
        self._ctx = ctx
        self._bus = bus

    async def _publish(self, change: SpaceChange) -> None:
        space = change.space_id.value
        if change.live:
            await self._bus.publish(ResourceUpdated(live_uri(space)))
        for name in sorted(change.files):
            await self._bus.publish(ResourceUpdated(bank_uri(space, name)))
        if change.listed:
            await self._bus.publish(ResourcesListChanged())

    async def _spaces(self, params: Mapping[str, Any] | None) -> list[SpaceId]:
        wanted = (params or {}).get("notifications") or {}
        uris = wanted.get("resourceSubscriptions") or []
        listed = wanted.get("resourcesListChanged") is True
        if not uris and not listed:
            return []
        me = await self._ctx.who()
        if me is None:
            raise AuthenticationFailed("listening to live-mem resources needs a valid token")
        spaces = {SpaceId(_space_of(uri)) for uri in (uris if isinstance(uris, list) else [uris])}
        for space in spaces:
            me.require(Permission.READ, space)
        if listed:
            metas, _ = await self._ctx.services.spaces.listing(me)
            spaces.update(m.space_id for m in metas[:LISTED_SPACES])
        return sorted(spaces, key=lambda s: s.value)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Watch the spaces of a listen request while its stream lasts; pass anything
        else through."""
        if ctx.method != "subscriptions/listen" or ctx.request_id is None:
            return await call_next(ctx)
        try:
            spaces = await self._spaces(ctx.params)
        except DomainError as exc:
            raise MCPError(INVALID_PARAMS, message_of(exc)) from None
        async with self._ctx.services.watch.watching(spaces, self._publish):
            return await call_next(ctx)


async def space_resources(ctx: ToolContext, me: Identity) -> list[MCPResource]:
    """The caller's resources: per readable space (at most :data:`LISTED_SPACES`), the
    live activity and the hot bank files."""
    s = ctx.services
    metas, _ = await s.spaces.listing(me)
    found: list[MCPResource] = []
    for meta in metas[:LISTED_SPACES]:
        space = meta.space_id.value
        found.append(
            MCPResource(
                uri=live_uri(space),
                name=f"{space}: live activity",
                description="Who is active, the open work items and the newest notes.",
                mime_type="text/markdown",
            )
        )
        found.extend(
            MCPResource(
                uri=bank_uri(space, info.name.value),
                name=f"{space}: {info.name.value}",
                mime_type="text/markdown",
                size=info.size,
            )
            for info in await s.bank.list(me, space)
            if not info.archived
        )
    return found


def live_resources(mcp: MCPServer, ctx: ToolContext) -> None:
    """Register the live activity resource template."""
    s = ctx.services

    @mcp.resource(f"{SCHEME}{{space_id}}/live", mime_type="text/markdown")
    @ctx.resource("resource:live")
    async def live_activity(space_id: str) -> str:
        """A space's live activity: who is active, the open work items, the newest notes."""
        me = await ctx.caller()
        team = await s.presence.team(me, space_id)
        items = await s.work.list_items(me, space_id, limit=ITEMS_SHOWN)
        notes = await s.notes.read(me, space_id, limit=NEWEST_NOTES)
        lines = [f"# {space_id}: live activity", "", "## Active now", ""]
        lines += [
            f"- {a.agent} (last {a.last_activity_at.isoformat(timespec='seconds')}"
            + (f"; holds {', '.join(a.items + a.resources)})" if a.items or a.resources else ")")
            for a in team
            if a.active
        ] or ["- nobody in the last 30 minutes"]
        lines += ["", f"## Open work items ({items.total_matching})", ""]
        lines += [
            f"- {v.item.category.value} `{v.item.item_id}` {v.item.title}"
            + (f" (claimed by {v.claim.holder})" if v.claim else "")
            for v in items.items
        ] or ["- none"]
        lines += ["", f"## Newest notes ({notes.total_matching} live)", ""]
        lines += [
            f"- {n.created_at.isoformat(timespec='seconds')} {n.agent} {n.category.value}: "
            + " ".join(n.content.split())[:160]
            for n in notes.notes
        ] or ["- none"]
        return "\n".join(lines) + "\n"
