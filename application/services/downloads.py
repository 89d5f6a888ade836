"""Archives handed out once: space exports and backup downloads.

An archive is built into the spool (never held whole in memory), then fetched once,
through a link that names a random 128-bit ticket and expires after ``link_seconds``.
The server builds at most ``max_building`` archives at a time and holds at most
``max_pending`` on disk (``pending_per_caller`` for one caller) and at most
``max_bytes`` bytes of them (a quarter of that for one caller); past those bounds a
request is refused with ``RateLimited`` and a time to retry. An archive is held from
its building until its link is spent and its download has ended (sent, failed or
abandoned) or its link has expired, and counts against the bounds all that while; a
download still running ``link_seconds`` after its link expired is cut off. Tickets
live in this process only: a link is served by the replica that built it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Final

import attrs
import structlog

from application.ports import ArchiveSink, ArchiveSpool, Clock, IdGenerator, SpooledArchive
from domain import NotFound, RateLimited, hash_secret

__all__ = ["Download", "Downloads", "OneRead"]

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


class OneRead:
    """The bytes of a claimed archive, read once: an async iterator whose end, error or
    :meth:`aclose` (even before the first chunk) removes the archive."""

    def __init__(self, chunks: AsyncIterator[bytes], release: Callable[[], Awaitable[None]]) -> None:
        self._chunks = chunks
        self._release: Callable[[], Awaitable[None]] | None = release

    def __aiter__(self) -> OneRead:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._chunks.__anext__()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop reading and remove the archive; a second call does nothing."""
        release, self._release = self._release, None
        if release is not None:
            closer = getattr(self._chunks, "aclose", None)
            if closer is not None:
                await closer()
            await release()


@attrs.frozen
class _Held:
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
        link_seconds: how long a link stays valid (``EXPORT_LINK_SECONDS``); a download
            still running this long after its link expired is cut off.
        max_bytes: bytes of archives held on disk on this server
            (``EXPORT_SPOOL_MAX_BYTES``); one caller may hold a quarter of them.
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
        max_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self._spool = spool
        self._clock = clock
        self._ids = ids
        self._max_building = max_building
        self._max_pending = max_pending
        self._per_caller = min(pending_per_caller, max_pending)
        self._ttl = timedelta(seconds=link_seconds)
        self._max_bytes = max_bytes
        self._bytes_per_caller = max(1, max_bytes // 4)
        self._building = 0
        self._pending: dict[str, _Held] = {}  # links not yet spent, by the ticket's hash
        self._sending: dict[str, _Held] = {}  # links spent, download not ended, by handle
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
                f"retry after {_BUILD_RETRY_SECONDS} s",
                _BUILD_RETRY_SECONDS,
            )
        self._check_room(caller, 0)
        self._building += 1
        try:
            archive = await self._spool.build(fill)
        finally:
            self._building -= 1
        try:
            self._check_room(caller, archive.size)
        except RateLimited:
            await self._spool.discard(archive)
            raise
        ticket = self._ids.new_id() + self._ids.new_id()
        download = Download(
            ticket=ticket,
            filename=filename,
            size=archive.size,
            sha256=archive.sha256,
            files=archive.members,
            expires_at=self._clock.now() + self._ttl,
        )
        self._pending[hash_secret(ticket)] = _Held(download, archive, caller)
        self._schedule_sweep(self._ttl.total_seconds() + 1)  # the link expired
        self._schedule_sweep(2 * self._ttl.total_seconds() + 1)  # a stalled download cut off
        log.info("archive_staged", filename=filename, size=archive.size, files=archive.members)
        return download

    async def peek(self, ticket: str) -> Download:
        """What a ticket names, without spending it (for an HTTP ``HEAD``).

        Raises:
            NotFound: an unknown, spent or expired ticket.
        """
        await self._sweep()
        held = self._pending.get(hash_secret(ticket)) if isinstance(ticket, str) else None
        if held is None:
            raise NotFound("this download link is unknown, already used or expired; ask for a new one")
        return held.download

    async def claim(self, ticket: str) -> tuple[Download, OneRead]:
        """Take the archive a ticket names, once: the ticket is spent at once and the
        archive removed once its bytes have been read or the read ended otherwise
        (the generator closed, by ``aclose`` or by running out). Until then it still
        counts against the bounds.

        Raises:
            NotFound: an unknown, spent or expired ticket.
        """
        await self._sweep()
        held = self._pending.pop(hash_secret(ticket), None) if isinstance(ticket, str) else None
        if held is None:
            raise NotFound("this download link is unknown, already used or expired; ask for a new one")
        self._sending[held.archive.handle] = held
        return held.download, OneRead(self._spool.chunks(held.archive), lambda: self._release(held))

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
        self._sending.clear()
        await self._spool.close()

    def held(self) -> tuple[int, int]:
        """How many archives this server holds on disk, and their bytes."""
        everything = self._on_disk()
        return len(everything), sum(h.download.size for h in everything)

    def _on_disk(self) -> list[_Held]:
        """Every archive held: links not yet spent, and downloads not yet ended."""
        return [*self._pending.values(), *self._sending.values()]

    def _check_room(self, caller: str, size: int) -> None:
        """Refuse (``RateLimited``) an archive of ``size`` bytes that would take the
        caller or the server over its bounds; see the module docstring."""
        everything = self._on_disk()
        mine = [h for h in everything if h.caller == caller]
        my_bytes = sum(h.download.size for h in mine)
        all_bytes = sum(h.download.size for h in everything)
        bounds = (  # (over the bound, the archives whose expiry frees room, what to say)
            (
                len(mine) >= self._per_caller,
                mine,
                f"{len(mine)} of your archives wait to be downloaded; fetch them, or",
            ),
            (
                len(everything) >= self._max_pending,
                everything,
                f"{len(everything)} archives wait to be downloaded on this server (EXPORT_MAX_PENDING);",
            ),
            (
                bool(mine) and my_bytes + size > self._bytes_per_caller,
                mine,
                f"your archives waiting for download hold {my_bytes} bytes, a quarter of "
                "EXPORT_SPOOL_MAX_BYTES at most; fetch them, or",
            ),
            (
                bool(everything) and all_bytes + size > self._max_bytes,
                everything,
                f"archives waiting for download hold {all_bytes} bytes on this server "
                "(EXPORT_SPOOL_MAX_BYTES);",
            ),
        )
        for over, holders, said in bounds:
            if over:
                wait = self._retry_after(holders)
                raise RateLimited(f"{said} retry after {wait} s", wait)

    async def _release(self, held: _Held) -> None:
        self._sending.pop(held.archive.handle, None)
        await self._spool.discard(held.archive)

    async def _sweep(self) -> None:
        """Discard the archives whose links have expired, and those whose download is
        still running ``link_seconds`` after that (a stalled or abandoned reader)."""
        now = self._clock.now()
        for key, held in list(self._pending.items()):
            if held.download.expires_at <= now:
                del self._pending[key]
                await self._spool.discard(held.archive)
        for handle, held in list(self._sending.items()):
            if held.download.expires_at + self._ttl <= now:
                del self._sending[handle]
                await self._spool.discard(held.archive)

    def _schedule_sweep(self, delay: float) -> None:
        """Sweep again after ``delay`` seconds, even if no call comes meanwhile."""
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(timer)
            task = loop.create_task(self._sweep())
            self._sweeps.add(task)
            task.add_done_callback(self._sweeps.discard)

        timer = loop.call_later(delay, fire)
        self._timers.add(timer)

    def _retry_after(self, held: list[_Held]) -> int:
        oldest = min(h.download.expires_at for h in held)
        return max(1, math.ceil((oldest - self._clock.now()).total_seconds()))
