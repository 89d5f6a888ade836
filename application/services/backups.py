"""Backups: consistent copies of a space kept in the same store.

A backup belongs to the incarnation of the space it copied (``SpaceMeta.generation``):
once a space is deleted and its id given to a new space, the old backups are not that
new space's. They are listed, downloaded, restored and deleted through the space id
only by an admin (who can restore one into a free id), and the new space's retention
never prunes them. Restoring a backup into the id it came from brings its incarnation
back, backups included.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Awaitable, Callable
from typing import Final

import attrs

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
from application.services.downloads import Download, Downloads
from domain import ALL_SPACES, Identity, InvalidInput, NotFound, Permission, SpaceId

ARCHIVE_MAX_BYTES: Final = 50 * 1024 * 1024
"""The default bound on the objects an export or a download may add up to
(``EXPORT_MAX_BYTES``)."""

__all__ = ["ARCHIVE_MAX_BYTES", "BackupService"]

_BACKUP_ID_RE: Final = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{8}")


def _backup_id(value: str) -> str:
    if not isinstance(value, str) or not _BACKUP_ID_RE.fullmatch(value):
        raise InvalidInput("invalid backup id: use an id from backup_list, e.g. 20260131T120000Z-1a2b3c4d")
    return value


BACKUP_WAIT_SECONDS: Final = 45.0
"""How long a backup waits for a consolidation of its space to end (within the 60 s
that MCP clients commonly wait for a tool's answer)."""


@attrs.define(eq=False)
class BackupService:
    """Create, list, restore, download and delete backups of a space. A backup holds the
    space's consolidation lease while it copies (``Conflict`` while a consolidation runs).

    Args:
        lock: the space's consolidation lease.
        retention: how many backups to keep per space; older ones are deleted after
            each new backup (``BACKUP_RETENTION_COUNT``).
        downloads: builds archives and hands each out once.
        archive_max_bytes: the most a download's objects may add up to.
        notes: told to forget what it keeps of a space a restore recreates.
        roll_forward: commits the journals a crash left ``prepared`` before a copy.
    """

    _spaces: SpaceRepository
    _backups: BackupRepository
    _lock: SpaceLock = attrs.field(kw_only=True)
    _clock: Clock = attrs.field(kw_only=True)
    _ids: IdGenerator = attrs.field(kw_only=True)
    _retention: int = attrs.field(kw_only=True)
    _downloads: Downloads = attrs.field(kw_only=True)
    _archive_max_bytes: int = attrs.field(kw_only=True, default=ARCHIVE_MAX_BYTES)
    _notes: NoteRepository | None = attrs.field(kw_only=True, default=None)
    _roll_forward: Callable[[SpaceId], Awaitable[int]] | None = attrs.field(kw_only=True, default=None)

    async def create(self, caller: Identity, space_id: str) -> BackupInfo:
        """Copy the whole space (manage); prune beyond the retention count. A
        consolidation of the space under way is waited for (``BACKUP_WAIT_SECONDS``),
        so that the copy holds whole batches only.

        Raises:
            PermissionDenied, InvalidInput, NotFound; Conflict when the space's lease is
            still held after the wait.
        """
        space = require_space_access(caller, Permission.MANAGE, space_id)
        generation = (await self._spaces.get(space)).generation
        now = self._clock.now()
        backup_id = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{self._ids.new_id()[:8]}"
        # The space's consolidation lease keeps consolidation out while the copy is made,
        # so the bank, synthesis and journals in a backup belong together.
        async with self._lock.hold(space, f"backup-{backup_id}", wait=BACKUP_WAIT_SECONDS):
            if self._roll_forward is not None:  # a backup never holds a half-applied batch
                await self._roll_forward(space)
            info = await self._backups.create(space, backup_id, now, generation)
        # Retention counts this incarnation's backups only: an earlier one's are kept.
        existing = [b for b in await self._backups.list(space) if b.generation == generation]
        for old in existing[: max(0, len(existing) - self._retention)]:
            await self._backups.delete(space, old.backup_id)
        return info

    async def list(self, caller: Identity, space_id: str) -> list[BackupInfo]:
        """Finished backups of the space's current incarnation, oldest first (read); an
        admin gets every backup kept under the id, earlier incarnations' too (their
        ``generation`` differs from the space's)."""
        space = require_space_access(caller, Permission.READ, space_id)
        found = await self._backups.list(space)
        if caller.permission >= Permission.ADMIN:
            return found
        current = await self._generation(space)
        return [b for b in found if b.generation == current]

    async def list_everywhere(self, caller: Identity) -> builtins.list[BackupInfo]:
        """The backups of every space the caller may read (read), by space then age; an
        admin for every space also gets those kept under the ids of deleted spaces."""
        caller.require(Permission.READ)
        if caller.permission >= Permission.ADMIN and ALL_SPACES in caller.spaces:
            spaces = [s.value for s in await self._backups.space_ids()]
        else:
            spaces = [s.value for s in await self._spaces.list_ids() if caller.can_use(s)]
        return [b for space in spaces for b in await self.list(caller, space)]

    async def restore(self, caller: Identity, space_id: str, backup_id: str, target_space_id: str) -> int:
        """Recreate a backup as a new space (manage on both); the target must not exist.
        Restored into the id it came from, the space is the backup's incarnation again;
        under another id it is a new one.

        Raises:
            PermissionDenied, InvalidInput, NotFound (no such backup, or one of an
            earlier incarnation for a caller who is not admin), AlreadyExists.
        """
        space = require_space_access(caller, Permission.MANAGE, space_id)
        target = require_space_access(caller, Permission.MANAGE, target_space_id)
        backup = await self._visible(caller, space, backup_id)
        generation = backup.generation if target == space else self._ids.new_id()
        restored = await self._backups.restore(space, backup.backup_id, target, generation)
        if self._notes is not None:
            self._notes.forget(target)
        return restored

    async def download(self, caller: Identity, space_id: str, backup_id: str) -> Download:
        """A backup as a tar.gz archive to fetch once (read): built into the spool,
        members named ``{space}/{key}``.

        Raises:
            PermissionDenied, InvalidInput, NotFound (as :meth:`restore`),
            LimitExceeded (over ``archive_max_bytes``), RateLimited (see
            :class:`~application.services.downloads.Downloads`).
        """
        space = require_space_access(caller, Permission.READ, space_id)
        backup = await self._visible(caller, space, backup_id)
        return await self._downloads.stage(
            caller.name.value,
            f"{space}-{backup.backup_id}.tar.gz",
            lambda sink: self._backups.archive(space, backup.backup_id, sink, self._archive_max_bytes),
        )

    async def delete(self, caller: Identity, space_id: str, backup_id: str) -> None:
        """Delete one backup (manage). Raises ``NotFound`` as :meth:`restore`."""
        space: SpaceId = require_space_access(caller, Permission.MANAGE, space_id)
        backup = await self._visible(caller, space, backup_id)
        await self._backups.delete(space, backup.backup_id)

    async def _generation(self, space: SpaceId) -> str | None:
        """The space's current incarnation, or None when no space has the id."""
        try:
            return (await self._spaces.get(space)).generation
        except NotFound:
            return None

    async def _visible(self, caller: Identity, space: SpaceId, backup_id: str) -> BackupInfo:
        """The backup, if the caller may reach it: one of the current incarnation, or
        any for an admin. Anything else is ``NotFound``, as if it did not exist."""
        wanted = _backup_id(backup_id)
        for backup in await self.list(caller, space.value):
            if backup.backup_id == wanted:
                return backup
        raise NotFound(f"space {space} has no backup {wanted}")
