"""Holding a space's consolidation lease for a short exclusive operation (a backup, a
space deletion): the same lease a consolidation takes, so none of them overlap."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from application.consolidation.ports import Lease, LeaseRepository
from application.ports import Clock
from domain import SpaceId

__all__ = ["SpaceLock"]


class SpaceLock:
    """Takes and gives back a space's lease.

    Args:
        leases: the lease repository.
        clock: the time source.
        seconds: how long one holder may keep the lease (``CONSOLIDATION_TIMEOUT``).
    """

    def __init__(self, leases: LeaseRepository, clock: Clock, seconds: float = 600.0) -> None:
        self._leases = leases
        self._clock = clock
        self._length = timedelta(seconds=seconds)

    @contextlib.asynccontextmanager
    async def hold(self, space_id: SpaceId, holder: str) -> AsyncIterator[Lease]:
        """Hold the lease for the ``async with`` block.

        Raises:
            Conflict: a consolidation, backup or deletion of the space holds it.
        """
        now = self._clock.now()
        lease = await self._leases.acquire(space_id, holder, now + self._length, now)
        try:
            yield lease
        finally:
            await self._leases.release(lease)
