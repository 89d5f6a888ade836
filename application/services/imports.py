"""Importing notes with their original timestamps and authors (admin only)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Final

import attrs

from application.access import require_space_access
from application.ports import BankRepository, Clock, NoteRepository, SpaceRepository
from domain import AlreadyExists, Identity, Note, Permission, SpaceId
from domain.consolidation import Archive
from domain.imports import parse_import

__all__ = ["ImportReport", "ImportService"]

_WRITE_CONCURRENCY: Final = 16


@attrs.frozen
class ImportReport:
    """What an import did: notes written, notes skipped because the space already has
    them (live, archived or consumed by a journal), and the notes the text held."""

    imported: int
    skipped: int
    notes: int


FUTURE_SKEW: Final = timedelta(minutes=5)
"""How far past this server's clock an imported timestamp may be (clocks differ)."""


@attrs.define(eq=False)
class ImportService:
    """``admin_import_notes`` and ``live-mem notes import``: see :mod:`domain.imports`.
    ``written`` is told of a space that received notes (the search service embeds them
    in the background)."""

    _spaces: SpaceRepository
    _notes: NoteRepository
    _bank: BankRepository
    _clock: Clock
    _written: Callable[[SpaceId], None] | None = attrs.field(kw_only=True, default=None)

    async def import_notes(self, caller: Identity, space_id: str, jsonl: str) -> ImportReport:
        """Validate every line first, then write the notes that the space does not hold
        yet, with their own timestamps. Idempotent: a second import of the same text
        writes nothing. A store failure part-way leaves the notes written so far; running
        the import again completes it.

        Raises:
            PermissionDenied (not admin), NotFound (no space), InvalidInput (bad lines,
            named by number; nothing written).
        """
        space = require_space_access(caller, Permission.ADMIN, space_id)
        await self._spaces.get(space)
        parsed = parse_import(space, jsonl, latest=self._clock.now() + FUTURE_SKEW)
        known = {ref.note_id for ref in await self._notes.refs(space)}
        archive = Archive(space, {f.name: f.content for f in await self._bank.get_archive(space)})
        known |= archive.note_ids()  # a consumed note is in the archive before it leaves live/
        fresh = [n for n in parsed if n.note_id not in known]
        semaphore = asyncio.Semaphore(_WRITE_CONCURRENCY)

        async def write(note: Note) -> bool:
            async with semaphore:
                try:
                    await self._notes.add(note)
                except AlreadyExists:  # written meanwhile by a concurrent import
                    return False
                return True

        written = sum(await asyncio.gather(*(write(n) for n in fresh)))
        if written and self._written is not None:
            self._written(space)
        return ImportReport(imported=written, skipped=len(parsed) - written, notes=len(parsed))
