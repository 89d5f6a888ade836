"""What a backend gives the contract suites: the store under test and a backdoor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import attrs
import pytest

from application.store import ObjectStore

__all__ = ["Backend", "OpenBackend", "WithBackend"]


@attrs.frozen
class Backend:
    """A fresh, empty store plus a backdoor that reads and writes the same data without
    going through the adapter under test (a dict, the file system, a plain S3 client).

    Attributes:
        name: the backend's name in reports.
        store: the adapter under test.
        raw_get: the bytes stored under a key, or None.
        raw_put: store bytes under a key behind the adapter's back.
        listing_order: ``bytes`` (S3: ascending UTF-8 bytes of the whole key) or
            ``segments`` (servers that list folder by folder, such as SeaweedFS's filer:
            ascending by ``/``-separated segments, so ``a/x`` comes before ``a-``).
    """

    name: str
    store: ObjectStore
    raw_get: Callable[[str], bytes | None]
    raw_put: Callable[[str, bytes], None]
    listing_order: str = "bytes"


OpenBackend = Callable[[], Awaitable[Backend]]


class WithBackend:
    """A suite's ``backend`` fixture: a fresh store from the backend module's
    ``open_backend``, closed after the test."""

    @pytest.fixture
    async def backend(self, open_backend: OpenBackend) -> AsyncIterator[Backend]:
        opened = await open_backend()
        yield opened
        await opened.store.close()
