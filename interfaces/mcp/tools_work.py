"""MCP tools of the work: work items, claims, presence."""

from __future__ import annotations

from typing import Any, Final

from domain import Permission
from domain.work import CLAIM_TTL_DEFAULT
from interfaces.edge.shapes import activity_dict, claim_dict, item_dict, settled_dict
from interfaces.mcp.context import Call, Tool, tool

__all__ = ["WORK_TOOLS"]


@tool(Permission.READ)
async def work_items(
    call: Call,
    space_id: str,
    state: str = "open,claimed",
    category: str = "",
    agent: str = "",
    claimant: str = "",
    limit: int = 50,
    cursor: str = "",
) -> dict[str, Any]:
    """Work items (every todo, issue and question note), newest first (needs read).
    state: comma-separated of open, claimed, done, answered, dropped, or all.
    Filters: category, agent (author), claimant. limit 1-200; next_cursor pages."""
    me, s = call.me, call.services
    page = await s.work.list_items(
        me,
        space_id,
        state=state,
        category=category,
        agent=agent,
        claimant=claimant,
        limit=limit,
        cursor=cursor,
    )
    return {
        "status": "ok",
        "space_id": space_id,
        "items": [item_dict(v, page.now) for v in page.items],
        "count": len(page.items),
        "total": page.total_matching,
        "has_more": page.next_cursor is not None,
        "next_cursor": page.next_cursor,
    }


@tool(Permission.WRITE)
async def work_claim(
    call: Call, space_id: str, resource: str, ttl_seconds: int = CLAIM_TTL_DEFAULT
) -> dict[str, Any]:
    """Claim a resource so teammates keep off it (needs write): a work item id, or a
    name like file:src/app.py or area:billing (1-256 bytes). Claim again to renew.
    ttl_seconds 10-86400 (default 900). Held by another agent: refused with who and
    until when; it can be taken over once expired."""
    me, s = call.me, call.services
    claim = await s.work.claim(me, space_id, resource, ttl_seconds)
    return {"status": "claimed", "space_id": space_id, **claim_dict(claim)}


@tool(Permission.WRITE, audited=True)
async def work_release(call: Call, space_id: str, resource: str, force: bool = False) -> dict[str, Any]:
    """Release your claim on a resource (needs write). force: release another
    agent's claim (needs manage; audited). status not_held when nothing held it."""
    me, s = call.me, call.services
    released = await s.work.release(me, space_id, resource, force=force)
    if released is None:
        return {"status": "not_held", "space_id": space_id, "resource": resource}
    return {"status": "released", "space_id": space_id, **claim_dict(released)}


@tool(Permission.WRITE)
async def work_done(call: Call, space_id: str, item_id: str, outcome: str) -> dict[str, Any]:
    """Mark a work item done (todo, issue) or answered (question) with its outcome
    (needs write); writes a progress note and releases your claim on it. An item
    another agent claims is settled by it (or a manager)."""
    me, s = call.me, call.services
    item = await s.work.finish(me, space_id, item_id, outcome)
    return {**settled_dict(item), "space_id": space_id}


@tool(Permission.WRITE, audited=True)
async def work_drop(call: Call, space_id: str, item_id: str, reason: str) -> dict[str, Any]:
    """Drop a work item that will not be done, with the reason (its author, or
    manage); writes a progress note."""
    me, s = call.me, call.services
    item = await s.work.drop(me, space_id, item_id, reason)
    return {**settled_dict(item), "space_id": space_id}


@tool(Permission.READ)
async def work_presence(call: Call, space_id: str) -> dict[str, Any]:
    """Who works in the space, most recent first (needs read): each agent's last
    note and activity, whether active (last 30 minutes), the items and resources it
    holds."""
    me, s = call.me, call.services
    team = await s.presence.team(me, space_id)
    return {
        "status": "ok",
        "space_id": space_id,
        "agents": [activity_dict(a) for a in team],
        "active": sum(a.active for a in team),
    }


WORK_TOOLS: Final[tuple[Tool, ...]] = (
    work_items,
    work_claim,
    work_release,
    work_done,
    work_drop,
    work_presence,
)
