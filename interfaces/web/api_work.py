"""The page's work endpoints (read permission): the space's work items and who is
active. Each calls the service the ``work_items`` / ``work_presence`` MCP tools call,
answers the same shapes and counts as that tool."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from domain import Identity, InvalidInput
from interfaces.edge.shapes import activity_dict, item_dict
from interfaces.web.common import WebContext

__all__ = ["work_routes"]


def work_routes(web: WebContext) -> list[Route]:
    """The routes of this module."""
    s = web.services

    @web.endpoint("work_items")
    async def items(request: Request, me: Identity) -> dict[str, Any]:
        q = request.query_params
        try:
            limit = int(q.get("limit", "100"))
        except ValueError:
            raise InvalidInput("limit must be a whole number") from None
        page = await s.work.list_items(
            me,
            request.path_params["space_id"],
            state=q.get("state") or "open,claimed",
            category=q.get("category") or None,
            limit=limit,
            cursor=q.get("cursor") or None,
        )
        return {
            "status": "ok",
            "items": [item_dict(v, page.now) for v in page.items],
            "total": page.total_matching,
            "next_cursor": page.next_cursor,
        }

    @web.endpoint("work_presence")
    async def presence(request: Request, me: Identity) -> dict[str, Any]:
        team = await s.presence.team(me, request.path_params["space_id"])
        return {"status": "ok", "agents": [activity_dict(a) for a in team]}

    return [
        Route("/api/spaces/{space_id}/items", items, methods=["GET"]),
        Route("/api/spaces/{space_id}/presence", presence, methods=["GET"]),
    ]
