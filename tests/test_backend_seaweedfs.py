"""The contract suites on ``S3ObjectStore`` against seaweedfs (hybrid signing)."""

from __future__ import annotations

import pytest

from contracts.backend import Backend, OpenBackend
from contracts.suites import bind_suites
from tests.s3_servers import S3Server


@pytest.fixture
def open_backend(seaweedfs: S3Server) -> OpenBackend:
    async def open_() -> Backend:
        return await seaweedfs.open_backend("hybrid")

    return open_


globals().update(bind_suites("SeaweedFs"))
