"""MCP tools and resources of the memory bank family."""

from __future__ import annotations

from typing import Any, Final

from mcp.server.mcpserver import MCPServer

from domain import Permission
from interfaces.edge.shapes import (
    bank_file_dict,
    bank_info_dict,
    comma_list,
    edit_dict,
    job_dict,
    lanes_dict,
    repair_dict,
    report_dict,
    run_dict,
    stale_dict,
)
from interfaces.mcp.context import Call, Tool, ToolContext, tool

__all__ = ["BANK_TOOLS", "bank_resources"]


PUBLIC_STATE: Final = {"queued": "queued", "running": "running", "succeeded": "completed", "failed": "failed"}
"""Job states as the public live-memory server reports them in ``status``."""


@tool(Permission.READ)
async def bank_read(call: Call, space_id: str, filename: str) -> dict[str, Any]:
    """One memory bank file, e.g. filename='activeContext.md' (needs read)."""
    me, s = call.me, call.services
    return {"status": "ok", "space_id": space_id, **bank_file_dict(await s.bank.read(me, space_id, filename))}


@tool(Permission.READ)
async def bank_read_all(call: Call, space_id: str) -> dict[str, Any]:
    """The whole memory bank in one call: call it at the start of every task. It holds
    the hot files, each within its token budget; older entries and the full text of
    every note are in the archive (bank_list shows it, bank_read reads it)."""
    me, s = call.me, call.services
    files = await s.bank.read_all(me, space_id)
    shaped, total = [bank_file_dict(f) for f in files], sum(f.size for f in files)
    return {
        "status": "ok",
        "space_id": space_id,
        "files": shaped,
        "file_count": len(files),
        "total_size": total,
    }


@tool(Permission.READ)
async def bank_list(call: Call, space_id: str) -> dict[str, Any]:
    """Bank file names and sizes in bytes, without content (needs read); archive
    files (archive/...) have archived=true. Use bank_read for one file (archive ones
    included) or bank_read_all for the hot bank."""
    me, s = call.me, call.services
    files = [bank_info_dict(f) for f in await s.bank.list(me, space_id)]
    return {"status": "ok", "space_id": space_id, "files": files, "file_count": len(files)}


@tool(Permission.WRITE, audited=True)
async def bank_consolidate(call: Call, space_id: str, agent: str = "") -> dict[str, Any]:
    """Start consolidating live notes into the memory bank; returns a job_id at once
    (poll bank_consolidation_status). With write permission it consolidates your own
    notes; with manage, every note (agent empty) or one agent's. One consolidation
    runs per space at a time; notes written meanwhile wait for the next one. A failed
    batch leaves its notes in live/."""
    me, s = call.me, call.services
    job = await s.jobs.submit(me, space_id, agent)
    return {"status": "accepted", **job_dict(job)}


@tool(Permission.MANAGE, audited=True)
async def bank_compact(call: Call, space_id: str) -> dict[str, Any]:
    """Apply the bank's token budgets now, consuming no note (needs manage): entries
    over a file's budget move to the archive, through a journal like consolidation.
    Returns the report (batches 0 when nothing had to change). Errors: Conflict while
    the space is being consolidated, backed up or deleted."""
    me, s = call.me, call.services
    return {"status": "ok", "space_id": space_id, "report": report_dict(await s.jobs.compact(me, space_id))}


@tool(Permission.READ)
async def bank_consolidation_status(call: Call, job_id: str) -> dict[str, Any]:
    """A consolidation job's state (queued, running, succeeded, failed), its error if
    it failed, and its report: notes consumed, files changed, LLM tokens in and out,
    duration (needs read on the job's space). status is the job's state as the
    public live-memory server names it (queued, running, completed, failed) and
    result its report."""
    me, s = call.me, call.services
    job = job_dict(await s.jobs.status(me, job_id))
    return {**job, "status": PUBLIC_STATE[job["state"]], "result": job["report"]}


@tool(Permission.READ)
async def bank_history(call: Call, space_id: str, limit: int = 20) -> dict[str, Any]:
    """Past consolidation batches, newest first: when, mode, notes consumed (which
    ones), files changed, LLM tokens in and out, duration (needs read)."""
    me, s = call.me, call.services
    runs = [run_dict(r) for r in await s.jobs.history(me, space_id, limit)]
    return {"status": "ok", "space_id": space_id, "runs": runs, "count": len(runs)}


@tool(Permission.ADMIN, audited=True)
async def bank_write(call: Call, space_id: str, filename: str, content: str) -> dict[str, Any]:
    """Create or replace a hot bank file by hand (needs admin; an escape hatch:
    consolidation normally writes the bank). Goes through a journal like a
    consolidation and shows in bank_history; the archive cannot be written."""
    me, s = call.me, call.services
    return {
        "status": "ok",
        "space_id": space_id,
        **edit_dict(await s.bank_edit.write(me, space_id, filename, content)),
    }


@tool(Permission.ADMIN, audited=True)
async def bank_delete(call: Call, space_id: str, filename: str) -> dict[str, Any]:
    """Delete a hot bank file (needs admin), through a journal; the archive keeps the
    full text of every consolidated note. Errors: NotFound, InvalidInput."""
    me, s = call.me, call.services
    return {
        "status": "deleted",
        "space_id": space_id,
        **edit_dict(await s.bank_edit.delete(me, space_id, filename)),
    }


@tool(Permission.MANAGE, audited=True)
async def bank_repair(call: Call, space_id: str, dry_run: bool = True) -> dict[str, Any]:
    """Find what hand edits leave in a bank (needs manage): duplicate sections in a
    file (merged into the first when dry_run is false, through a journal) and files
    the rules do not declare (flagged only). dry_run defaults to true."""
    me, s = call.me, call.services
    return {
        "status": "ok",
        "space_id": space_id,
        **repair_dict(await s.bank_edit.repair(me, space_id, dry_run=dry_run)),
    }


@tool(Permission.READ)
async def bank_consolidation_queues(call: Call, space_ids: str | list[str] = "") -> dict[str, Any]:
    """Consolidation lanes, one per space (needs read): lane_state (idle, queued,
    running, failed), running_job, queued_count, latest_jobs, with totals.
    space_ids: comma-separated, empty for every space you can use; ones you cannot
    are listed in denied_spaces."""
    me, s = call.me, call.services
    return {"status": "ok", **lanes_dict(await s.supervision.queues(me, comma_list(space_ids)))}


@tool(Permission.READ)
async def bank_stale_spaces(
    call: Call, min_notes: int = 5, min_age_days: int = 5, space_ids: str | list[str] = ""
) -> dict[str, Any]:
    """Spaces whose consolidation fell behind (needs read): at least min_notes live
    notes, the oldest at least min_age_days old (both inclusive). Returns spaces (the
    stale ones, most notes first), scanned (every space looked at) and denied_spaces."""
    me, s = call.me, call.services
    return {
        "status": "ok",
        **stale_dict(await s.supervision.stale(me, min_notes, min_age_days, comma_list(space_ids))),
    }


def bank_resources(mcp: MCPServer, ctx: ToolContext) -> None:
    """Register the bank files as the MCP resource template ``livemem://{space}/bank/{file}``."""
    s = ctx.services

    @mcp.resource("livemem://{space_id}/bank/{filename}", mime_type="text/markdown")
    @ctx.resource("resource:bank_file")
    async def bank_file(space_id: str, filename: str) -> str:
        """A memory bank file as an MCP resource."""
        me = await ctx.caller()
        return (await s.bank.read(me, space_id, filename)).content


BANK_TOOLS: Final[tuple[Tool, ...]] = (
    bank_read,
    bank_read_all,
    bank_list,
    bank_consolidate,
    bank_compact,
    bank_consolidation_status,
    bank_history,
    bank_write,
    bank_delete,
    bank_repair,
    bank_consolidation_queues,
    bank_stale_spaces,
)
