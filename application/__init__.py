"""live-mem's use cases and the ports (``typing.Protocol``) they need."""

from application.ports import (
    BankFileInfo,
    BankRepository,
    Clock,
    IdGenerator,
    NoteRef,
    NoteRepository,
    SpaceRepository,
    TokenRepository,
)
from application.store import (
    CorruptObject,
    InvalidKey,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    PreconditionFailed,
    StoreAccessDenied,
    StoredObject,
    StoreError,
    StoreUnavailable,
)

__all__ = [
    "BankFileInfo",
    "BankRepository",
    "Clock",
    "CorruptObject",
    "IdGenerator",
    "InvalidKey",
    "NoteRef",
    "NoteRepository",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "PreconditionFailed",
    "SpaceRepository",
    "StoreAccessDenied",
    "StoreError",
    "StoreUnavailable",
    "StoredObject",
    "TokenRepository",
]
