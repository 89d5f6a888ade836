"""The contract of every :class:`application.ports.BackupRepository`, run on every store:
a backup copies the space whole but its leases (the consolidation lease, claims,
presence), is listed only once its manifest is written, restores into a new space only,
archives and exports within a byte limit checked before any read, and deletes cleanly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.ports import BackupRepository
from contracts.backend import Backend, WithBackend
from domain import AgentName, AlreadyExists, LimitExceeded, Note, NoteCategory, NotFound, SpaceId, SpaceMeta
from infrastructure import codecs, layout
from infrastructure.repositories.backups import StoreBackupRepository

__all__ = ["BackupRepositoryContract"]

SPACE = SpaceId("alpha")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
_NOTE = Note(SPACE, "0123456789abcdef", AgentName("alice"), NoteCategory.TODO, "Write the guide", T0)
OBJECTS = {
    layout.meta_key(SPACE): codecs.encode_meta(SpaceMeta(SPACE, "a space", AgentName("alice"), T0)),
    "alpha/bank/progress.md": b"# Progress\n" + b"- a line\n" * 50,
    layout.note_key(_NOTE): codecs.encode_note(_NOTE),
    layout.item_key(SPACE, _NOTE.note_id): b'{"item": 1}',
}
TRANSIENT = {
    "alpha/_lease.json": b'{"holder": "job"}',
    "alpha/_claims/0123.json": b'{"claim": 1}',
    "alpha/_presence/alice.json": b'{"agent": "alice"}',
}


class _Sink:
    """An archive sink that keeps its members in memory."""

    def __init__(self) -> None:
        self.members: dict[str, bytes] = {}

    async def add(self, name: str, data: bytes) -> None:
        self.members[name] = data


class BackupRepositoryContract(WithBackend):
    """Behaviour of every ``BackupRepository``."""

    @pytest.fixture
    def backups(self, backend: Backend) -> BackupRepository:
        for key, data in {**OBJECTS, **TRANSIENT}.items():
            backend.raw_put(key, data)
        return StoreBackupRepository(backend.store)

    async def test_a_backup_copies_the_space_but_its_leases_and_restores_into_a_new_space(
        self, backend: Backend, backups: BackupRepository
    ) -> None:
        info = await backups.create(SPACE, "b1", T0, generation="gen-1")
        assert (info.objects, info.generation) == (len(OBJECTS), "gen-1")
        assert [b.backup_id for b in await backups.list(SPACE)] == ["b1"]
        restored = await backups.restore(SPACE, "b1", SpaceId("beta"), "gen-2")
        assert restored == len(OBJECTS)
        rewritten = {layout.meta_key(SPACE), layout.note_key(_NOTE)}  # they name their space
        for key, data in OBJECTS.items():
            copy = backend.raw_get("beta/" + key.removeprefix("alpha/"))
            assert copy is not None if key in rewritten else copy == data, key
        for key in TRANSIENT:
            assert backend.raw_get("beta/" + key.removeprefix("alpha/")) is None, key

    async def test_restoring_over_an_existing_space_or_from_no_backup_is_refused(
        self, backups: BackupRepository
    ) -> None:
        await backups.create(SPACE, "b1", T0)
        with pytest.raises(AlreadyExists):
            await backups.restore(SPACE, "b1", SPACE, "gen")
        with pytest.raises(NotFound):
            await backups.restore(SPACE, "missing", SpaceId("gamma"), "gen")
        with pytest.raises(NotFound):
            await backups.create(SpaceId("nowhere"), "b2", T0)

    async def test_backups_list_oldest_first_and_delete_cleanly(self, backups: BackupRepository) -> None:
        for n in (2, 1, 3):
            await backups.create(SPACE, f"b{n}", T0 + timedelta(minutes=n))
        assert [b.backup_id for b in await backups.list(SPACE)] == ["b1", "b2", "b3"]
        await backups.delete(SPACE, "b2")
        assert [b.backup_id for b in await backups.list(SPACE)] == ["b1", "b3"]
        with pytest.raises(NotFound):
            await backups.delete(SPACE, "b2")
        assert SPACE in await backups.space_ids()

    async def test_archives_hold_the_objects_and_a_byte_limit_refuses_before_reading(
        self, backups: BackupRepository
    ) -> None:
        await backups.create(SPACE, "b1", T0)
        sink = _Sink()
        assert await backups.archive(SPACE, "b1", sink) == len(OBJECTS)
        assert set(sink.members) == set(OBJECTS)
        export = _Sink()
        assert await backups.export_space(SPACE, export) == len(OBJECTS)
        assert set(export.members) == set(OBJECTS)  # the leases left out of exports too
        small = _Sink()
        with pytest.raises(LimitExceeded):
            await backups.export_space(SPACE, small, max_bytes=64)
        assert small.members == {}
