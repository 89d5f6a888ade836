"""The contract suites on ``S3ObjectStore`` against moto (sigv4 signing)."""

from __future__ import annotations

import pytest

from contracts.audit import AuditLogContract
from contracts.backend import Backend, OpenBackend
from contracts.backups import BackupRepositoryContract
from contracts.journals import JournalRepositoryContract
from contracts.object_store import ObjectStoreContract
from contracts.repositories import (
    BankRepositoryContract,
    JobRepositoryContract,
    LeaseRepositoryContract,
    NoteRepositoryContract,
    SpaceRepositoryContract,
    TokenRepositoryContract,
)
from contracts.work import ClaimRepositoryContract, ItemRepositoryContract, PresenceRepositoryContract
from tests.s3_servers import S3Server


@pytest.fixture
def open_backend(moto: S3Server) -> OpenBackend:
    async def open_() -> Backend:
        return await moto.open_backend("sigv4")

    return open_


class TestMotoObjectStore(ObjectStoreContract):
    pass


class TestMotoSpaces(SpaceRepositoryContract):
    pass


class TestMotoNotes(NoteRepositoryContract):
    pass


class TestMotoBank(BankRepositoryContract):
    pass


class TestMotoTokens(TokenRepositoryContract):
    pass


class TestMotoJobs(JobRepositoryContract):
    pass


class TestMotoLeases(LeaseRepositoryContract):
    pass


class TestMotoAudit(AuditLogContract):
    pass


class TestMotoWorkItems(ItemRepositoryContract):
    pass


class TestMotoClaims(ClaimRepositoryContract):
    pass


class TestMotoPresence(PresenceRepositoryContract):
    pass


class TestMotoJournals(JournalRepositoryContract):
    pass


class TestMotoBackups(BackupRepositoryContract):
    pass
