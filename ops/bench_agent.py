"""What an agent pays and gets, for ``make bench``:

- ``tools/list`` bytes (the JSON of the tools, as an SDK client receives them) for a
  read, write and manage token, beside the whole list (an admin's) in the same run;
- the start-of-task context (``memory_context``) on the demo space (the dataset's 600
  notes imported and consolidated, extractive): tokens against its budget, and p50 time
  over 30 calls, beside ``bank_read_all`` (what an agent loaded before it existed).
"""

from __future__ import annotations

import json
import time

from application.services import Services
from domain.consolidation import estimate_tokens
from interfaces.bootstrap import memory_services
from ops.bench_common import Row, pct
from ops.dataset import NOTES_FILE, RULES_FILE
from tests.mcp_support import connect

__all__ = ["agent_rows"]

KEY = "bench-agent-bootstrap-key-0123456789abcdef"
SPACE = "demo"
TASK = "Why do streamable HTTP sessions fail behind a load balancer?"
CALLS = 30


async def _demo_space() -> Services:
    services = memory_services(KEY)
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, SPACE, "MCP Python SDK", RULES_FILE.read_text(encoding="utf-8"))
    await services.imports.import_notes(admin, SPACE, NOTES_FILE.read_text(encoding="utf-8"))
    await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    return services


async def agent_rows() -> list[Row]:
    """The rows of this module (module docstring)."""
    services = await _demo_space()
    admin = await services.auth.authenticate(KEY)
    secrets = {
        p: (await services.auth.create(admin, f"bench-{p}", p, [SPACE])).secret
        for p in ("read", "write", "manage")
    }
    sizes: dict[str, tuple[int, int]] = {}
    for name, secret in (*secrets.items(), ("admin", KEY)):
        async with connect(services, secret) as client:
            tools = (await client.list_tools()).tools
        body = json.dumps([t.model_dump(mode="json", exclude_none=True, by_alias=True) for t in tools])
        sizes[name] = (len(tools), len(body.encode()))
    full = sizes["admin"][1]
    rows: list[Row] = [
        (
            f"tools/list, {name} token",
            f"{count} tools, {size:,} B (~{size // 4:,} tokens)",
            f"all {sizes['admin'][0]} tools {full:,} B",
            f"{size / full:.2f}x",
        )
        for name, (count, size) in sizes.items()
        if name != "admin"
    ]
    reader = await services.auth.authenticate(secrets["read"])
    times, found = [], None
    for _ in range(CALLS):
        started = time.perf_counter()
        found = await services.context.start(reader, SPACE, TASK)
        times.append(time.perf_counter() - started)
    bank_times, bank_tokens = [], 0
    for _ in range(CALLS):
        started = time.perf_counter()
        files = await services.bank.read_all(reader, SPACE)
        bank_times.append(time.perf_counter() - started)
        bank_tokens = sum(estimate_tokens(f.content) for f in files)
    assert found is not None
    rows.append(
        (
            "start-of-task context (memory_context), demo space",
            f"{found.tokens} of {found.budget} tokens, p50 {pct(times, 0.5) * 1000:.1f} ms",
            f"bank_read_all {bank_tokens} tokens, p50 {pct(bank_times, 0.5) * 1000:.1f} ms",
            f"{found.tokens / bank_tokens:.2f}x tokens",
        )
    )
    await services.close()
    return rows
