"""The contract suites on ``FileSystemObjectStore`` (the embedded default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.backend import Backend, OpenBackend
from contracts.object_store import ObjectStoreContract
from contracts.repositories import (
    BankRepositoryContract,
    NoteRepositoryContract,
    SpaceRepositoryContract,
    TokenRepositoryContract,
)
from infrastructure.stores import FileSystemObjectStore


@pytest.fixture
def open_backend(tmp_path_factory: pytest.TempPathFactory) -> OpenBackend:
    async def open_() -> Backend:
        root = tmp_path_factory.mktemp("store")

        def raw_get(key: str) -> bytes | None:
            path = root / key
            return path.read_bytes() if path.is_file() else None

        def raw_put(key: str, data: bytes) -> None:
            path: Path = root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        return Backend("filesystem", FileSystemObjectStore(root), raw_get, raw_put)

    return open_


class TestFileSystemObjectStore(ObjectStoreContract):
    pass


class TestFileSystemSpaces(SpaceRepositoryContract):
    pass


class TestFileSystemNotes(NoteRepositoryContract):
    pass


class TestFileSystemBank(BankRepositoryContract):
    pass


class TestFileSystemTokens(TokenRepositoryContract):
    pass
