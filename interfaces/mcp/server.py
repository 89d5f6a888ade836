"""The MCP server: one tool per use case, named and shaped after the public live-memory
tool contract so that clients and agent rules written for it keep working.

Every tool returns a dict with a ``status`` field (``ok``, ``created``, ``deleted``); a
refused or failed call is an MCP tool error (``isError``) whose text starts with the
error's kind (``PermissionDenied: ...``, ``NotFound: ...``, ``InvalidInput: ...``).
"""

from __future__ import annotations

import base64
from typing import Any, Final

from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from pydantic import AnyHttpUrl

from application.consolidation import JobRecord
from application.ports import BackupInfo
from application.services import Services
from domain import InvalidInput, Note, Permission, SpaceMeta, TokenRecord
from interfaces.mcp.context import ToolContext
from interfaces.metrics import Metrics

__all__ = ["ARCHIVE_MAX_BYTES", "INSTRUCTIONS", "build_mcp_server"]

ARCHIVE_MAX_BYTES: Final = 50 * 1024 * 1024
INSTRUCTIONS: Final = """live-mem is the shared working memory of your team of agents.
At the start of a task: bank_read_all(space_id) to load the memory bank.
While you work: live_note(space_id, category, content) for each observation, decision,
todo, insight, question, progress or issue worth keeping; keep notes short and factual.
Never try to edit the bank: consolidation writes it from the notes."""


def _meta(meta: SpaceMeta) -> dict[str, Any]:
    return {
        "space_id": meta.space_id.value,
        "description": meta.description,
        "owner": meta.owner.value,
        "created_at": meta.created_at.isoformat(),
        "consolidations": meta.consolidations,
        "last_consolidation": meta.last_consolidation_at.isoformat() if meta.last_consolidation_at else None,
    }


def _note(note: Note) -> dict[str, Any]:
    return {
        "note_id": note.note_id,
        "agent": note.agent.value,
        "category": note.category.value,
        "content": note.content,
        "tags": list(note.tags),
        "timestamp": note.created_at.isoformat(),
    }


def _token(record: TokenRecord) -> dict[str, Any]:
    return {
        "token_id": record.token_id,
        "token_hash": record.token_hash,
        "name": record.name.value,
        "permission": record.permission.label,
        "space_ids": list(record.spaces),
        "created_at": record.created_at.isoformat(),
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        "revoked": record.revoked,
    }


def _backup(info: BackupInfo) -> dict[str, Any]:
    return {
        "backup_id": f"{info.space_id}/{info.backup_id}",
        "space_id": info.space_id.value,
        "created_at": info.created_at.isoformat(),
        "objects": info.objects,
        "size": info.size,
    }


def _job(job: JobRecord) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "space_id": job.space_id.value,
        "state": job.state.value,
        "requested_by": job.requested_by,
        "agent": job.agent_scope,
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
        "attempts": job.attempts,
        "error": job.error,
        "report": job.report,
    }


def _split_backup_id(backup_id: str) -> tuple[str, str]:
    if not isinstance(backup_id, str) or backup_id.count("/") != 1:
        raise InvalidInput("backup_id must look like 'space-id/20260131T120000Z-1a2b3c4d' (see backup_list)")
    space, _, backup = backup_id.partition("/")
    return space, backup


def _csv(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    if not isinstance(value, str):
        raise InvalidInput("expected a comma-separated string")
    return [part.strip() for part in value.split(",") if part.strip()]


def _highest_permission(permissions: str) -> str:
    levels = [Permission.parse(p) for p in _csv(permissions)]
    if not levels:
        raise InvalidInput("permissions must name read, write, manage or admin")
    return max(levels).label


def _archive(data: bytes, name: str) -> dict[str, Any]:
    if len(data) > ARCHIVE_MAX_BYTES:
        raise InvalidInput(
            f"the archive is {len(data)} bytes, over the {ARCHIVE_MAX_BYTES}-byte limit of one tool answer; "
            "use the live-mem CLI to export large spaces"
        )
    return {
        "status": "ok",
        "filename": name,
        "size": len(data),
        "format": "tar.gz",
        "archive_base64": base64.b64encode(data).decode(),
    }


def build_mcp_server(
    services: Services,
    metrics: Metrics,
    *,
    local_token: str | None = None,
    token_verifier: TokenVerifier | None = None,
    public_url: str = "http://127.0.0.1:8080",
) -> MCPServer:
    """Build the MCP server with every live-mem tool and the bank resources.

    Args:
        services: the use cases.
        metrics: where tool calls are counted.
        local_token: the token that stdio or in-memory callers act with.
        token_verifier: verifies HTTP bearer tokens (None for stdio / in-memory).
        public_url: the server's public base URL (OAuth protected resource metadata).
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
    mcp: MCPServer = MCPServer(
        "live-mem",
        instructions=INSTRUCTIONS,
        version=services.system.version,
        token_verifier=token_verifier,
        auth=auth,
        warn_on_duplicate_tools=True,
    )
    ctx = ToolContext(services, metrics, local_token)
    _system_tools(mcp, ctx)
    _space_tools(mcp, ctx)
    _live_tools(mcp, ctx)
    _bank_tools(mcp, ctx)
    _backup_tools(mcp, ctx)
    _admin_tools(mcp, ctx)
    return mcp


def _system_tools(mcp: MCPServer, ctx: ToolContext) -> None:
    s = ctx.services

    @mcp.tool()
    @ctx.tool
    async def system_health() -> dict[str, Any]:
        """Health of live-mem, its object store (S3: HEAD bucket) and, when consolidation
        uses a model, the model endpoint. Needs any valid token. Returns status "ok" or
        "degraded", the store's state and the consolidation mode."""
        await ctx.caller()
        health = await s.system.health(probe_llm=True)
        return {
            "status": "ok" if health.ok else "degraded",
            "version": s.system.version,
            "store": {
                "status": health.store,
                "kind": health.store_kind,
                "conditional_writes": health.conditional_writes,
            },
            "llm": health.llm,
        }

    @mcp.tool()
    @ctx.tool
    async def system_about() -> dict[str, Any]:
        """What live-mem is, its version and its tools with one line each."""
        await ctx.caller()
        tools = await mcp.list_tools()
        return {
            "status": "ok",
            "name": "live-mem",
            "version": s.system.version,
            "description": "Shared working memory for AI agents: notes consolidated into a memory bank.",
            "tools_count": len(tools),
            "tools": [{"name": t.name, "description": (t.description or "").split("\n")[0]} for t in tools],
        }

    @mcp.tool()
    @ctx.tool
    async def system_whoami() -> dict[str, Any]:
        """Your identity: the token's name (your agent name), permission and spaces."""
        me = await ctx.caller()
        return {
            "status": "ok",
            "name": me.name.value,
            "permission": me.permission.label,
            "space_ids": list(me.spaces),
        }


def _space_tools(mcp: MCPServer, ctx: ToolContext) -> None:
    s = ctx.services

    @mcp.tool()
    @ctx.tool
    async def space_create(
        space_id: str, description: str = "", rules: str = "", owner: str = ""
    ) -> dict[str, Any]:
        """Create a space (needs manage). space_id: 1-64 lowercase letters, digits, '-'.
        rules: Markdown naming the bank files with headings like '## progress.md' and a
        paragraph on each file's role; empty rules give a default set of four files.
        Rules are fixed at creation. Errors: AlreadyExists, InvalidInput, PermissionDenied."""
        me = await ctx.caller()
        meta = await s.spaces.create(me, space_id, description, rules)
        if owner:
            meta = await s.spaces.update(me, space_id, owner=owner)
        return {"status": "created", **_meta(meta), "rules_size": len(rules.encode())}

    @mcp.tool()
    @ctx.tool
    async def space_list() -> dict[str, Any]:
        """The spaces your token may use, with description and owner (needs read)."""
        me = await ctx.caller()
        spaces = [_meta(m) for m in await s.spaces.list(me)]
        return {"status": "ok", "spaces": spaces, "total": len(spaces)}

    @mcp.tool()
    @ctx.tool
    async def space_info(space_id: str) -> dict[str, Any]:
        """A space's metadata, live note counts by category and agent, and bank files."""
        me = await ctx.caller()
        o = await s.spaces.overview(me, space_id)
        return {
            "status": "ok",
            **_meta(o.meta),
            "live": {
                "notes_count": o.notes,
                "by_category": o.notes_by_category,
                "by_agent": o.notes_by_agent,
            },
            "bank": {
                "files_count": len(o.bank_files),
                "total_size": sum(f.size for f in o.bank_files),
                "files": [f.name.value for f in o.bank_files],
            },
            "synthesis_exists": bool(o.synthesis),
        }

    @mcp.tool()
    @ctx.tool
    async def space_rules(space_id: str) -> dict[str, Any]:
        """The space's rules (Markdown) and the bank files they declare."""
        me = await ctx.caller()
        rules = await s.spaces.rules(me, space_id)
        return {
            "status": "ok",
            "space_id": space_id,
            "rules": rules.text,
            "files": [n.value for n in rules.file_names()],
        }

    @mcp.tool()
    @ctx.tool
    async def space_summary(space_id: str) -> dict[str, Any]:
        """Everything an agent needs at the start of a task, in one call: metadata, rules,
        the last synthesis, bank file list and live note counts."""
        me = await ctx.caller()
        o = await s.spaces.overview(me, space_id)
        rules = await s.spaces.rules(me, space_id)
        return {
            "status": "ok",
            **_meta(o.meta),
            "rules": rules.text,
            "synthesis": o.synthesis,
            "bank_files": [{"filename": f.name.value, "size": f.size} for f in o.bank_files],
            "live": {"notes_count": o.notes, "by_category": o.notes_by_category},
        }

    @mcp.tool()
    @ctx.tool
    async def space_update(
        space_id: str, description: str | None = None, owner: str | None = None
    ) -> dict[str, Any]:
        """Change a space's description and/or owner (needs manage). Rules never change."""
        me = await ctx.caller()
        return {"status": "ok", **_meta(await s.spaces.update(me, space_id, description, owner))}

    @mcp.tool()
    @ctx.tool
    async def space_delete(space_id: str, confirm: bool = False) -> dict[str, Any]:
        """Delete a space with all its notes and bank (needs manage; cannot be undone;
        backups are kept). Pass confirm=true."""
        me = await ctx.caller()
        removed = await s.spaces.delete(me, space_id, confirm)
        return {"status": "deleted", "space_id": space_id, "objects_deleted": removed}

    @mcp.tool()
    @ctx.tool
    async def space_export(space_id: str) -> dict[str, Any]:
        """The whole space as a tar.gz archive in base64 (needs read; at most 50 MiB)."""
        me = await ctx.caller()
        return _archive(await s.spaces.export(me, space_id), f"{space_id}.tar.gz")


def _live_tools(mcp: MCPServer, ctx: ToolContext) -> None:
    s = ctx.services

    @mcp.tool()
    @ctx.tool
    async def live_note(
        space_id: str, category: str, content: str, agent: str = "", tags: str | list[str] = ""
    ) -> dict[str, Any]:
        """Append a note to the space's live log (needs write). Call it whenever you learn
        something worth keeping. category: observation | decision | todo | insight |
        question | progress | issue. content: 1 byte to 32 KiB of text. tags: up to 16,
        comma-separated. The note is written as your token's name; agent, if given, must
        be that name. Notes are never edited; consolidation carries them into the bank."""
        me = await ctx.caller()
        if agent and agent != me.name.value:
            raise InvalidInput(f"agent must be empty or your token's name ({me.name.value})")
        note = await s.notes.write(me, space_id, category, content, _csv(tags))
        return {"status": "created", "space_id": space_id, **_note(note), "size": len(content.encode())}

    @mcp.tool()
    @ctx.tool
    async def live_read(
        space_id: str, limit: int = 50, category: str = "", agent: str = "", since: str = "", cursor: str = ""
    ) -> dict[str, Any]:
        """Live notes newest first (needs read). Filters: category, agent, since (ISO 8601
        with timezone, inclusive). limit: 1-200. For the next page pass back next_cursor."""
        me = await ctx.caller()
        page = await s.notes.read(
            me,
            space_id,
            category=category or None,
            agent=agent or None,
            since=since or None,
            limit=limit,
            cursor=cursor or None,
        )
        return {
            "status": "ok",
            "space_id": space_id,
            "notes": [_note(n) for n in page.notes],
            "count": len(page.notes),
            "total": page.total_matching,
            "next_cursor": page.next_cursor,
        }

    @mcp.tool()
    @ctx.tool
    async def live_search(space_id: str, query: str, limit: int = 20) -> dict[str, Any]:
        """Live notes containing every word of query (case-insensitive) in their text,
        tags or agent, newest first (needs read; scans the 5,000 newest notes)."""
        me = await ctx.caller()
        notes = await s.notes.search(me, space_id, query, limit)
        return {
            "status": "ok",
            "space_id": space_id,
            "query": query,
            "notes": [_note(n) for n in notes],
            "count": len(notes),
        }


def _bank_tools(mcp: MCPServer, ctx: ToolContext) -> None:
    s = ctx.services

    @mcp.tool()
    @ctx.tool
    async def bank_read(space_id: str, filename: str) -> dict[str, Any]:
        """One memory bank file, e.g. filename='activeContext.md' (needs read)."""
        me = await ctx.caller()
        file = await s.bank.read(me, space_id, filename)
        return {
            "status": "ok",
            "space_id": space_id,
            "filename": file.name.value,
            "content": file.content,
            "size": file.size,
        }

    @mcp.tool()
    @ctx.tool
    async def bank_read_all(space_id: str) -> dict[str, Any]:
        """The whole memory bank in one call: call it at the start of every task."""
        me = await ctx.caller()
        files = await s.bank.read_all(me, space_id)
        return {
            "status": "ok",
            "space_id": space_id,
            "files": [{"filename": f.name.value, "content": f.content, "size": f.size} for f in files],
            "total_size": sum(f.size for f in files),
        }

    @mcp.tool()
    @ctx.tool
    async def bank_list(space_id: str) -> dict[str, Any]:
        """Bank file names and sizes in bytes, without content (needs read). Use bank_read
        for one file or bank_read_all for all of them."""
        me = await ctx.caller()
        files = await s.bank.list(me, space_id)
        return {
            "status": "ok",
            "space_id": space_id,
            "files": [{"filename": f.name.value, "size": f.size} for f in files],
        }

    @mcp.tool()
    @ctx.tool
    async def bank_consolidate(space_id: str, agent: str = "") -> dict[str, Any]:
        """Start consolidating live notes into the memory bank; returns a job_id at once
        (poll bank_consolidation_status). With write permission it consolidates your own
        notes; with manage, every note (agent empty) or one agent's. One consolidation
        runs per space at a time; notes written meanwhile wait for the next one. A failed
        batch leaves its notes in live/."""
        me = await ctx.caller()
        job = await s.consolidation.submit(me, space_id, agent)
        return {"status": "accepted", **_job(job)}

    @mcp.tool()
    @ctx.tool
    async def bank_consolidation_status(job_id: str) -> dict[str, Any]:
        """A consolidation job's state (queued, running, succeeded, failed), its error if
        it failed, and its report: notes consumed, files changed, LLM tokens in and out,
        duration (needs read on the job's space)."""
        me = await ctx.caller()
        return {"status": "ok", **_job(await s.consolidation.status(me, job_id))}

    @mcp.tool()
    @ctx.tool
    async def bank_history(space_id: str, limit: int = 20) -> dict[str, Any]:
        """Past consolidation batches, newest first: when, mode, notes consumed (which
        ones), files changed, LLM tokens in and out, duration (needs read)."""
        me = await ctx.caller()
        runs = await s.consolidation.history(me, space_id, limit)
        return {"status": "ok", "space_id": space_id, "runs": runs, "count": len(runs)}

    @mcp.resource("livemem://{space_id}/bank/{filename}", mime_type="text/markdown")
    async def bank_file(space_id: str, filename: str) -> str:
        """A memory bank file as an MCP resource."""
        me = await ctx.caller()
        return (await s.bank.read(me, space_id, filename)).content


def _backup_tools(mcp: MCPServer, ctx: ToolContext) -> None:
    s = ctx.services

    @mcp.tool()
    @ctx.tool
    async def backup_create(space_id: str, description: str = "") -> dict[str, Any]:
        """Copy the whole space into a backup kept in the same store (needs manage). Older
        backups beyond the retention count are deleted."""
        me = await ctx.caller()
        return {
            "status": "created",
            **_backup(await s.backups.create(me, space_id)),
            "description": description,
        }

    @mcp.tool()
    @ctx.tool
    async def backup_list(space_id: str = "") -> dict[str, Any]:
        """Backups of one space, or of every space you can use when space_id is empty."""
        me = await ctx.caller()
        spaces = [space_id] if space_id else [m.space_id.value for m in await s.spaces.list(me)]
        found = [_backup(b) for sp in spaces for b in await s.backups.list(me, sp)]
        return {"status": "ok", "backups": found, "total": len(found)}

    @mcp.tool()
    @ctx.tool
    async def backup_restore(
        backup_id: str, confirm: bool = False, target_space_id: str = ""
    ) -> dict[str, Any]:
        """Recreate a backup as a space that does not exist (needs manage): the original
        space id (delete it first) or target_space_id. Pass confirm=true."""
        me = await ctx.caller()
        if confirm is not True:
            raise InvalidInput("restoring writes a whole space: call again with confirm=true")
        space, backup = _split_backup_id(backup_id)
        target = target_space_id or space
        restored = await s.backups.restore(me, space, backup, target)
        return {"status": "ok", "backup_id": backup_id, "space_id": target, "objects_restored": restored}

    @mcp.tool()
    @ctx.tool
    async def backup_download(backup_id: str) -> dict[str, Any]:
        """A backup as a tar.gz archive in base64 (needs read; at most 50 MiB)."""
        me = await ctx.caller()
        space, backup = _split_backup_id(backup_id)
        return _archive(await s.backups.download(me, space, backup), f"{space}-{backup}.tar.gz")

    @mcp.tool()
    @ctx.tool
    async def backup_delete(backup_id: str, confirm: bool = False) -> dict[str, Any]:
        """Delete a backup for good (needs manage). backup_id as given by backup_list;
        pass confirm=true. Errors: NotFound, InvalidInput."""
        me = await ctx.caller()
        if confirm is not True:
            raise InvalidInput("deleting a backup cannot be undone: call again with confirm=true")
        space, backup = _split_backup_id(backup_id)
        await s.backups.delete(me, space, backup)
        return {"status": "deleted", "backup_id": backup_id}


def _admin_tools(mcp: MCPServer, ctx: ToolContext) -> None:
    s = ctx.services

    async def resolve(token_hash: str) -> str:
        """Accept a token id or its hash (the public contract names tokens by hash)."""
        me = await ctx.caller()
        for record in await s.auth.list(me):
            if token_hash in (record.token_id, record.token_hash):
                return record.token_id
        return token_hash

    @mcp.tool()
    @ctx.tool
    async def admin_create_token(
        name: str, permissions: str, space_ids: str | list[str] = "", expires_in_days: int = 0
    ) -> dict[str, Any]:
        """Create a token (needs admin). name: the agent's identity. permissions: read,
        write, manage or admin (the highest one listed counts). space_ids: comma-separated,
        empty for all. The secret is shown in this answer only, never again."""
        me = await ctx.caller()
        issued = await s.auth.create(
            me, name, _highest_permission(permissions), _csv(space_ids) or ["*"], expires_in_days or None
        )
        return {
            "status": "created",
            **_token(issued.record),
            "token": issued.secret,
            "warning": "this token is shown once: store it now",
        }

    @mcp.tool()
    @ctx.tool
    async def admin_list_tokens() -> dict[str, Any]:
        """Every token's metadata: id, hash, name, permission, spaces, expiry, revoked.
        Secrets are never stored, so never shown (needs admin)."""
        me = await ctx.caller()
        tokens = [_token(r) for r in await s.auth.list(me)]
        return {"status": "ok", "tokens": tokens, "total": len(tokens)}

    @mcp.tool()
    @ctx.tool
    async def admin_update_token(
        token_hash: str, space_ids: str | list[str] = "", permissions: str = ""
    ) -> dict[str, Any]:
        """Change a token's spaces and/or permission (needs admin); empty means unchanged.
        token_hash: the token's id or hash from admin_list_tokens."""
        me = await ctx.caller()
        record = await s.auth.update(
            me,
            await resolve(token_hash),
            _highest_permission(permissions) if permissions else None,
            _csv(space_ids) or None,
        )
        return {"status": "ok", **_token(record)}

    @mcp.tool()
    @ctx.tool
    async def admin_revoke_token(token_hash: str) -> dict[str, Any]:
        """Revoke a token: it stops working at once, on every replica (needs admin).
        token_hash: the token's id or hash from admin_list_tokens. Errors: NotFound."""
        me = await ctx.caller()
        return {"status": "ok", **_token(await s.auth.revoke(me, await resolve(token_hash)))}

    @mcp.tool()
    @ctx.tool
    async def admin_delete_token(token_hash: str) -> dict[str, Any]:
        """Delete a token's record for good (needs admin); revoke first to keep an audit trail.
        token_hash: the token's id or hash from admin_list_tokens. Errors: NotFound."""
        me = await ctx.caller()
        token_id = await resolve(token_hash)
        await s.auth.delete(me, token_id)
        return {"status": "deleted", "token_id": token_id}
