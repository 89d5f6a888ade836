"""The contract of every :class:`application.ports.ArchiveSpool`."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

import pytest

from application.ports import ArchiveSink, ArchiveSpool, SpooledArchive
from domain import NotFound

__all__ = ["ArchiveSpoolContract"]

MEMBERS = [("alpha/_meta.json", b'{"space_id": "alpha"}'), ("alpha/live/n.md", b"- a note\n" * 100)]


async def _fill(sink: ArchiveSink, members: list[tuple[str, bytes]] = MEMBERS) -> int:
    for name, data in members:
        await sink.add(name, data)
    return len(members)


async def _bytes(spool: ArchiveSpool, archive: SpooledArchive) -> bytes:
    return b"".join([chunk async for chunk in spool.chunks(archive)])


def _members(data: bytes) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        found = []
        for member in archive:
            extracted = archive.extractfile(member)
            assert extracted is not None
            found.append((member.name, extracted.read()))
        return found


class ArchiveSpoolContract:
    """Behaviour of every archive spool; a subclass provides ``spool``."""

    @pytest.fixture
    def spool(self) -> ArchiveSpool:
        raise NotImplementedError

    async def test_an_archive_reads_back_as_the_tar_gz_of_its_members(self, spool: ArchiveSpool) -> None:
        archive = await spool.build(_fill)
        data = await _bytes(spool, archive)
        assert _members(data) == MEMBERS
        assert (archive.size, archive.sha256, archive.members) == (
            len(data),
            hashlib.sha256(data).hexdigest(),
            2,
        )

    async def test_a_large_member_comes_back_in_bounded_chunks(self, spool: ArchiveSpool) -> None:
        big = os.urandom(3 * 1024 * 1024)  # incompressible: the archive is larger than a chunk
        archive = await spool.build(lambda sink: _fill(sink, [("alpha/big.bin", big)]))
        sizes = [len(chunk) async for chunk in spool.chunks(archive)]
        assert max(sizes) <= 64 * 1024
        assert sum(sizes) == archive.size
        assert _members(await _bytes(spool, archive)) == [("alpha/big.bin", big)]

    async def test_a_failed_build_propagates_its_error(self, spool: ArchiveSpool) -> None:
        async def failing(sink: ArchiveSink) -> int:
            await sink.add("alpha/first.md", b"first")
            raise NotFound("space alpha does not exist")

        with pytest.raises(NotFound, match="alpha does not exist"):
            await spool.build(failing)
        archive = await spool.build(_fill)  # the spool still works
        assert _members(await _bytes(spool, archive)) == MEMBERS

    async def test_a_discarded_archive_is_gone_and_discarding_again_does_nothing(
        self, spool: ArchiveSpool
    ) -> None:
        archive = await spool.build(_fill)
        await spool.discard(archive)
        await spool.discard(archive)
        with pytest.raises(NotFound):
            await _bytes(spool, archive)

    async def test_close_removes_every_archive(self, spool: ArchiveSpool) -> None:
        first, second = await spool.build(_fill), await spool.build(_fill)
        await spool.close()
        for archive in (first, second):
            with pytest.raises(NotFound):
                await _bytes(spool, archive)
