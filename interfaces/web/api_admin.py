"""The page's console endpoints: spaces, tokens, backups, consolidation jobs and the
audit log. The application services decide who may (manage for spaces, backups and
consolidation; admin for tokens and the audit log), exactly as for the MCP tools; every
state-changing call is in the audit log under the name of the tool it mirrors."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from domain import Identity, InvalidInput
from interfaces.edge.shapes import backup_dict, job_dict, meta_dict, split_backup_id, token_dict
from interfaces.web.common import WebContext, json_body

__all__ = ["admin_routes"]


def _text(body: dict[str, Any], name: str, default: str = "") -> str:
    value = body.get(name, default)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    return value


def admin_routes(web: WebContext) -> list[Route]:
    """The routes of this module."""
    s = web.services

    @web.endpoint("space_create", audited=True)
    async def space_create(request: Request, me: Identity) -> dict[str, Any]:
        body = await json_body(request)
        space_id = _text(body, "space_id")
        request.state.audit_space = space_id
        meta = await s.spaces.create(me, space_id, _text(body, "description"), _text(body, "rules"))
        return {"status": "created", **meta_dict(meta)}

    @web.endpoint("space_delete", audited=True)
    async def space_delete(request: Request, me: Identity) -> dict[str, Any]:
        body = await json_body(request)
        deleted = await s.spaces.delete(
            me, request.path_params["space_id"], confirm=body.get("confirm") is True
        )
        return {"status": "deleted", "space_id": request.path_params["space_id"], "objects_deleted": deleted}

    @web.endpoint("admin_list_tokens")
    async def tokens(_: Request, me: Identity) -> dict[str, Any]:
        return {"status": "ok", "tokens": [token_dict(r) for r in await s.auth.list(me)]}

    @web.endpoint("admin_create_token", audited=True)
    async def token_create(request: Request, me: Identity) -> dict[str, Any]:
        body = await json_body(request)
        spaces = [p.strip() for p in _text(body, "space_ids").split(",") if p.strip()] or None
        days = body.get("expires_in_days") or None
        if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
            raise InvalidInput("expires_in_days must be a whole number")
        issued = await s.auth.create(me, _text(body, "name"), _text(body, "permission", "read"), spaces, days)
        return {"status": "created", **token_dict(issued.record), "token": issued.secret}

    @web.endpoint("admin_revoke_token", audited=True)
    async def token_revoke(request: Request, me: Identity) -> dict[str, Any]:
        return {"status": "ok", **token_dict(await s.auth.revoke(me, request.path_params["token_id"]))}

    @web.endpoint("backup_list")
    async def backups(request: Request, me: Identity) -> dict[str, Any]:
        found = await s.backups.list(me, request.path_params["space_id"])
        return {"status": "ok", "backups": [backup_dict(b) for b in found]}

    @web.endpoint("backup_create", audited=True)
    async def backup_create(request: Request, me: Identity) -> dict[str, Any]:
        return {
            "status": "created",
            **backup_dict(await s.backups.create(me, request.path_params["space_id"])),
        }

    @web.endpoint("backup_restore", audited=True)
    async def backup_restore(request: Request, me: Identity) -> dict[str, Any]:
        body = await json_body(request)
        space_id, backup = split_backup_id(
            f"{request.path_params['space_id']}/{request.path_params['backup_id']}"
        )
        target = _text(body, "target_space_id")
        if not target:
            raise InvalidInput("give target_space_id: the id of a new space to restore into")
        restored = await s.backups.restore(me, space_id, backup, target)
        return {"status": "restored", "space_id": target, "objects_restored": restored}

    @web.endpoint("bank_consolidate", audited=True)
    async def consolidate(request: Request, me: Identity) -> dict[str, Any]:
        return {
            "status": "accepted",
            **job_dict(await s.jobs.submit(me, request.path_params["space_id"])),
        }

    @web.endpoint("bank_consolidation_status")
    async def jobs(request: Request, me: Identity) -> dict[str, Any]:
        found = await s.jobs.jobs(me, request.path_params["space_id"])
        return {"status": "ok", "jobs": [job_dict(j) for j in found]}

    @web.endpoint("admin_audit_log")
    async def audit(request: Request, me: Identity) -> dict[str, Any]:
        q = request.query_params
        try:
            limit = int(q.get("limit") or 100)
        except ValueError:
            raise InvalidInput("limit must be a whole number") from None
        records = await s.audit.read(me, q.get("space_id", ""), q.get("since", ""), limit)
        return {
            "status": "ok",
            "records": [
                {
                    "at": r.at.isoformat(),
                    "token": r.token,
                    "agent": r.agent,
                    "action": r.action,
                    "space_id": r.space,
                    "target": r.target,
                    "outcome": r.outcome,
                }
                for r in records
            ],
        }

    return [
        Route("/api/spaces", space_create, methods=["POST"]),
        Route("/api/spaces/{space_id}/delete", space_delete, methods=["POST"]),
        Route("/api/tokens", tokens, methods=["GET"]),
        Route("/api/tokens", token_create, methods=["POST"]),
        Route("/api/tokens/{token_id}/revoke", token_revoke, methods=["POST"]),
        Route("/api/spaces/{space_id}/backups", backups, methods=["GET"]),
        Route("/api/spaces/{space_id}/backups", backup_create, methods=["POST"]),
        Route("/api/spaces/{space_id}/backups/{backup_id}/restore", backup_restore, methods=["POST"]),
        Route("/api/spaces/{space_id}/consolidate", consolidate, methods=["POST"]),
        Route("/api/spaces/{space_id}/jobs", jobs, methods=["GET"]),
        Route("/api/audit", audit, methods=["GET"]),
    ]
