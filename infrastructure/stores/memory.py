"""``MemoryObjectStore``: the object store in a dict, for tests and ephemeral runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

from application.store import ObjectInfo, ObjectNotFound, PreconditionFailed, StoredObject, check_key
from infrastructure.stores._common import check_page_size, etag_of, utf8_sort_key

__all__ = ["MemoryObjectStore"]


class MemoryObjectStore:
    """An ``ObjectStore`` held in process memory.

    Operations never await between reading and writing the dict, so conditional
    writes are atomic within the event loop. Data lives as long as the instance;
    ``supports_conditional_writes`` is True because nothing outside the process shares it.
    """

    def __init__(self) -> None:
        self._objects: dict[str, tuple[bytes, str]] = {}

    @property
    def supports_conditional_writes(self) -> bool:
        """Always True: see the class docstring."""
        return True

    async def get(self, key: str) -> StoredObject:
        """See :meth:`application.store.ObjectStore.get`."""
        data, etag = self._lookup(key)
        return StoredObject(data=data, etag=etag)

    async def head(self, key: str) -> ObjectInfo:
        """See :meth:`application.store.ObjectStore.head`."""
        data, etag = self._lookup(key)
        return ObjectInfo(key=key, size=len(data), etag=etag)

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> str:
        """See :meth:`application.store.ObjectStore.put`."""
        check_key(key)
        return self._store(key, data)

    async def put_if_absent(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> str:
        """See :meth:`application.store.ObjectStore.put_if_absent`."""
        check_key(key)
        if key in self._objects:
            raise PreconditionFailed(f"object {key!r} already exists")
        return self._store(key, data)

    async def put_if_match(
        self, key: str, data: bytes, etag: str, *, content_type: str = "application/octet-stream"
    ) -> str:
        """See :meth:`application.store.ObjectStore.put_if_match`."""
        check_key(key)
        current = self._objects.get(key)
        if current is None or current[1] != etag.strip('"'):
            raise PreconditionFailed(f"object {key!r} changed or vanished")
        return self._store(key, data)

    async def delete(self, key: str) -> None:
        """See :meth:`application.store.ObjectStore.delete`."""
        check_key(key)
        self._objects.pop(key, None)

    async def list_pages(
        self, prefix: str = "", *, page_size: int = 1000, start_after: str = ""
    ) -> AsyncIterator[list[ObjectInfo]]:
        """See :meth:`application.store.ObjectStore.list_pages`."""
        check_key(prefix, prefix=True)
        check_page_size(page_size)
        after = utf8_sort_key(start_after)
        wanted = (k for k in self._objects if k.startswith(prefix))
        keys = sorted((k for k in wanted if not start_after or utf8_sort_key(k) > after), key=utf8_sort_key)
        for start in range(0, len(keys), page_size):
            page = []
            for key in keys[start : start + page_size]:
                found = self._objects.get(key)
                if found is not None:
                    page.append(ObjectInfo(key=key, size=len(found[0]), etag=found[1]))
            yield page

    async def ping(self) -> None:
        """Always answers."""

    async def close(self) -> None:
        """Nothing to release."""

    def _lookup(self, key: str) -> tuple[bytes, str]:
        check_key(key)
        try:
            return self._objects[key]
        except KeyError:
            raise ObjectNotFound(f"no object {key!r}") from None

    def _store(self, key: str, data: bytes) -> str:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("object data must be bytes")
        payload = bytes(data)
        etag = etag_of(payload)
        self._objects[key] = (payload, etag)
        return etag
