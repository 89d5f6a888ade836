"""The contract suites on ``MemoryObjectStore``."""

from __future__ import annotations

import pytest

from contracts.backend import Backend, OpenBackend
from contracts.suites import bind_suites
from infrastructure.stores import MemoryObjectStore


@pytest.fixture
def open_backend() -> OpenBackend:
    async def open_() -> Backend:
        store = MemoryObjectStore()
        objects = store._objects  # the backdoor: the dict itself

        def raw_put(key: str, data: bytes) -> None:
            from infrastructure.stores._common import etag_of

            objects[key] = (data, etag_of(data))

        return Backend("memory", store, lambda k: objects.get(k, (None, ""))[0], raw_put)

    return open_


globals().update(bind_suites("Memory"))
