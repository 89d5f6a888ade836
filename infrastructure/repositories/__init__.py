"""Repository adapters over the ``ObjectStore`` port."""

from infrastructure.repositories.backups import StoreBackupRepository
from infrastructure.repositories.store_repositories import (
    StoreBankRepository,
    StoreNoteRepository,
    StoreSpaceRepository,
    StoreTokenRepository,
)

__all__ = [
    "StoreBackupRepository",
    "StoreBankRepository",
    "StoreNoteRepository",
    "StoreSpaceRepository",
    "StoreTokenRepository",
]
