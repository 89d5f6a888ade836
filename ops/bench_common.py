"""What the benchmark modules share: timed concurrent calls, quantiles, MCP sessions."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from ops.server import mcp_client

__all__ = ["Row", "concurrent", "pct", "sessions", "timed"]

Row = tuple[str, str, str, str]
"""measure, live-mem's figure, the baseline's figure (same run), ratio."""


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0-1) of values, in the same unit."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    """Seconds ``fn()`` took."""
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def concurrent(
    workers: int,
    per_worker: int,
    make: Callable[[int], Awaitable[Callable[[], Awaitable[Any]]]],
) -> tuple[list[float], float]:
    """Run ``per_worker`` timed calls in each of ``workers`` tasks; latencies (s) and wall."""
    latencies: list[float] = []
    calls = [await make(i) for i in range(workers)]
    start = time.perf_counter()

    async def worker(fn: Callable[[], Awaitable[Any]]) -> None:
        for _ in range(per_worker):
            latency = await timed(fn)
            latencies.append(latency)

    await asyncio.gather(*(worker(fn) for fn in calls))
    return latencies, time.perf_counter() - start


@contextlib.asynccontextmanager
async def sessions(base: str, tokens: list[str]) -> AsyncIterator[list[Any]]:
    """One open MCP client per token."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(mcp_client(base, t)) for t in tokens]
