"""Benchmark rows for space exports (review item 3), in process on the memory store,
against the former export measured in the same run: the tar.gz built in memory, then
base64 in a tool answer whose JSON text repeats it beside the structured content.

- Extra Python memory at the peak (``tracemalloc``) of one export of a 32 MiB space,
  the archive read to the end as the download route streams it.
- The same for eight exports at once by one token (the review's figure: 3 GB): ours
  builds ``EXPORT_MAX_CONCURRENT`` (2) and refuses the rest with ``RateLimited``.
- The longest the event loop stalls during one export (what ``/health`` waits), with a
  10 ms ticker beside it.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import secrets
import tarfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

from application.services import Services
from domain import Identity, RateLimited
from infrastructure.stores import MemoryObjectStore
from interfaces.bootstrap import build_services

__all__ = ["export_rows"]

_KEY = secrets.token_urlsafe(32)
_FILES, _FILE_BYTES = 256, 128 * 1024  # 32 MiB of objects
_SPACE = "bench-export"
Row = tuple[str, str, str, str]


async def _space() -> tuple[Services, Identity]:
    services = build_services(MemoryObjectStore(), bootstrap_key=_KEY, store_kind="memory")
    admin = await services.auth.authenticate(_KEY)
    await services.spaces.create(admin, _SPACE, "export bench", "")
    words = [secrets.token_hex(4) for _ in range(2000)]  # text that compresses like prose, about 2x
    for i in range(_FILES):
        text = " ".join(secrets.choice(words) for _ in range(_FILE_BYTES // 9))
        await services.store.put(f"{_SPACE}/bank/f{i:03d}.md", text.encode()[:_FILE_BYTES])
    return services, admin


async def _ours(services: Services, admin: Identity) -> int:
    download = await services.spaces.export(admin, _SPACE)
    _, chunks = await services.downloads.claim(download.ticket)
    return sum([len(chunk) async for chunk in chunks])


async def _former(services: Services) -> int:
    """The former export: every object into an in-memory tar.gz, base64, and the answer
    as both structured content and its JSON text."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        async for page in services.store.list_pages(f"{_SPACE}/"):
            for info in page:
                data = (await services.store.get(info.key)).data
                await asyncio.sleep(0)  # a real store's GET yields: concurrent exports interleave
                member = tarfile.TarInfo(info.key)
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
    data = buffer.getvalue()
    structured: dict[str, Any] = {"status": "ok", "archive_base64": base64.b64encode(data).decode()}
    text = json.dumps(structured)
    return len(text)


async def _peak(work: Callable[[], Awaitable[Any]]) -> float:
    """Extra MiB allocated at the peak of ``work`` (tracemalloc)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        await work()
        return (tracemalloc.get_traced_memory()[1] - before) / 2**20
    finally:
        tracemalloc.stop()


async def _stall(work: Callable[[], Awaitable[Any]]) -> float:
    """The longest gap, in ms, between two ticks of a 10 ms ticker while ``work`` runs."""
    longest, running = 0.0, True

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            longest = max(longest, now - last - 0.01)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)
    await work()
    running = False
    await task
    return longest * 1000


async def export_rows() -> list[Row]:
    """The three rows described in the module docstring."""
    services, admin = await _space()
    try:
        ours_one = await _peak(lambda: _ours(services, admin))
        former_one = await _peak(lambda: _former(services))
        refused = 0

        async def ours_eight() -> None:
            nonlocal refused
            found = await asyncio.gather(*(_ours(services, admin) for _ in range(8)), return_exceptions=True)
            refused = sum(isinstance(f, RateLimited) for f in found)

        async def former_eight() -> None:
            await asyncio.gather(*(_former(services) for _ in range(8)))

        ours_many = await _peak(ours_eight)
        former_many = await _peak(former_eight)
        ours_stall = await _stall(lambda: _ours(services, admin))
        former_stall = await _stall(lambda: _former(services))
    finally:
        await services.close()
    return [
        (
            "space_export of 32 MiB: extra memory at peak",
            f"{ours_one:.1f} MiB (temporary file, link)",
            f"in memory + base64 twice: {former_one:.1f} MiB",
            f"{ours_one / former_one:.2f}x",
        ),
        (
            "8 space_export at once: extra memory at peak",
            f"{ours_many:.1f} MiB ({8 - refused} built, {refused} RateLimited)",
            f"in memory + base64 twice: {former_many:.1f} MiB",
            f"{ours_many / former_many:.2f}x",
        ),
        (
            "space_export of 32 MiB: longest event-loop stall",
            f"{ours_stall:.0f} ms (gzip in a worker thread)",
            f"gzip in the event loop: {former_stall:.0f} ms",
            f"{ours_stall / former_stall:.2f}x",
        ),
    ]


if __name__ == "__main__":
    for row in asyncio.run(export_rows()):
        print(" | ".join(row))
