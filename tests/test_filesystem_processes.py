"""``FileSystemObjectStore`` conditional writes hold across processes (flock)."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.synchronize import Event
from pathlib import Path

from application.store import PreconditionFailed
from contracts.object_store import increment
from infrastructure.stores import FileSystemObjectStore


def _contend(root: str, index: int, start: Event) -> bool:
    async def attempt() -> bool:
        start.wait()
        try:
            await FileSystemObjectStore(root).put_if_absent("race/key", str(index).encode())
        except PreconditionFailed:
            return False
        return True

    return asyncio.run(attempt())


def _increment(root: str, times: int) -> int:
    return asyncio.run(increment(FileSystemObjectStore(root), "race/counter", times))


def test_put_if_absent_across_processes_has_one_winner(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Event()
        with context.Pool(6) as pool:
            pending = [pool.apply_async(_contend, (str(tmp_path), i, start)) for i in range(30)]
            start.set()
            results = [p.get(timeout=60) for p in pending]
    assert results.count(True) == 1


def test_compare_and_swap_counter_across_processes_loses_nothing(tmp_path: Path) -> None:
    asyncio.run(FileSystemObjectStore(tmp_path).put("race/counter", b"0"))
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        pool.starmap(_increment, [(str(tmp_path), 25)] * 4)
    assert asyncio.run(FileSystemObjectStore(tmp_path).get("race/counter")).data == b"100"
