"""``FileSystemObjectStore``: the embedded default, one file per object under a root.

Layout: the object ``a/b/c.md`` is the file ``ROOT/a/b/c.md``. Two hidden folders hold
the machinery: ``ROOT/.tmp`` (files being written; what a killed process left there is
swept when a store opens) and ``ROOT/.locks`` (a lock file per key being written, removed
when released). Keys can never name them: no key segment may start with ``.``.

- Writes are atomic: the bytes go to a temporary file in ``.tmp`` that is flushed,
  ``fsync``-ed and renamed over the target (POSIX ``rename(2)`` is atomic on one file
  system), so a reader sees the old or the new object, never a torn one.
- Every write and delete of a key holds an exclusive ``flock(2)`` on that key's lock
  file. ``flock`` locks belong to an open file description, so they exclude other
  threads of this process and other processes on this host alike: put-if-absent and
  put-if-match are atomic for every writer that shares the directory on one host.
  They are not atomic over NFS and similar network file systems.
- The ETag is the MD5 of the bytes, as S3 gives for a single-part upload.

Blocking file I/O runs in worker threads (:func:`asyncio.to_thread`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Final

from application.store import (
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    PreconditionFailed,
    StoredObject,
    StoreError,
    StoreUnavailable,
    check_key,
)
from infrastructure.stores._common import check_page_size, etag_of, utf8_sort_key

__all__ = ["FileSystemObjectStore"]

_TMP = ".tmp"
_LOCKS = ".locks"
_TMP_MAX_AGE_S: Final = 3600
_SETTLED_NS: Final = 200_000_000
"""A folder listing is reused only when the folder last changed this long before (0.2 s)."""


class FileSystemObjectStore:
    """An ``ObjectStore`` in a local directory (see the module docstring).

    Args:
        root: the data directory; created (with parents) if missing.

    Raises:
        StoreUnavailable: when the directory cannot be created.
    """

    def __init__(self, root: Path | str) -> None:
        self._root = Path(root).resolve()
        self._names: dict[Path, tuple[int, list[str]]] = {}
        try:
            for sub in (_TMP, _LOCKS):
                (self._root / sub).mkdir(parents=True, exist_ok=True)
            self._sweep_temporary_files()
        except OSError as exc:
            raise StoreUnavailable(f"cannot create data directory {self._root}: {exc.strerror}") from exc

    def _sweep_temporary_files(self) -> None:
        """Remove temporary files a killed process left (older than ``_TMP_MAX_AGE_S``;
        a younger one may belong to a write in progress in another process)."""
        cutoff = time.time() - _TMP_MAX_AGE_S
        for entry in os.scandir(self._root / _TMP):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)

    @property
    def root(self) -> Path:
        """The data directory."""
        return self._root

    @property
    def supports_conditional_writes(self) -> bool:
        """True: conditional writes hold across processes on one host (``flock``)."""
        return True

    async def get(self, key: str) -> StoredObject:
        """See :meth:`application.store.ObjectStore.get`."""
        data = await asyncio.to_thread(self._read, key)
        return StoredObject(data=data, etag=etag_of(data))

    async def head(self, key: str) -> ObjectInfo:
        """See :meth:`application.store.ObjectStore.head`."""
        data = await asyncio.to_thread(self._read, key)
        return ObjectInfo(key=key, size=len(data), etag=etag_of(data))

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> str:
        """See :meth:`application.store.ObjectStore.put`."""
        return await asyncio.to_thread(self._write, key, bytes(data), None)

    async def put_if_absent(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> str:
        """See :meth:`application.store.ObjectStore.put_if_absent`."""
        return await asyncio.to_thread(self._write, key, bytes(data), "")

    async def put_if_match(
        self, key: str, data: bytes, etag: str, *, content_type: str = "application/octet-stream"
    ) -> str:
        """See :meth:`application.store.ObjectStore.put_if_match`."""
        return await asyncio.to_thread(self._write, key, bytes(data), etag.strip('"') or "-")

    async def delete(self, key: str) -> None:
        """See :meth:`application.store.ObjectStore.delete`."""
        await asyncio.to_thread(self._delete, key)

    async def list_pages(
        self, prefix: str = "", *, page_size: int = 1000, start_after: str = ""
    ) -> AsyncIterator[list[ObjectInfo]]:
        """See :meth:`application.store.ObjectStore.list_pages`."""
        check_key(prefix, prefix=True)
        check_page_size(page_size)
        keys = await asyncio.to_thread(self._keys, prefix, start_after)
        for start in range(0, len(keys), page_size):
            infos = await asyncio.to_thread(self._infos, keys[start : start + page_size])
            yield infos

    async def ping(self) -> None:
        """Check that the data directory exists and is writable."""
        if not os.access(self._root / _TMP, os.W_OK):
            raise StoreUnavailable(f"data directory {self._root} is not writable")

    async def close(self) -> None:
        """Nothing to release."""

    # -- blocking helpers, run in threads ------------------------------------------

    def _path(self, key: str) -> Path:
        return self._root.joinpath(*check_key(key).split("/"))

    def _read(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object {key!r}") from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot read {key!r}: {exc.strerror}") from exc

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        """Hold the key's lock file; remove it before letting go, so that lock files do
        not pile up. A waiter that wins a lock on a file already removed (its path now
        names another file, or none) starts again, so two holders never coexist."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
        lock_path = self._root / _LOCKS / digest[:2] / digest
        lock_path.parent.mkdir(exist_ok=True)
        while True:
            handle = lock_path.open("a")
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                current = os.stat(lock_path).st_ino
            except FileNotFoundError:
                current = -1
            if current == os.fstat(handle.fileno()).st_ino:
                break
            handle.close()  # releases the stale lock
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                lock_path.unlink()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()

    def _write(self, key: str, data: bytes, expected: str | None) -> str:
        """Write ``data`` under ``key``. ``expected`` None: unconditional; "": the key
        must be free; anything else: the current ETag must equal it."""
        path = self._path(key)
        tmp = self._root / _TMP / uuid.uuid4().hex
        try:
            with self._locked(key):
                if expected is not None:
                    current = self._current_etag(path)
                    if expected == "" and current is not None:
                        raise PreconditionFailed(f"object {key!r} already exists")
                    if expected not in ("", current):
                        raise PreconditionFailed(f"object {key!r} changed or vanished")
                with tmp.open("wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                path.parent.mkdir(parents=True, exist_ok=True)
                if path.is_dir():
                    raise InvalidKey(f"object key {key!r} is a prefix of other objects on this store")
                os.replace(tmp, path)
        except (NotADirectoryError, FileExistsError) as exc:
            raise InvalidKey(f"object key {key!r} runs through another object on this store") from exc
        except StoreError:
            raise
        except OSError as exc:
            raise StoreUnavailable(f"cannot write {key!r}: {exc.strerror}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return etag_of(data)

    @staticmethod
    def _current_etag(path: Path) -> str | None:
        try:
            return etag_of(path.read_bytes())
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def _delete(self, key: str) -> None:
        path = self._path(key)
        try:
            with self._locked(key):
                path.unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return
        except OSError as exc:
            if exc.errno == errno.EISDIR:
                return
            raise StoreUnavailable(f"cannot delete {key!r}: {exc.strerror}") from exc

    def _keys(self, prefix: str, start_after: str = "") -> list[str]:
        """Keys under ``prefix`` (after ``start_after``), in UTF-8 byte order; names
        starting with a dot (temporary and lock files) are never keys. Names are compared
        as text: code point order is UTF-8 byte order (keys hold no surrogates)."""
        base_parts = prefix.split("/")[:-1]
        stack = [(self._root.joinpath(*base_parts), "".join(p + "/" for p in base_parts))]
        found: list[str] = []
        while stack:
            path, lead = stack.pop()
            # In a folder that start_after runs through, names before its next segment
            # hold no key after it: they are dropped by name alone, before any stat.
            floor = start_after[len(lead) :].partition("/")[0] if start_after.startswith(lead) else ""
            try:
                names = [n for n in self._listdir(path) if n >= floor and not n.startswith(".")]
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                raise StoreUnavailable(f"cannot list {prefix!r}: {exc.strerror}") from exc
            for name in names:
                key = lead + name
                if (path / name).is_dir():
                    stack.append((path / name, key + "/"))
                elif key.startswith(prefix) and (not start_after or key > start_after):
                    found.append(key)
        return sorted(found, key=utf8_sort_key)

    def _listdir(self, path: Path) -> list[str]:
        """A folder's names, reused while the folder's mtime says nothing changed.

        Creating, renaming or removing an entry sets the folder's mtime, but with the
        kernel's coarse clock two changes may share one value, so a listing is kept only
        once its mtime is ``_SETTLED_NS`` in the past when read (git's "racily clean"
        rule): a change after it must then move the mtime.
        """
        before = time.time_ns()
        mtime = path.stat().st_mtime_ns
        cached = self._names.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        names = os.listdir(path)
        if mtime < before - _SETTLED_NS:
            self._names[path] = (mtime, names)
        else:
            self._names.pop(path, None)
        return names

    def _infos(self, keys: list[str]) -> list[ObjectInfo]:
        infos = []
        for key in keys:
            try:
                data = self._path(key).read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue  # deleted since the walk: S3 listings are not snapshots either
            except OSError as exc:
                raise StoreUnavailable(f"cannot read {key!r}: {exc.strerror}") from exc
            infos.append(ObjectInfo(key=key, size=len(data), etag=etag_of(data)))
        return infos
