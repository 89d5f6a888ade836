"""Object store adapters: memory, local directory, S3 (hybrid SigV2/SigV4 or SigV4)."""

from infrastructure.stores.filesystem import FileSystemObjectStore
from infrastructure.stores.memory import MemoryObjectStore
from infrastructure.stores.s3 import S3Config, S3ObjectStore, SignatureMode

__all__ = ["FileSystemObjectStore", "MemoryObjectStore", "S3Config", "S3ObjectStore", "SignatureMode"]
