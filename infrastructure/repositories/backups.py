"""Backups and archives over an ``ObjectStore``.

A backup of space ``s`` is a copy of every object under ``s/`` at
``_backups/s/{backup_id}/objects/...`` plus ``_backups/s/{backup_id}/manifest.json``,
written last: a backup without a manifest (a crash mid-copy) is never listed.
The manifest records the generation (incarnation) of the space it copied. Archives are
streamed into an :class:`application.ports.ArchiveSink`, one object at a time.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from datetime import datetime
from typing import Final

import attrs

from application.ports import ArchiveSink, BackupInfo
from application.store import ObjectNotFound, ObjectStore, PreconditionFailed, StoreError
from domain import AlreadyExists, LimitExceeded, NotFound, SpaceId
from domain.consolidation import Journal
from infrastructure import codecs, layout

__all__ = ["BACKUPS_PREFIX", "StoreBackupRepository"]

BACKUPS_PREFIX: Final = layout.BACKUPS_PREFIX
_COPY_CONCURRENCY: Final = 16


def _root(space_id: SpaceId, backup_id: str) -> str:
    return f"{BACKUPS_PREFIX}{space_id}/{backup_id}/"


async def _keys(store: ObjectStore, prefix: str) -> list[str]:
    return [info.key async for page in store.list_pages(prefix) for info in page]


class StoreBackupRepository:
    """Implements :class:`application.ports.BackupRepository`."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def _copy(self, pairs: builtins.list[tuple[str, str]]) -> int:
        semaphore = asyncio.Semaphore(_COPY_CONCURRENCY)
        total = 0

        async def one(source: str, target: str) -> None:
            nonlocal total
            async with semaphore:
                try:
                    data = (await self._store.get(source)).data
                except ObjectNotFound:
                    return  # consumed meanwhile (a note carried into the bank)
                total += len(data)
                await self._store.put(target, data)

        await asyncio.gather(*(one(s, t) for s, t in pairs))
        return total

    async def create(
        self, space_id: SpaceId, backup_id: str, created_at: datetime, generation: str = ""
    ) -> BackupInfo:
        """See :class:`application.ports.BackupRepository`."""
        prefix = layout.space_prefix(space_id)
        keys = [k for k in await _keys(self._store, prefix) if not layout.transient(space_id, k)]
        if layout.meta_key(space_id) not in keys:
            raise NotFound(f"space {space_id} does not exist")
        root = _root(space_id, backup_id)
        size = await self._copy([(k, f"{root}objects/{k.removeprefix(prefix)}") for k in keys])
        manifest = BackupInfo(space_id, backup_id, created_at, len(keys), size, generation)
        await self._store.put_if_absent(f"{root}manifest.json", codecs.encode_json(manifest))
        return manifest

    async def space_ids(self) -> builtins.list[SpaceId]:
        """See :class:`application.ports.BackupRepository`."""
        found = {
            key.removeprefix(BACKUPS_PREFIX).split("/", 1)[0]
            for key in await _keys(self._store, BACKUPS_PREFIX)
        }
        return [SpaceId(s) for s in sorted(found) if s]

    async def list(self, space_id: SpaceId) -> list[BackupInfo]:
        """See :class:`application.ports.BackupRepository`."""
        prefix = f"{BACKUPS_PREFIX}{space_id}/"
        found = []
        for key in await _keys(self._store, prefix):
            rest = key.removeprefix(prefix)
            if rest.count("/") == 1 and rest.endswith("/manifest.json"):
                found.append(
                    codecs.decode_json((await self._store.get(key)).data, BackupInfo, "backup manifest")
                )
        return sorted(found, key=lambda b: b.backup_id)

    async def _object_keys(self, space_id: SpaceId, backup_id: str) -> builtins.list[str]:
        root = _root(space_id, backup_id)
        try:
            await self._store.head(f"{root}manifest.json")
        except ObjectNotFound:
            raise NotFound(f"space {space_id} has no backup {backup_id}") from None
        return await _keys(self._store, f"{root}objects/")

    async def restore(self, space_id: SpaceId, backup_id: str, target: SpaceId, generation: str) -> int:
        """See :class:`application.ports.BackupRepository`. Notes and metadata are
        rewritten to name the target space; the target's metadata is claimed last with
        put-if-absent, so a racing creator of the same id wins cleanly."""
        keys = await self._object_keys(space_id, backup_id)
        if await _keys(self._store, layout.space_prefix(target)):
            raise AlreadyExists(f"space {target} already exists; restore into a new space id")
        lost_race = False
        try:
            objects = f"{_root(space_id, backup_id)}objects/"
            meta_source = f"{objects}_meta.json"
            for key in keys:
                if key == meta_source:
                    continue
                data = (await self._store.get(key)).data
                relative = key.removeprefix(objects)
                if relative.startswith("_consolidations/") and relative.endswith(".json"):
                    data = _rehome_journal(data, space_id, target, key)
                if relative.startswith("live/"):
                    note = codecs.decode_note(data)
                    data = codecs.encode_note(attrs.evolve(note, space_id=target))
                    relative = layout.note_key(attrs.evolve(note, space_id=target)).removeprefix(
                        layout.space_prefix(target)
                    )
                await self._store.put(f"{layout.space_prefix(target)}{relative}", data)
            meta = codecs.decode_meta((await self._store.get(meta_source)).data)
            try:
                await self._store.put_if_absent(
                    layout.meta_key(target),
                    codecs.encode_meta(attrs.evolve(meta, space_id=target, generation=generation)),
                )
            except PreconditionFailed:
                lost_race = True  # the id is someone else's now: leave its objects alone
                raise AlreadyExists(f"space {target} was created meanwhile") from None
        except BaseException:
            if not lost_race:
                await self._purge(target)  # a restore that stops half-way leaves nothing behind
            raise
        await self._store.put(layout.space_marker_key(target), b"")
        return len(keys)

    async def _purge(self, target: SpaceId) -> None:
        for key in await _keys(self._store, layout.space_prefix(target)):
            with contextlib.suppress(StoreError):
                await self._store.delete(key)

    async def archive(
        self, space_id: SpaceId, backup_id: str, sink: ArchiveSink, max_bytes: int | None = None
    ) -> int:
        """See :class:`application.ports.BackupRepository`."""
        keys = await self._object_keys(space_id, backup_id)
        objects = f"{_root(space_id, backup_id)}objects/"
        await self._check_size(objects, set(keys), max_bytes)
        return await self._fill(sink, [(k, f"{space_id}/{k.removeprefix(objects)}") for k in keys])

    async def delete(self, space_id: SpaceId, backup_id: str) -> None:
        """See :class:`application.ports.BackupRepository`. The manifest goes first, so
        a delete that stops half-way leaves no listed, incomplete backup."""
        root = _root(space_id, backup_id)
        keys = await self._object_keys(space_id, backup_id)
        await self._store.delete(f"{root}manifest.json")
        for key in keys:
            await self._store.delete(key)

    async def export_space(self, space_id: SpaceId, sink: ArchiveSink, max_bytes: int | None = None) -> int:
        """See :class:`application.ports.BackupRepository`."""
        keys = [
            k
            for k in await _keys(self._store, layout.space_prefix(space_id))
            if not layout.transient(space_id, k)
        ]
        if not keys:
            raise NotFound(f"space {space_id} does not exist")
        await self._check_size(layout.space_prefix(space_id), set(keys), max_bytes)
        return await self._fill(sink, [(k, k) for k in keys])

    async def _check_size(self, prefix: str, keys: set[str], max_bytes: int | None) -> None:
        """Refuse, from a listing alone, an archive whose objects would pass the limit."""
        if max_bytes is None:
            return
        sizes = [i.size async for page in self._store.list_pages(prefix) for i in page if i.key in keys]
        total = sum(sizes)
        if total > max_bytes:
            raise LimitExceeded(
                f"the objects add up to {total} bytes, over the {max_bytes}-byte limit of one archive; "
                "export a space that large with `live-mem spaces export SPACE FILE`, which has no limit"
            )

    async def _fill(self, sink: ArchiveSink, members: builtins.list[tuple[str, str]]) -> int:
        """Read the objects one at a time into the sink; one gone meanwhile (a note
        consumed by a consolidation) is left out."""
        added = 0
        for key, name in members:
            try:
                data = (await self._store.get(key)).data
            except ObjectNotFound:
                continue
            await sink.add(name, data)
            added += 1
        return added


def _rehome_journal(data: bytes, source: SpaceId, target: SpaceId, key: str) -> bytes:
    """A journal of ``source`` rewritten to name ``target``: its space and the keys of
    the notes it consumed, so that rolling it forward in the copy acts on the copy only."""
    journal = codecs.decode_json(data, Journal, f"journal {key}")
    old, new = layout.space_prefix(source), layout.space_prefix(target)
    consumed = tuple(
        attrs.evolve(c, key=new + c.key.removeprefix(old) if c.key.startswith(old) else c.key)
        for c in journal.consumed
    )
    return codecs.encode_json(attrs.evolve(journal, space_id=target, consumed=consumed))
