"""A space's consolidation lease, held through one handle: a consolidation, a hand
edit, a backup and a space deletion all take the same lease, so none of them overlap,
and all renew and release it the same way."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from application.consolidation.ports import Lease, LeaseRepository
from application.ports import Clock, Retrier
from domain import Conflict, SpaceId

__all__ = ["LeaseHandle", "SpaceLock"]


class LeaseHandle:
    """A held lease and its latest renewal. Renewing replaces the lease's ETag, so the
    release must name the newest one: holding the lease through this handle makes sure
    it does, whether the work ended, failed or was cancelled (a release with a stale
    ETag would leave the space locked until the lease expired)."""

    def __init__(self, leases: LeaseRepository, clock: Clock, lease: Lease, length: timedelta) -> None:
        self._leases = leases
        self._clock = clock
        self._length = length
        self.lease = lease

    async def renew(self) -> None:
        """Extend the lease by its length from now (compare-and-swap on its ETag).

        Raises:
            Conflict: the lease is no longer ours (it expired and was taken over, or an
                admin broke it): the holder must stop before writing anything more.
        """
        self.lease = await self._leases.renew(self.lease, self._clock.now() + self._length)

    async def release(self) -> None:
        """Give the lease back; one that is no longer ours is left alone."""
        await self._leases.release(self.lease)


class SpaceLock:
    """Takes and gives back a space's lease.

    Args:
        leases: the lease repository.
        clock: the time source.
        seconds: how long one holder may keep the lease (``CONSOLIDATION_TIMEOUT``).
    """

    def __init__(
        self, leases: LeaseRepository, clock: Clock, seconds: float, retrier: Retrier | None = None
    ) -> None:
        self._leases = leases
        self._clock = clock
        self._length = timedelta(seconds=seconds)
        self._retrier = retrier

    async def _acquire(self, space_id: SpaceId, holder: str) -> Lease:
        now = self._clock.now()
        return await self._leases.acquire(space_id, holder, now + self._length, now)

    @contextlib.asynccontextmanager
    async def hold(self, space_id: SpaceId, holder: str, *, wait: float = 0.0) -> AsyncIterator[LeaseHandle]:
        """Hold the lease for the ``async with`` block; it is released however the
        block ends. With ``wait`` (seconds) and a retrier, a lease held by another
        holder is waited for that long (a backup waits for a consolidation's end).

        Raises:
            Conflict: a consolidation, backup or deletion of the space holds it (still,
                after ``wait``).
        """
        if wait > 0 and self._retrier is not None:
            lease = await self._retrier.call(
                lambda: self._acquire(space_id, holder), on=Conflict, within=wait
            )
        else:
            lease = await self._acquire(space_id, holder)
        handle = LeaseHandle(self._leases, self._clock, lease, self._length)
        try:
            yield handle
        finally:
            await handle.release()
