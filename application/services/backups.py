"""Backups: consistent copies of a space kept in the same store."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Final

from application.access import require_space_access
from application.consolidation.lock import SpaceLock
from application.ports import (
    BackupInfo,
    BackupRepository,
    Clock,
    IdGenerator,
    NoteRepository,
    SpaceRepository,
)
from domain import Identity, InvalidInput, Permission, SpaceId

ARCHIVE_MAX_BYTES: Final = 50 * 1024 * 1024
"""The largest archive (sum of its objects' sizes) export and download build."""

__all__ = ["ARCHIVE_MAX_BYTES", "BackupService"]

_BACKUP_ID_RE: Final = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def _backup_id(value: str) -> str:
    if not isinstance(value, str) or not _BACKUP_ID_RE.fullmatch(value):
        raise InvalidInput("invalid backup id: use an id from backup_list, e.g. 20260131T120000Z-1a2b3c4d")
    return value


class BackupService:
    """Create, list, restore, download and delete backups of a space. A backup holds the
    space's consolidation lease while it copies (``Conflict`` while a consolidation runs).

    Args:
        lock: the space's consolidation lease.
        retention: how many backups to keep per space; older ones are deleted after
            each new backup (``BACKUP_RETENTION_COUNT``).
        notes: told to forget what it keeps of a space a restore recreates.
        roll_forward: commits the journals a crash left ``prepared`` before a copy.
    """

    def __init__(
        self,
        spaces: SpaceRepository,
        backups: BackupRepository,
        *,
        lock: SpaceLock,
        clock: Clock,
        ids: IdGenerator,
        retention: int,
        notes: NoteRepository | None = None,
        roll_forward: Callable[[SpaceId], Awaitable[int]] | None = None,
    ) -> None:
        self._spaces = spaces
        self._backups = backups
        self._notes = notes
        self._roll_forward = roll_forward
        self._lock = lock
        self._clock = clock
        self._ids = ids
        self._retention = retention

    async def create(self, caller: Identity, space_id: str) -> BackupInfo:
        """Copy the whole space (manage); prune beyond the retention count."""
        space = require_space_access(caller, Permission.MANAGE, space_id)
        await self._spaces.get(space)
        now = self._clock.now()
        backup_id = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{self._ids.new_id()[:8]}"
        # The space's consolidation lease keeps consolidation out while the copy is made,
        # so the bank, synthesis and journals in a backup belong together.
        async with self._lock.hold(space, f"backup-{backup_id}"):
            if self._roll_forward is not None:  # a backup never holds a half-applied batch
                await self._roll_forward(space)
            info = await self._backups.create(space, backup_id, now)
        existing = await self._backups.list(space)
        for old in existing[: max(0, len(existing) - self._retention)]:
            await self._backups.delete(space, old.backup_id)
        return info

    async def list(self, caller: Identity, space_id: str) -> list[BackupInfo]:
        """Finished backups of a space, oldest first (read)."""
        space = require_space_access(caller, Permission.READ, space_id)
        return await self._backups.list(space)

    async def restore(self, caller: Identity, space_id: str, backup_id: str, target_space_id: str) -> int:
        """Recreate a backup as a new space (manage on both); the target must not exist."""
        space = require_space_access(caller, Permission.MANAGE, space_id)
        target = require_space_access(caller, Permission.MANAGE, target_space_id)
        restored = await self._backups.restore(space, _backup_id(backup_id), target)
        if self._notes is not None:
            self._notes.forget(target)
        return restored

    async def download(self, caller: Identity, space_id: str, backup_id: str) -> bytes:
        """A backup as a tar.gz archive (read)."""
        space = require_space_access(caller, Permission.READ, space_id)
        return await self._backups.archive(space, _backup_id(backup_id), ARCHIVE_MAX_BYTES)

    async def delete(self, caller: Identity, space_id: str, backup_id: str) -> None:
        """Delete one backup (manage)."""
        space: SpaceId = require_space_access(caller, Permission.MANAGE, space_id)
        await self._backups.delete(space, _backup_id(backup_id))
