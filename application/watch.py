"""What changed in the spaces that live sessions listen to, learnt from the store.

A replica learns of changes through the object store only (never a side channel), so
every replica on one bucket sees the same changes: one poller per watched space, every
``interval`` seconds while at least one listener watches it, compares three snapshots
with the previous ones:

- the live notes' keys (the note listing each replica keeps: one short LIST a poll);
- the hot bank files' ETags (one LIST of ``bank/``): a consolidation, compaction or hand
  edit that committed shows as changed files, and a file that came or went as a change
  of the list;
- a digest of the work items' and claims' ETags (two LISTs).

A change is published at most one interval plus one poll after it reached the store; a
poll that fails is retried at the next interval, and as the snapshots are compared, not
events replayed, nothing is lost for a listener that stays (the next successful poll
reports everything that changed meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Protocol

import attrs
import structlog

from application.ports import NoteRepository
from application.store import StoreError
from domain import SpaceId

__all__ = ["ChangeWatcher", "Publish", "SpaceChange", "StoreProbe"]

log = structlog.get_logger("live_mem.watch")


class StoreProbe(Protocol):
    """Cheap snapshots of a space, from listings alone."""

    async def bank_versions(self, space_id: SpaceId) -> dict[str, str]:
        """Each hot bank file's name and ETag (the archive left out)."""
        ...

    async def work_version(self, space_id: SpaceId) -> str:
        """A digest of every work item's and claim's record version."""
        ...


@attrs.frozen
class SpaceChange:
    """What changed in a space between two polls.

    Attributes:
        space_id: the space.
        live: notes came or went, or a work item or claim changed.
        files: hot bank files whose content changed, came or went.
        listed: the set of hot bank files changed (a file came or went).
    """

    space_id: SpaceId
    live: bool = False
    files: frozenset[str] = frozenset()
    listed: bool = False

    def __bool__(self) -> bool:
        return self.live or bool(self.files) or self.listed


@attrs.frozen
class _Snapshot:
    notes: frozenset[str]
    bank: dict[str, str]
    work: str


Publish = Callable[[SpaceChange], Awaitable[None]]


class ChangeWatcher:
    """Polls the watched spaces and hands each change to the watchers' ``publish``.

    Args:
        notes: the note repository (the listing a replica keeps).
        probe: bank and work snapshots.
        interval: seconds between polls (``FEED_POLL_SECONDS``).
    """

    def __init__(self, notes: NoteRepository, probe: StoreProbe, interval: float = 1.0) -> None:
        self._notes = notes
        self._probe = probe
        self._interval = interval
        self._publishers: dict[SpaceId, list[Publish]] = {}
        self._watchers: dict[SpaceId, int] = {}
        self._pollers: dict[SpaceId, asyncio.Task[None]] = {}
        self._ready: dict[SpaceId, asyncio.Event] = {}

    def watched(self) -> list[SpaceId]:
        """The spaces polled now."""
        return sorted(self._pollers, key=lambda s: s.value)

    async def _snapshot(self, space: SpaceId) -> _Snapshot:
        refs = await self._notes.refs(space)
        bank, work = await asyncio.gather(self._probe.bank_versions(space), self._probe.work_version(space))
        return _Snapshot(frozenset(r.key for r in refs), bank, work)

    async def _poll(self, space: SpaceId, ready: asyncio.Event) -> None:
        previous: _Snapshot | None = None
        try:
            previous = await self._snapshot(space)
        except StoreError:
            pass  # the first successful poll becomes the baseline
        finally:
            ready.set()
        while True:
            await asyncio.sleep(self._interval)
            try:
                current = await self._snapshot(space)
            except StoreError as exc:
                log.warning("watch_poll_failed", space=space.value, error=str(exc)[:200])
                continue
            if previous is not None:
                change = _compare(space, previous, current)
                for publish in list(self._publishers.get(space, ())) if change else ():
                    try:
                        await publish(change)
                    except Exception:  # a listener's failure must not stop the poller
                        log.exception("watch_publish_failed", space=space.value)
            previous = current

    @contextlib.asynccontextmanager
    async def watching(self, spaces: Iterable[SpaceId], publish: Publish) -> AsyncIterator[None]:
        """Hand the changes of ``spaces`` to ``publish`` for the ``async with`` block:
        the first watcher of a space starts its poller, which takes the baseline before
        the block starts (so nothing after it is missed); the last one to leave stops it."""
        mine = sorted(set(spaces), key=lambda s: s.value)
        for space in mine:
            self._publishers.setdefault(space, []).append(publish)
            self._watchers[space] = self._watchers.get(space, 0) + 1
            if space not in self._pollers:
                self._ready[space] = asyncio.Event()
                self._pollers[space] = asyncio.create_task(self._poll(space, self._ready[space]))
        try:
            for space in mine:
                await self._ready[space].wait()
            yield
        finally:
            for space in mine:
                self._publishers[space].remove(publish)
                self._watchers[space] -= 1
                if self._watchers[space] == 0:
                    del self._watchers[space]
                    del self._ready[space]
                    del self._publishers[space]
                    task = self._pollers.pop(space)
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def close(self) -> None:
        """Stop every poller."""
        for task in self._pollers.values():
            task.cancel()
        for task in list(self._pollers.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pollers.clear()
        self._watchers.clear()
        self._ready.clear()
        self._publishers.clear()


def _compare(space: SpaceId, before: _Snapshot, after: _Snapshot) -> SpaceChange:
    names = set(before.bank) | set(after.bank)
    files = frozenset(n for n in names if before.bank.get(n) != after.bank.get(n))
    return SpaceChange(
        space,
        live=before.notes != after.notes or before.work != after.work,
        files=files,
        listed=set(before.bank) != set(after.bank),
    )
