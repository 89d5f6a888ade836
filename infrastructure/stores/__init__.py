"""Object store adapters: memory, local directory, S3 (hybrid SigV2/SigV4 or SigV4).

``S3ObjectStore`` is imported on first use (PEP 562), so a server on the local store
never loads aiobotocore."""

from typing import TYPE_CHECKING, Any

from infrastructure.stores.filesystem import FileSystemObjectStore
from infrastructure.stores.memory import MemoryObjectStore
from infrastructure.stores.s3_config import S3Config, SignatureMode

if TYPE_CHECKING:
    from infrastructure.stores.s3 import S3ObjectStore

__all__ = ["FileSystemObjectStore", "MemoryObjectStore", "S3Config", "S3ObjectStore", "SignatureMode"]


def __getattr__(name: str) -> Any:
    if name == "S3ObjectStore":
        from infrastructure.stores.s3 import S3ObjectStore  # noqa: PLC0415

        return S3ObjectStore
    raise AttributeError(name)
