"""The contract suites on ``S3ObjectStore`` against seaweedfs (hybrid signing)."""

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
def open_backend(seaweedfs: S3Server) -> OpenBackend:
    async def open_() -> Backend:
        return await seaweedfs.open_backend("hybrid")

    return open_


class TestSeaweedFsObjectStore(ObjectStoreContract):
    @pytest.fixture
    def listing_order(self) -> str:
        return "segments"  # SeaweedFS's filer lists folder by folder


class TestSeaweedFsSpaces(SpaceRepositoryContract):
    pass


class TestSeaweedFsNotes(NoteRepositoryContract):
    pass


class TestSeaweedFsBank(BankRepositoryContract):
    pass


class TestSeaweedFsTokens(TokenRepositoryContract):
    pass


class TestSeaweedFsJobs(JobRepositoryContract):
    pass


class TestSeaweedFsLeases(LeaseRepositoryContract):
    pass


class TestSeaweedFsAudit(AuditLogContract):
    pass


class TestSeaweedFsWorkItems(ItemRepositoryContract):
    pass


class TestSeaweedFsClaims(ClaimRepositoryContract):
    pass


class TestSeaweedFsPresence(PresenceRepositoryContract):
    pass


class TestSeaweedFsJournals(JournalRepositoryContract):
    pass


class TestSeaweedFsBackups(BackupRepositoryContract):
    pass
