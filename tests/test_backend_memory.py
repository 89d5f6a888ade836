"""The contract suites on ``MemoryObjectStore``."""

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


class TestMemoryObjectStore(ObjectStoreContract):
    pass


class TestMemorySpaces(SpaceRepositoryContract):
    pass


class TestMemoryNotes(NoteRepositoryContract):
    pass


class TestMemoryBank(BankRepositoryContract):
    pass


class TestMemoryTokens(TokenRepositoryContract):
    pass


class TestMemoryJobs(JobRepositoryContract):
    pass


class TestMemoryLeases(LeaseRepositoryContract):
    pass


class TestMemoryAudit(AuditLogContract):
    pass


class TestMemoryWorkItems(ItemRepositoryContract):
    pass


class TestMemoryClaims(ClaimRepositoryContract):
    pass


class TestMemoryPresence(PresenceRepositoryContract):
    pass


class TestMemoryJournals(JournalRepositoryContract):
    pass


class TestMemoryBackups(BackupRepositoryContract):
    pass
