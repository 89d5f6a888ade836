"""Claim latency (``work_claim`` over MCP streamable HTTP) beside ``live_note`` at the
same concurrency, same server, same run: 1 and 32 agents each renewing its own claim
(one GET and one conditional PUT of a claim record), and 32 agents racing for one
resource (one keeps it; the others read who holds it and are refused)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ops.bench_common import Row, concurrent, pct, sessions
from ops.server import call, mcp_client

__all__ = ["claim_rows"]

SPACE = "bench-work"
NOTE = "Claimed the migration of the billing tables; see the plan in the design notes."


async def claim_rows(base: str, key: str, label: str, quick: bool) -> list[Row]:
    """Rows: claim p50/p99 at 1 and 32 agents (own resources), and contended at 32."""
    async with mcp_client(base, key) as admin:
        await call(admin, "space_create", {"space_id": SPACE, "description": "claim benchmark"})
        tokens = [
            str(
                (
                    await call(
                        admin,
                        "admin_create_token",
                        {"name": f"bench-work-{i:02d}", "permissions": "write", "space_ids": SPACE},
                    )
                )["token"]
            )
            for i in range(32)
        ]
    rows: list[Row] = []
    for level, shared in ((1, False), (32, False), (32, True)):
        per = max(3, (60 if quick else 240) // level)
        async with sessions(base, tokens[:level]) as clients:

            async def claim_call(i: int, shared: bool = shared) -> Callable[[], Awaitable[Any]]:
                client = clients[i]
                resource = "file:shared/schema.sql" if shared else f"file:agent-{i}/work.md"
                return lambda: client.call_tool("work_claim", {"space_id": SPACE, "resource": resource})

            async def note_call(i: int) -> Callable[[], Awaitable[Any]]:
                client = clients[i]
                return lambda: call(
                    client, "live_note", {"space_id": SPACE, "category": "progress", "content": NOTE}
                )

            claims, wall = await concurrent(level, per, claim_call)
            notes, _ = await concurrent(level, per, note_call)
        what = "one resource, contended" if shared else "own resources (renewals)"
        rows.append(
            (
                f"[{label}] work_claim, {level} agents, {what}",
                f"p50 {pct(claims, 0.5) * 1000:.1f} ms, p99 {pct(claims, 0.99) * 1000:.1f} ms, "
                f"{len(claims) / wall:.0f}/s",
                f"live_note p50 {pct(notes, 0.5) * 1000:.1f} ms, p99 {pct(notes, 0.99) * 1000:.1f} ms",
                f"{pct(claims, 0.5) / pct(notes, 0.5):.2f}x",
            )
        )
    return rows
