"""A per-space note-key listing kept by each replica, so that a read costs what its page
costs, not what the space holds.

:class:`ListedNoteRepository` wraps a :class:`~application.ports.NoteRepository` and
serves ``refs`` from memory. It is derived data, never trusted over the store:

- the first read of a space lists its notes once;
- later reads list only the keys stamped after the newest known one, less
  ``SKEW_SECONDS`` (replicas' clocks differ; note keys begin with their UTC timestamp),
  and list the journal ids after the last one seen: each new journal is read, and a
  committed one's consumed keys are dropped (one still ``prepared`` is read again next
  time);
- notes written, imported or deleted through this replica update the listing at once;
- a note whose read finds it gone is dropped;
- a full relist every ``relist_seconds`` catches anything else (a note imported with an
  old timestamp by another replica, a space deleted and created again elsewhere).

A replica thus sees notes written through any replica within one read, and the other
replicas' consolidations within one read once their journal is committed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Final

import attrs

from application.consolidation.ports import JournalRepository
from application.ports import NoteRef, NoteRepository
from application.store import CorruptObject
from domain import Note, NotFound, SpaceId
from domain.consolidation import JournalState

__all__ = ["SKEW_SECONDS", "ListedNoteRepository"]

SKEW_SECONDS: Final = 5.0
_RECHECK_JOURNALS: Final = 3


@attrs.define
class _Listing:
    refs: dict[str, NoteRef]
    newest: datetime | None
    journal_after: str
    pending: set[str]
    listed_at: float
    ordered: list[NoteRef] | None = None  # refs sorted, kept until the next change

    def sorted_refs(self) -> list[NoteRef]:
        # Keys sort as refs do (a space's note keys begin with the UTC timestamp), and
        # sorting strings costs far less than comparing refs.
        if self.ordered is None:
            self.ordered = [self.refs[key] for key in sorted(self.refs)]
        return self.ordered

    def drop(self, key: str) -> None:
        if self.refs.pop(key, None) is not None:
            self.ordered = None


class ListedNoteRepository:
    """A :class:`~application.ports.NoteRepository` whose ``refs`` come from the
    listing kept in memory (module docstring); every other call goes to ``inner``.

    Args:
        inner: the repository over the store.
        journals: the consolidation journals, to drop the notes they consumed.
        relist_seconds: the longest time between two full listings of a space.
        monotonic: the clock of that interval (seconds).
    """

    def __init__(
        self,
        inner: NoteRepository,
        journals: JournalRepository,
        *,
        relist_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._journals = journals
        self._relist = relist_seconds
        self._monotonic = monotonic
        self._spaces: dict[SpaceId, _Listing] = {}

    async def add(self, note: Note) -> NoteRef:
        """See the port; the new note joins the listing at once."""
        ref = await self._inner.add(note)
        listing = self._spaces.get(note.space_id)
        if listing is not None:
            _put(listing, ref)
        return ref

    async def refs(self, space_id: SpaceId, *, since: datetime | None = None) -> list[NoteRef]:
        """See the port: from the listing, brought up to date first."""
        listing = await self._fresh(space_id)
        found = listing.sorted_refs()
        return list(found) if since is None else [r for r in found if r.created_at >= since]

    async def get(self, ref: NoteRef) -> Note:
        """See the port; a note found gone leaves the listing."""
        try:
            return await self._inner.get(ref)
        except NotFound:
            self._drop(ref.space_id, [ref.key])
            raise

    async def get_many(self, refs: Sequence[NoteRef]) -> list[Note]:
        """See the port; notes found gone leave the listing."""
        notes = await self._inner.get_many(refs)
        found = {n.note_id for n in notes}
        for ref in refs:
            if ref.note_id not in found:
                self._drop(ref.space_id, [ref.key])
        return notes

    async def delete(self, ref: NoteRef) -> None:
        """See the port; the note leaves the listing."""
        await self._inner.delete(ref)
        self._drop(ref.space_id, [ref.key])

    def forget(self, space_id: SpaceId) -> None:
        """See the port: the next read lists the space anew."""
        self._spaces.pop(space_id, None)
        self._inner.forget(space_id)

    def _drop(self, space_id: SpaceId, keys: Sequence[str]) -> None:
        listing = self._spaces.get(space_id)
        if listing is not None:
            for key in keys:
                listing.drop(key)

    async def _fresh(self, space_id: SpaceId) -> _Listing:
        listing = self._spaces.get(space_id)
        now = self._monotonic()
        if listing is None or now - listing.listed_at >= self._relist:
            return await self._full(space_id, now)
        since = listing.newest - timedelta(seconds=SKEW_SECONDS) if listing.newest else None
        for ref in await self._inner.refs(space_id, since=since):
            _put(listing, ref)
        await self._follow_journals(space_id, listing)
        return listing

    async def _full(self, space_id: SpaceId, now: float) -> _Listing:
        ids = await self._journals.run_ids(space_id)
        refs = await self._inner.refs(space_id)
        listing = _Listing({}, None, ids[-1] if ids else "", set(ids[-_RECHECK_JOURNALS:]), now)
        for ref in refs:
            _put(listing, ref)
        await self._follow_journals(space_id, listing, new=[])
        self._spaces[space_id] = listing
        return listing

    async def _follow_journals(
        self, space_id: SpaceId, listing: _Listing, new: Sequence[str] | None = None
    ) -> None:
        fresh = await self._journals.run_ids(space_id, after=listing.journal_after) if new is None else new
        if fresh:
            listing.journal_after = fresh[-1]
        for run_id in sorted(listing.pending | set(fresh)):
            try:
                journal = await self._journals.get(space_id, run_id)
            except (NotFound, CorruptObject):  # a corrupt journal consumed nothing we can tell
                listing.pending.discard(run_id)
                continue
            if journal.state is JournalState.COMMITTED:
                listing.pending.discard(run_id)
                for consumed in journal.consumed:
                    listing.drop(consumed.key)
            elif journal.state is JournalState.ABANDONED:
                listing.pending.discard(run_id)
            else:
                listing.pending.add(run_id)


def _put(listing: _Listing, ref: NoteRef) -> None:
    if ref.key not in listing.refs:
        listing.refs[ref.key] = ref
        listing.ordered = None
    if listing.newest is None or ref.created_at > listing.newest:
        listing.newest = ref.created_at
