"""The page's read endpoints (read permission): who am I, spaces, notes, the bank (with
each file's size against its budget), consolidation history with provenance, search.
Each calls the application service an MCP tool calls and counts as that tool."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from domain import Identity, InvalidInput, Permission
from domain.consolidation.batching import estimate_tokens, tokens_for_bytes
from interfaces.edge.shapes import hit_dict, meta_dict, note_dict, run_detail_dict, run_dict
from interfaces.web.common import WebContext
from interfaces.web.render import render_markdown

__all__ = ["read_routes"]


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number") from None


def read_routes(web: WebContext) -> list[Route]:
    """The routes of this module."""
    s = web.services

    @web.endpoint("system_whoami")
    async def whoami(_: Request, me: Identity) -> dict[str, Any]:
        return {
            "status": "ok",
            "name": me.name.value,
            "permission": me.permission.label,
            "space_ids": list(me.spaces),
            "can_manage": me.permission >= Permission.MANAGE,
            "can_admin": me.permission >= Permission.ADMIN,
        }

    @web.endpoint("space_list")
    async def spaces(_: Request, me: Identity) -> dict[str, Any]:
        metas, unreadable = await s.spaces.listing(me)
        return {"status": "ok", "spaces": [meta_dict(m) for m in metas], "unreadable": unreadable}

    @web.endpoint("live_read")
    async def notes(request: Request, me: Identity) -> dict[str, Any]:
        q = request.query_params
        page = await s.notes.read(
            me,
            request.path_params["space_id"],
            category=q.get("category") or None,
            agent=q.get("agent") or None,
            limit=_int(request, "limit", 50),
            cursor=q.get("cursor") or None,
        )
        return {
            "status": "ok",
            "notes": [note_dict(n) for n in page.notes],
            "next_cursor": page.next_cursor,
            "total": page.total_matching,
        }

    @web.endpoint("bank_list")
    async def bank(request: Request, me: Identity) -> dict[str, Any]:
        space_id = request.path_params["space_id"]
        files = await s.bank.list(me, space_id)
        budgets = await s.jobs.budgets(me, space_id)
        return {
            "status": "ok",
            "files": [
                {
                    "filename": f.name.value,
                    "size": f.size,
                    "tokens": tokens_for_bytes(f.size),
                    "budget": None if f.archived else budgets.get(f.name.value),
                    "archived": f.archived,
                }
                for f in files
            ],
            "budget_total": sum(budgets.values()),
        }

    @web.endpoint("bank_read")
    async def bank_file(request: Request, me: Identity) -> dict[str, Any]:
        space_id, name = request.path_params["space_id"], request.path_params["filename"]
        file = await s.bank.read(me, space_id, name)
        budgets = await s.jobs.budgets(me, space_id)
        return {
            "status": "ok",
            "filename": file.name.value,
            "size": file.size,
            "tokens": estimate_tokens(file.content),
            "budget": budgets.get(file.name.value),
            "html": render_markdown(file.content),
        }

    @web.endpoint("bank_history")
    async def history(request: Request, me: Identity) -> dict[str, Any]:
        runs = await s.jobs.history(me, request.path_params["space_id"], _int(request, "limit", 50))
        return {"status": "ok", "runs": [run_dict(r) for r in runs]}

    @web.endpoint("bank_history")
    async def run_detail(request: Request, me: Identity) -> dict[str, Any]:
        p = request.path_params
        return {"status": "ok", **run_detail_dict(await s.jobs.run_detail(me, p["space_id"], p["run_id"]))}

    @web.endpoint("memory_search")
    async def search(request: Request, me: Identity) -> dict[str, Any]:
        q = request.query_params
        found = await s.search.search(
            me,
            request.path_params["space_id"],
            q.get("q", ""),
            scope=q.get("scope") or "all",
            limit=_int(request, "limit", 20),
            category=q.get("category", ""),
            agent=q.get("agent", ""),
        )
        return {
            "status": "ok",
            "results": [hit_dict(h) for h in found.hits],
            "degraded": found.degraded,
            "partial": found.partial,
        }

    return [
        Route("/api/whoami", whoami, methods=["GET"]),
        Route("/api/spaces", spaces, methods=["GET"]),
        Route("/api/spaces/{space_id}/notes", notes, methods=["GET"]),
        Route("/api/spaces/{space_id}/bank", bank, methods=["GET"]),
        Route("/api/spaces/{space_id}/bank/{filename:path}", bank_file, methods=["GET"]),
        Route("/api/spaces/{space_id}/history", history, methods=["GET"]),
        Route("/api/spaces/{space_id}/history/{run_id}", run_detail, methods=["GET"]),
        Route("/api/spaces/{space_id}/search", search, methods=["GET"]),
    ]
