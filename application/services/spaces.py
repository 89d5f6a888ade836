"""Spaces: create, list, inspect, update, delete and export."""

from __future__ import annotations

import asyncio
import builtins
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import attrs
import structlog

from application.access import require_space_access
from application.consolidation.lock import SpaceLock
from application.ports import (
    BackupRepository,
    BankFileInfo,
    BankRepository,
    Clock,
    IdGenerator,
    NoteRepository,
    SpaceRepository,
)
from application.services.backups import ARCHIVE_MAX_BYTES
from application.services.downloads import Download, Downloads
from application.store import CorruptObject
from domain import (
    ALL_SPACES,
    AgentName,
    Identity,
    InvalidInput,
    NotFound,
    Permission,
    SpaceId,
    SpaceMeta,
    SpaceRules,
    utc_stamp,
)
from domain.consolidation import check_rules
from domain.model import DESCRIPTION_MAX_BYTES
from domain.values import check_text

__all__ = ["SpaceOverview", "SpaceService"]

log = structlog.get_logger("live_mem.spaces")


@attrs.frozen
class SpaceOverview:
    """What ``space_info`` and ``space_summary`` report.

    Attributes:
        meta: the stored metadata.
        notes: live notes waiting for consolidation.
        notes_by_category, notes_by_agent: their counts.
        bank_files: bank files with sizes.
        synthesis: the last synthesis text ("" when none).
    """

    meta: SpaceMeta
    notes: int
    notes_by_category: dict[str, int]
    notes_by_agent: dict[str, int]
    bank_files: list[BankFileInfo]
    synthesis: str


@attrs.define(eq=False)
class SpaceService:
    """The space use cases; every method checks the caller's permission first.

    Args:
        ids: gives each new space its incarnation id (``SpaceMeta.generation``).
        downloads: builds exports and hands each out once.
        archive_max_bytes: the most an export's objects may add up to
            (``EXPORT_MAX_BYTES``).
        grant: adds a space to the caller's token (for a token limited to some spaces
            that creates one); None when tokens cannot be changed.
    """

    _spaces: SpaceRepository
    _notes: NoteRepository
    _bank: BankRepository
    _backups: BackupRepository
    _clock: Clock
    _lock: SpaceLock = attrs.field(kw_only=True)
    _ids: IdGenerator = attrs.field(kw_only=True)
    _downloads: Downloads = attrs.field(kw_only=True)
    _archive_max_bytes: int = attrs.field(kw_only=True, default=ARCHIVE_MAX_BYTES)
    _grant: Callable[[Identity, SpaceId], Awaitable[None]] | None = attrs.field(kw_only=True, default=None)

    async def create(
        self, caller: Identity, space_id: str, description: str = "", rules: str = ""
    ) -> SpaceMeta:
        """Create a space (manage). Rules as :meth:`SpaceRules.given` makes them (empty:
        the default layout; none declared: the default files added). A token limited to
        some spaces that creates a new one gets it added to its own spaces, so that it
        can use what it made (as the public live-memory server does).

        Raises:
            PermissionDenied, InvalidInput, AlreadyExists.
        """
        caller.require(Permission.MANAGE)
        space = SpaceId(space_id)
        if not caller.can_use(space) and await self._exists(space):
            caller.require(Permission.MANAGE, space)  # someone else's space: refused
        parsed, _added = SpaceRules.given(rules)
        check_rules(parsed)
        meta = SpaceMeta(
            space_id=space,
            description=description,
            owner=caller.name,
            created_at=self._clock.now(),
            generation=self._ids.new_id(),
        )
        await self._spaces.create(meta, parsed)
        self._notes.forget(space)
        if not caller.can_use(space) and self._grant is not None:
            await self._grant(caller, space)
        return meta

    async def _exists(self, space: SpaceId) -> bool:
        try:
            await self._spaces.get(space)
        except NotFound:
            return False
        except CorruptObject:
            return True
        return True

    async def list(self, caller: Identity) -> list[SpaceMeta]:
        """The spaces the caller may see (read), sorted by id; unreadable ones left out."""
        return (await self.listing(caller))[0]

    async def listing(self, caller: Identity) -> tuple[builtins.list[SpaceMeta], builtins.list[str]]:
        """The spaces the caller may see (read), sorted by id, and the ids of those whose
        metadata cannot be read (corrupt): one bad object never hides the others."""
        caller.require(Permission.READ)
        ids = await self._spaces.list_ids()
        if ALL_SPACES not in caller.spaces:
            ids = [i for i in ids if caller.can_use(i)]
        metas: builtins.list[SpaceMeta] = []
        unreadable: builtins.list[str] = []
        for space in ids:
            try:
                metas.append(await self._spaces.get(space))
            except LookupError:
                continue  # deleted meanwhile
            except CorruptObject as exc:
                log.warning("unreadable_space_meta", space=space.value, error=str(exc)[:200])
                unreadable.append(space.value)
        return metas, unreadable

    async def rules(self, caller: Identity, space_id: str) -> SpaceRules:
        """The space's rules (read)."""
        space = self._readable(caller, space_id)
        return await self._spaces.rules(space)

    async def overview(self, caller: Identity, space_id: str) -> SpaceOverview:
        """Metadata, live note counts, bank files and synthesis (read)."""
        space = self._readable(caller, space_id)
        meta = await self._spaces.get(space)
        refs = await self._notes.refs(space)
        return SpaceOverview(
            meta=meta,
            notes=len(refs),
            notes_by_category=dict(Counter(r.category.value for r in refs)),
            notes_by_agent=dict(Counter(r.agent.value for r in refs)),
            bank_files=await self._bank.list(space),
            synthesis=(await self._spaces.synthesis(space)).text,
        )

    async def counts(self, caller: Identity, space_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """For each space (read on each): ``notes_count``, its live notes, and
        ``bank_files``, its hot bank files (archive left out); one note listing and one
        bank listing a space, run concurrently.

        Raises:
            PermissionDenied, InvalidInput, NotFound.
        """
        spaces = [self._readable(caller, space_id) for space_id in space_ids]

        async def one(space: SpaceId) -> dict[str, int]:
            refs, files = await asyncio.gather(self._notes.refs(space), self._bank.list(space))
            return {"notes_count": len(refs), "bank_files": sum(1 for f in files if not f.archived)}

        found = await asyncio.gather(*(one(space) for space in spaces))
        return {space.value: counts for space, counts in zip(spaces, found, strict=True)}

    async def update_rules(
        self, caller: Identity, space_id: str, rules: str
    ) -> tuple[SpaceRules, SpaceRules]:
        """Replace the space's rules (manage), validated as at creation
        (:func:`~domain.consolidation.check_rules`); the previous rules are kept in the
        space's rules history. The next consolidation follows the new rules; files they
        no longer declare stay in the bank (``bank_repair`` lists them).

        Returns:
            The previous rules and the new ones.

        Raises:
            PermissionDenied, InvalidInput (empty or invalid rules), NotFound.
        """
        space = require_space_access(caller, Permission.MANAGE, space_id)
        if not isinstance(rules, str) or not rules.strip():
            raise InvalidInput("rules must be the new rules' Markdown (space_rules shows the current ones)")
        parsed, _added = SpaceRules.given(rules)
        check_rules(parsed)
        await self._spaces.get(space)
        stamp = utc_stamp(self._clock.now())
        previous = await self._spaces.replace_rules(space, parsed, stamp)
        log.info("space_rules_replaced", space=space.value)
        return previous, parsed

    async def update(
        self, caller: Identity, space_id: str, description: str | None = None, owner: str | None = None
    ) -> SpaceMeta:
        """Change the description and/or owner (manage)."""
        space = require_space_access(caller, Permission.MANAGE, space_id)
        if description is None and owner is None:
            raise InvalidInput("give a description, an owner, or both")
        new_owner = None if owner is None else AgentName(owner)
        if description is not None:
            check_text(description, "description", DESCRIPTION_MAX_BYTES, allow_empty=True)

        def change(meta: SpaceMeta) -> SpaceMeta:
            return attrs.evolve(
                meta,
                description=description if description is not None else meta.description,
                owner=new_owner or meta.owner,
            )

        return await self._spaces.update(space, change)

    async def delete(self, caller: Identity, space_id: str, confirm: bool = False) -> int:
        """Delete a space and everything in it (manage); ``confirm`` must be True.
        Backups are kept. Returns the number of objects removed. Takes the space's
        consolidation lease first, so a running consolidation or backup cannot write into
        a half-deleted space (``Conflict`` meanwhile)."""
        space = require_space_access(caller, Permission.MANAGE, space_id)
        if confirm is not True:
            raise InvalidInput("deleting a space cannot be undone: call again with confirm=true")
        try:
            await self._spaces.get(space)
        except NotFound:
            # Leftovers of a delete that stopped half-way are removed; else NotFound.
            self._notes.forget(space)
            return await self._spaces.delete(space)
        async with self._lock.hold(space, f"delete-{space}"):
            removed = await self._spaces.delete(space)
        self._notes.forget(space)
        return removed

    async def export(self, caller: Identity, space_id: str, *, bounded: bool = True) -> Download:
        """The whole space as a tar.gz archive to fetch once (read): built into the
        spool, members named by their object keys. ``bounded``: the objects may add up
        to ``archive_max_bytes`` at most (False for the CLI, which writes a local file).

        Raises:
            PermissionDenied, InvalidInput, NotFound, LimitExceeded (over
            ``archive_max_bytes``, from the listing, before any object is read),
            RateLimited (see :class:`~application.services.downloads.Downloads`).
        """
        space = self._readable(caller, space_id)
        await self._spaces.get(space)
        return await self._downloads.stage(
            caller.name.value,
            f"{space}.tar.gz",
            lambda sink: self._backups.export_space(
                space, sink, self._archive_max_bytes if bounded else None
            ),
        )

    @staticmethod
    def _readable(caller: Identity, space_id: str) -> SpaceId:
        return require_space_access(caller, Permission.READ, space_id)
