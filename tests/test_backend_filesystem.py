"""The contract suites on ``FileSystemObjectStore`` (the embedded default)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from contracts.backend import Backend, OpenBackend
from contracts.suites import bind_suites
from infrastructure.stores import FileSystemObjectStore


@pytest.fixture
def open_backend(tmp_path_factory: pytest.TempPathFactory) -> OpenBackend:
    async def open_() -> Backend:
        root = tmp_path_factory.mktemp("store")

        def raw_get(key: str) -> bytes | None:
            path = root / key
            return path.read_bytes() if path.is_file() else None

        def raw_put(key: str, data: bytes) -> None:
            path: Path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        return Backend("filesystem", FileSystemObjectStore(root), raw_get, raw_put)

    return open_


globals().update(bind_suites("FileSystem"))


async def _keys(store: FileSystemObjectStore, prefix: str, after: str = "") -> list[str]:
    return [i.key async for page in store.list_pages(prefix, start_after=after) for i in page]


async def test_a_reused_folder_listing_never_hides_a_later_write(tmp_path: Path) -> None:
    store = FileSystemObjectStore(tmp_path)
    folder = tmp_path / "s" / "live"
    await store.put("s/live/a", b"1")
    mtime = folder.stat().st_mtime_ns
    assert await _keys(store, "s/live/") == ["s/live/a"]  # changed just now: not kept
    await store.put("s/live/b", b"2")
    os.utime(folder, ns=(mtime, mtime))  # a coarse clock gives both changes one mtime
    assert await _keys(store, "s/live/", "s/live/a") == ["s/live/b"]
    os.utime(tmp_path / "s" / "live", ns=(time.time_ns() - 10**9, time.time_ns() - 10**9))
    assert await _keys(store, "s/live/") == ["s/live/a", "s/live/b"]  # settled: kept
    await store.put("s/live/c", b"3")
    await store.delete("s/live/a")
    assert await _keys(store, "s/live/") == ["s/live/b", "s/live/c"]


async def test_lock_files_do_not_pile_up_and_stale_temporary_files_are_swept(tmp_path: Path) -> None:
    store = FileSystemObjectStore(tmp_path)
    await asyncio.gather(*(store.put(f"s/live/{i:04d}", b"x") for i in range(300)))
    await store.put_if_absent("s/one", b"1")
    await store.delete("s/live/0000")
    assert [p for p in (tmp_path / ".locks").rglob("*") if p.is_file()] == []
    old, young = tmp_path / ".tmp" / "left-by-a-kill", tmp_path / ".tmp" / "being-written"
    old.write_bytes(b"partial")
    young.write_bytes(b"partial")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    FileSystemObjectStore(tmp_path)
    assert not old.exists()
    assert young.exists()
