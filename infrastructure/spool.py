"""Archives between their building and their download, in a private temporary directory.

An archive is a gzip-compressed POSIX (pax) tar file written in stream mode
(:mod:`tarfile` ``w|gz``): each member goes to disk as it is added, so building one
holds at most one object in memory. Compression runs in a worker thread, so the event
loop (and ``/health``) keeps answering while a large archive is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import io
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import BinaryIO, Final

from application.ports import ArchiveSink, SpooledArchive
from domain import NotFound

__all__ = ["CHUNK_BYTES", "FileArchiveSpool", "sweep_orphans"]

CHUNK_BYTES: Final = 64 * 1024
"""The size of the chunks :meth:`FileArchiveSpool.chunks` yields (the last may be shorter)."""
_HANDLE_RE: Final = re.compile(r"[0-9a-f]{32}\.tar\.gz")
_PREFIX: Final = "live-mem-archives-"
_LOCK: Final = ".lock"
_UNLOCKED_GRACE_SECONDS: Final = 3600.0


class _HashingWriter(io.RawIOBase):
    """A write-only file that hashes (SHA-256) and counts what goes through it."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.digest = hashlib.sha256()
        self.size = 0
        self._dropped = False

    def writable(self) -> bool:
        return True

    def drop(self) -> None:
        """Ignore what is written from now on (an archive given up)."""
        self._dropped = True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self._dropped:
            return len(data)
        self._file.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


class _TarSink:
    """An :class:`~application.ports.ArchiveSink` adding members to an open tar stream."""

    def __init__(self, archive: tarfile.TarFile) -> None:
        self._archive = archive

    async def add(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        await asyncio.to_thread(self._archive.addfile, info, io.BytesIO(data))


def sweep_orphans(parent: Path | None = None) -> int:
    """Remove the spool directories under ``parent`` (``TMPDIR`` when None) that no
    live process holds: a spool holds an exclusive ``flock`` on its directory's
    ``.lock`` for as long as the directory exists, so a directory whose lock can be
    taken was left by a process that died (a crash, a SIGKILL). A directory with no
    lock file is removed once it is an hour old. Returns how many were removed."""
    removed = 0
    base = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    for directory in base.glob(f"{_PREFIX}*"):
        if not directory.is_dir() or directory.is_symlink():
            continue
        lock = directory / _LOCK
        try:
            handle = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                if time.time() - directory.stat().st_mtime > _UNLOCKED_GRACE_SECONDS:
                    shutil.rmtree(directory, ignore_errors=True)
                    removed += 1
            continue
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(handle)  # a live spool holds it
            continue
        shutil.rmtree(directory, ignore_errors=True)
        os.close(handle)
        removed += 1
    return removed


class FileArchiveSpool:
    """Implements :class:`application.ports.ArchiveSpool` in a directory of its own,
    created (mode 0700, by :func:`tempfile.mkdtemp`) under ``parent`` when an archive is
    built and removed when the last one is discarded, so an idle server leaves nothing.
    While it exists the spool holds a ``flock`` on its ``.lock`` file, so that
    :func:`sweep_orphans`, run when a server starts, removes only what dead processes
    left.

    Args:
        parent: where to create the spool's directory; None for the system's temporary
            directory (``TMPDIR``).
    """

    def __init__(self, parent: Path | None = None) -> None:
        self._parent = parent
        self._root: Path | None = None
        self._lock: int | None = None
        self._held: set[str] = set()  # archives built or being built, by handle

    def _directory(self) -> Path:
        if self._root is None or not self._root.is_dir():
            root = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=self._parent))
            lock = os.open(root / _LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._unlock()
            self._root, self._lock = root, lock
        return self._root

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the descriptor releases the flock
            self._lock = None

    def _path(self, archive: SpooledArchive) -> Path:
        if self._root is None or not _HANDLE_RE.fullmatch(archive.handle):
            raise NotFound("this archive is no longer held")
        return self._root / archive.handle

    async def build(self, fill: Callable[[ArchiveSink], Awaitable[int]]) -> SpooledArchive:
        """See :class:`application.ports.ArchiveSpool`."""
        handle = f"{secrets.token_hex(16)}.tar.gz"
        path = self._directory() / handle
        self._held.add(handle)
        try:
            file = await asyncio.to_thread(path.open, "xb")
        except BaseException:
            await self._release(handle)
            raise
        writer = _HashingWriter(file)
        archive = tarfile.open(fileobj=writer, mode="w|gz", format=tarfile.PAX_FORMAT)  # noqa: SIM115
        try:
            members = await fill(_TarSink(archive))
            await asyncio.to_thread(archive.close)
        except BaseException:
            writer.drop()  # the archive's close writes its end into nothing
            archive.close()
            file.close()
            path.unlink(missing_ok=True)
            await self._release(handle)
            raise
        await asyncio.to_thread(file.close)
        return SpooledArchive(
            handle=handle, size=writer.size, sha256=writer.digest.hexdigest(), members=members
        )

    async def chunks(self, archive: SpooledArchive) -> AsyncIterator[bytes]:
        """See :class:`application.ports.ArchiveSpool`."""
        path = self._path(archive)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise NotFound("this archive is no longer held") from None
        try:
            while chunk := await asyncio.to_thread(file.read, CHUNK_BYTES):
                yield chunk
        finally:
            file.close()

    async def discard(self, archive: SpooledArchive) -> None:
        """See :class:`application.ports.ArchiveSpool`."""
        try:
            path = self._path(archive)
        except NotFound:
            return
        await asyncio.to_thread(path.unlink, missing_ok=True)
        await self._release(archive.handle)

    async def close(self) -> None:
        """See :class:`application.ports.ArchiveSpool`: the directory goes too."""
        self._held.clear()
        await self._release("")

    async def _release(self, handle: str) -> None:
        """Forget ``handle``; with nothing else held, remove the directory."""
        self._held.discard(handle)
        if not self._held and self._root is not None:
            root, self._root = self._root, None
            await asyncio.to_thread(shutil.rmtree, root, ignore_errors=True)
            self._unlock()
