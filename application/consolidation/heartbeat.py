"""A job's heartbeat: while a server holds a job (waiting in its lane or running), it
rewrites the job's record every ``HEARTBEAT_SECONDS`` with the time (``updated_at``) and
itself (``runner``), so that a job whose server died (a stdio client that exited, a
killed process) is noticed by any replica within ``STALE_SECONDS`` and taken over,
instead of staying ``running`` until the consolidation timeout.

Every write of the record goes through the heartbeat's lock, and the final one stops
it, so a late beat never overwrites a finished record.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Final

import attrs

from application.consolidation.ports import JobRecord, JobRepository
from application.ports import Clock

__all__ = ["HEARTBEAT_SECONDS", "STALE_SECONDS", "Heartbeat", "RUNNER", "beating", "is_stale"]

HEARTBEAT_SECONDS: Final = 5.0
STALE_SECONDS: Final = 6 * HEARTBEAT_SECONDS
"""A queued or running job whose record is older than this has no live runner."""
RUNNER: Final = f"{socket.gethostname()}:{os.getpid()}"
"""This process, as it signs the jobs it holds."""


def is_stale(job: JobRecord, now: datetime) -> bool:
    """True when ``job`` has not been touched for ``STALE_SECONDS`` at ``now``."""
    return job.updated_at + timedelta(seconds=STALE_SECONDS) <= now


class Heartbeat:
    """The writer of one job's record while this server holds it."""

    def __init__(self, jobs: JobRepository, clock: Clock, job: JobRecord) -> None:
        self._jobs = jobs
        self._clock = clock
        self._lock = asyncio.Lock()
        self._done = False
        self.job = job

    async def put(self, job: JobRecord, *, final: bool = False) -> JobRecord:
        """Write ``job`` (stamped now, signed by this runner); ``final`` stops the beats."""
        async with self._lock:
            if self._done:
                return self.job
            self.job = attrs.evolve(job, updated_at=self._clock.now(), runner=RUNNER)
            self._done = final
            await self._jobs.put(self.job)
            return self.job

    async def _beat(self) -> None:
        while not self._done:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            with contextlib.suppress(Exception):  # a failed beat is retried at the next one
                await self.put(self.job)


@contextlib.asynccontextmanager
async def beating(jobs: JobRepository, clock: Clock, job: JobRecord) -> AsyncIterator[Heartbeat]:
    """Beat for ``job`` during the ``async with`` block."""
    heart = Heartbeat(jobs, clock, job)
    task = asyncio.create_task(heart._beat())
    try:
        yield heart
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
