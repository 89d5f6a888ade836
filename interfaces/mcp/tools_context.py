"""The start-of-task context as a tool (``memory_context``, for clients without prompts)
and as MCP prompts (``start_task``, and ``end_task`` for what to write down at the end)."""

from __future__ import annotations

from typing import Any, Final

from mcp.server.mcpserver import MCPServer

from application.services.context import BUDGET_DEFAULT, TaskContext
from domain import InvalidInput, Permission
from interfaces.mcp.context import Call, Tool, ToolContext, tool

__all__ = ["CONTEXT_TOOLS", "END_TASK", "context_prompts"]

END_TASK = """You are finishing a task in the live-mem space {space}. Before you stop, write
down what the team will need, one short note each (live_note):
- decision: what was decided, why, and who decided;
- progress: what is done now (name files, versions, issue numbers as they are);
- todo / issue / question: anything left open (each becomes a work item);
- for a work item you finished: work_done(space_id, item_id, outcome) instead of a note;
- release every claim you still hold (work_release). {claims}
Keep each note to what a teammate starting tomorrow must know; never restate the bank."""


def _context_dict(found: TaskContext) -> dict[str, Any]:
    return {
        "status": "ok",
        "space_id": found.space_id,
        "budget_tokens": found.budget,
        "tokens": found.tokens,
        "estimator": "UTF-8 bytes / 4, rounded up",
        "parts": [{"title": p.title, "tokens": p.tokens, "omitted": p.omitted or None} for p in found.parts],
        "text": found.text,
    }


def _budget(text: str) -> int:
    try:
        return int(text) if text.strip() else BUDGET_DEFAULT
    except ValueError:
        raise InvalidInput("budget_tokens must be a whole number") from None


@tool(Permission.READ)
async def memory_context(
    call: Call, space_id: str, task: str = "", budget_tokens: int = BUDGET_DEFAULT
) -> dict[str, Any]:
    """Everything to load at the start of a task, in one call within budget_tokens
    (default 4000; 200-32000; UTF-8 bytes/4): the rules in brief, activeContext, open
    work items and your claims, then what memory_search finds for task. Each part
    says what it left out and which tool reads it (needs read)."""
    me, s = call.me, call.services
    return _context_dict(await s.context.start(me, space_id, task, budget_tokens))


def context_prompts(mcp: MCPServer, ctx: ToolContext) -> None:
    """Register the prompts ``start_task`` and ``end_task``."""
    s = ctx.services

    @mcp.prompt(
        name="start_task",
        description="The space's context for a task, within a token budget (default 4000).",
    )
    @ctx.prompt("memory_context")
    async def start_task(space_id: str, task: str = "", budget_tokens: str = "") -> str:
        me = await ctx.caller()
        found = await s.context.start(me, space_id, task, _budget(budget_tokens))
        head = f"Context of the live-mem space {space_id}" + (f" for the task: {task}" if task else "")
        return f"{head}\n({found.tokens} of {found.budget} tokens)\n\n{found.text}"

    @mcp.prompt(name="end_task", description="What to write down in the space before you stop.")
    @ctx.prompt("work_items")
    async def end_task(space_id: str) -> str:
        me = await ctx.caller()
        claims = [c.resource for c in await s.work.held_by(me, space_id)]
        held = f"You hold: {', '.join(claims)}." if claims else "You hold no claim."
        return END_TASK.format(space=space_id, claims=held)


CONTEXT_TOOLS: Final[tuple[Tool, ...]] = (memory_context,)
