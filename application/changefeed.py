"""A per-space change feed of live notes, for watchers such as the web page's timeline.

One poller per watched space asks the :class:`~application.ports.NoteRepository` for the
space's note refs every ``interval`` seconds while at least one watcher is subscribed,
and fans what changed out to every subscriber: the notes that appeared (read once, shared
by all) and how many left the live set (consumed by a consolidation, or deleted).

Replicas: the feed reads the object store, not this process's writes, so a replica's
feed shows notes written through any replica. With the :class:`ListedNoteRepository`
each poll lists only the keys stamped after the newest one known (less its clock skew
margin), so a poll costs one short LIST whatever the space holds; a note thus shows
within ``interval`` seconds plus one LIST on every replica. Polling stops when the last
watcher of a space leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Final

import attrs
import structlog

from application.access import require_space_access
from application.ports import NoteRepository, SpaceRepository
from application.store import StoreError
from domain import DomainError, Identity, Note, Permission, SpaceId

__all__ = ["ChangeFeed", "FeedEvent", "Subscription"]

log = structlog.get_logger("live_mem.feed")

QUEUE_EVENTS: Final = 64
"""Events kept for a subscriber that does not read; past that, the oldest are dropped."""


@attrs.frozen
class FeedEvent:
    """What changed in a space since the previous event.

    Attributes:
        notes: notes that appeared, oldest first.
        consumed: how many notes left the live set (consolidated or deleted).
    """

    notes: tuple[Note, ...] = ()
    consumed: int = 0


class Subscription:
    """One watcher's queue of :class:`FeedEvent`."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[FeedEvent] = asyncio.Queue(QUEUE_EVENTS)

    def offer(self, event: FeedEvent) -> None:
        """Queue ``event``, dropping the oldest one when the queue is full."""
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(event)

    async def next(self, wait_seconds: float) -> FeedEvent | None:
        """The next event, or None when none came within ``wait_seconds``."""
        try:
            async with asyncio.timeout(wait_seconds):
                return await self._queue.get()
        except TimeoutError:
            return None


class _Hub:
    """The poller of one space and its subscribers."""

    def __init__(self, space: SpaceId, notes: NoteRepository, interval: float) -> None:
        self.space = space
        self.subscribers: set[Subscription] = set()
        self._notes = notes
        self._interval = interval
        self._known: set[str] | None = None
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            try:
                await self._poll()
            except (StoreError, DomainError) as exc:
                log.warning("feed_poll_failed", space=self.space.value, error=type(exc).__name__)
            await asyncio.sleep(self._interval)

    async def _poll(self) -> None:
        refs = await self._notes.refs(self.space)
        keys = {r.key for r in refs}
        if self._known is None:  # the first listing is the baseline, not news
            self._known = keys
            return
        fresh = [r for r in refs if r.key not in self._known]
        consumed = len(self._known - keys)
        self._known = keys
        notes = tuple(await self._notes.get_many(fresh)) if fresh else ()
        if notes or consumed:
            event = FeedEvent(notes=notes, consumed=consumed)
            for subscriber in self.subscribers:
                subscriber.offer(event)


class ChangeFeed:
    """Per-space change feeds (module docstring).

    Args:
        spaces, notes: the repositories the feed reads.
        interval: seconds between two polls of a watched space (``FEED_POLL_SECONDS``).
    """

    def __init__(self, spaces: SpaceRepository, notes: NoteRepository, *, interval: float = 1.0) -> None:
        self._spaces = spaces
        self._notes = notes
        self._interval = interval
        self._hubs: dict[str, _Hub] = {}

    @property
    def interval(self) -> float:
        """Seconds between two polls of a watched space."""
        return self._interval

    @contextlib.asynccontextmanager
    async def subscribe(self, caller: Identity, space_id: str) -> AsyncIterator[Subscription]:
        """Watch a space (read) for as long as the context lasts.

        Raises:
            PermissionDenied, InvalidInput, NotFound (no such space).
        """
        space = require_space_access(caller, Permission.READ, space_id)
        await self._spaces.get(space)
        hub = self._hubs.get(space.value)
        if hub is None:
            hub = self._hubs[space.value] = _Hub(space, self._notes, self._interval)
            hub.task = asyncio.create_task(hub.run(), name=f"feed-{space.value}")
        subscription = Subscription()
        hub.subscribers.add(subscription)
        try:
            yield subscription
        finally:
            hub.subscribers.discard(subscription)
            if not hub.subscribers and self._hubs.get(space.value) is hub:
                del self._hubs[space.value]
                if hub.task is not None:
                    hub.task.cancel()

    def watched(self) -> list[str]:
        """The spaces being polled now (metrics, tests)."""
        return sorted(self._hubs)
