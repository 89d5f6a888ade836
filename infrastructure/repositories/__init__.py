"""Repository adapters over the ``ObjectStore`` port."""

from infrastructure.repositories.store_repositories import (
    StoreBankRepository,
    StoreNoteRepository,
    StoreSpaceRepository,
    StoreTokenRepository,
)

__all__ = ["StoreBankRepository", "StoreNoteRepository", "StoreSpaceRepository", "StoreTokenRepository"]
