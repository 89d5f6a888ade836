"""The filesystem archive spool passes the spool contract, and leaves no file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from application.ports import ArchiveSink, ArchiveSpool
from contracts.spool import ArchiveSpoolContract
from infrastructure.spool import FileArchiveSpool


class TestFileArchiveSpool(ArchiveSpoolContract):
    @pytest.fixture
    def spool(self, tmp_path: Path) -> ArchiveSpool:
        return FileArchiveSpool(tmp_path)


def _files(parent: Path) -> list[Path]:
    """The archives under ``parent`` (a live spool also holds its ``.lock``)."""
    return [p for p in parent.rglob("*.tar.gz") if p.is_file()]


def _entries(parent: Path) -> list[Path]:
    return list(parent.iterdir())


async def test_a_failed_build_leaves_nothing(tmp_path: Path) -> None:
    spool = FileArchiveSpool(tmp_path)

    async def failing(sink: ArchiveSink) -> int:
        await sink.add("a.md", b"x" * 100_000)
        raise RuntimeError("the store went away")

    with pytest.raises(RuntimeError):
        await spool.build(failing)
    assert _entries(tmp_path) == []


async def test_discard_and_close_remove_the_files_and_the_directory(tmp_path: Path) -> None:
    spool = FileArchiveSpool(tmp_path)

    async def one(sink: ArchiveSink) -> int:
        await sink.add("a.md", b"a")
        return 1

    first, second = await spool.build(one), await spool.build(one)
    assert len(_files(tmp_path)) == 2
    [directory] = _entries(tmp_path)
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    await spool.discard(first)
    assert len(_files(tmp_path)) == 1
    await spool.discard(second)  # the last one: the directory goes too
    assert _entries(tmp_path) == []
    await spool.build(one)
    await spool.close()
    assert _entries(tmp_path) == []
