"""Archives handed out once: space exports and backup downloads.

An archive is built into the spool (never held whole in memory), then fetched once,
through a link that names a random 128-bit ticket and expires after ``link_seconds``.
The server builds at most ``max_building`` archives at a time and keeps at most
``max_pending`` waiting for download (``pending_per_caller`` for one caller); past
those bounds a request is refused with ``RateLimited`` and a time to retry. Tickets
live in this process only: a link is served by the replica that built it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Final

import attrs
import structlog

from application.ports import ArchiveSink, ArchiveSpool, Clock, IdGenerator, SpooledArchive
from domain import NotFound, RateLimited, hash_secret

__all__ = ["Download", "Downloads"]

log = structlog.get_logger("live_mem.downloads")
_BUILD_RETRY_SECONDS: Final = 5


@attrs.frozen
class Download:
    """An archive waiting to be fetched once.

    Attributes:
        ticket: the secret that names it in its link (32 hex digits, 128 random bits).
        filename: what to save it as, e.g. ``alpha.tar.gz``.
        size: its length in bytes.
        sha256: SHA-256 of those bytes, 64 hex digits.
        files: how many files it holds.
        expires_at: after this, the link answers ``NotFound``.
    """

    ticket: str = attrs.field(repr=False)
    filename: str
    size: int
    sha256: str
    files: int
    expires_at: datetime


@attrs.frozen
class _Pending:
    download: Download
    archive: SpooledArchive
    caller: str


class Downloads:
    """Builds archives into a spool and hands each out once.

    Args:
        spool: where archives wait.
        clock, ids: time and randomness.
        max_building: archives built at once on this server (``EXPORT_MAX_CONCURRENT``).
        max_pending: archives waiting for download (``EXPORT_MAX_PENDING``).
        pending_per_caller: of those, how many one caller may hold.
        link_seconds: how long a link stays valid (``EXPORT_LINK_SECONDS``).
    """

    def __init__(
        self,
        spool: ArchiveSpool,
        clock: Clock,
        ids: IdGenerator,
        *,
        max_building: int = 2,
        max_pending: int = 16,
        pending_per_caller: int = 4,
        link_seconds: float = 300.0,
    ) -> None:
        self._spool = spool
        self._clock = clock
        self._ids = ids
        self._max_building = max_building
        self._max_pending = max_pending
        self._per_caller = min(pending_per_caller, max_pending)
        self._ttl = timedelta(seconds=link_seconds)
        self._building = 0
        self._pending: dict[str, _Pending] = {}  # by the ticket's hash
        self._timers: set[asyncio.TimerHandle] = set()
        self._sweeps: set[asyncio.Task[None]] = set()

    async def stage(
        self, caller: str, filename: str, fill: Callable[[ArchiveSink], Awaitable[int]]
    ) -> Download:
        """Build an archive (``fill`` adds its members) and register it for one download.

        Args:
            caller: who asks (a token's agent name), for the per-caller bound.
            filename: the name to offer it under.
            fill: adds the members; its errors (``NotFound``, ``LimitExceeded``...) propagate.

        Raises:
            RateLimited: ``max_building`` archives are being built, or too many wait.
        """
        await self._sweep()
        if self._building >= self._max_building:
            raise RateLimited(
                f"{self._building} archives are being built on this server (EXPORT_MAX_CONCURRENT); "
                f"retry after {_BUILD_RETRY_SECONDS} s"
            )
        mine = [p for p in self._pending.values() if p.caller == caller]
        if len(mine) >= self._per_caller:
            raise RateLimited(
                f"{len(mine)} of your archives wait to be downloaded; fetch them, or retry after "
                f"{self._retry_after(mine)} s when the oldest link expires"
            )
        if len(self._pending) >= self._max_pending:
            raise RateLimited(
                f"{len(self._pending)} archives wait to be downloaded on this server (EXPORT_MAX_PENDING); "
                f"retry after {self._retry_after(list(self._pending.values()))} s"
            )
        self._building += 1
        try:
            archive = await self._spool.build(fill)
        finally:
            self._building -= 1
        ticket = self._ids.new_id() + self._ids.new_id()
        download = Download(
            ticket=ticket,
            filename=filename,
            size=archive.size,
            sha256=archive.sha256,
            files=archive.members,
            expires_at=self._clock.now() + self._ttl,
        )
        self._pending[hash_secret(ticket)] = _Pending(download, archive, caller)
        self._schedule_sweep()
        log.info("archive_staged", filename=filename, size=archive.size, files=archive.members)
        return download

    async def claim(self, ticket: str) -> tuple[Download, AsyncGenerator[bytes, None]]:
        """Take the archive a ticket names, once: the ticket is spent at once and the
        archive removed once its bytes have been read (or the read is abandoned).

        Raises:
            NotFound: an unknown, spent or expired ticket.
        """
        await self._sweep()
        pending = self._pending.pop(hash_secret(ticket), None) if isinstance(ticket, str) else None
        if pending is None:
            raise NotFound("this download link is unknown, already used or expired; ask for a new one")
        return pending.download, self._stream(pending.archive)

    async def read(self, ticket: str) -> bytes:
        """The whole archive a ticket names, claimed (for transports without a download
        link: stdio and in-memory clients). Raises ``NotFound`` like :meth:`claim`."""
        _, chunks = await self.claim(ticket)
        return b"".join([chunk async for chunk in chunks])

    async def close(self) -> None:
        """Forget every ticket and empty the spool (at shutdown)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self._pending.clear()
        await self._spool.close()

    async def _stream(self, archive: SpooledArchive) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in self._spool.chunks(archive):
                yield chunk
        finally:
            await self._spool.discard(archive)

    async def _sweep(self) -> None:
        """Discard the archives whose links have expired."""
        now = self._clock.now()
        for key, pending in list(self._pending.items()):
            if pending.download.expires_at <= now:
                del self._pending[key]
                await self._spool.discard(pending.archive)

    def _schedule_sweep(self) -> None:
        """Sweep again once this link has expired, even if no call comes meanwhile."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(timer)
            task = loop.create_task(self._sweep())
            self._sweeps.add(task)
            task.add_done_callback(self._sweeps.discard)

        timer = loop.call_later(self._ttl.total_seconds() + 1, fire)
        self._timers.add(timer)

    def _retry_after(self, pending: list[_Pending]) -> int:
        oldest = min(p.download.expires_at for p in pending)
        return max(1, math.ceil((oldest - self._clock.now()).total_seconds()))
