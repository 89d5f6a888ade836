"""The contract suites on ``S3ObjectStore`` against moto (sigv4 signing)."""

from __future__ import annotations

import pytest

from contracts.backend import Backend, OpenBackend
from contracts.suites import bind_suites
from tests.s3_servers import S3Server


@pytest.fixture
def open_backend(moto: S3Server) -> OpenBackend:
    async def open_() -> Backend:
        return await moto.open_backend("sigv4")

    return open_


globals().update(bind_suites("Moto"))
