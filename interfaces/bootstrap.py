"""The composition root: the one module that reads settings and builds adapters.

Nothing is built at import time; callers ask for what they need inside their own event
loop and close it when done.
"""

from __future__ import annotations

from application.store import ObjectStore
from infrastructure.settings import Settings, SettingsError, load_settings
from infrastructure.stores import FileSystemObjectStore, S3ObjectStore

__all__ = ["Settings", "SettingsError", "describe_store", "load_settings", "open_store"]


async def open_store(settings: Settings) -> ObjectStore:
    """The object store the settings name: S3 when ``S3_*`` is set, else the local
    directory. Raises ``StoreUnavailable`` when the directory cannot be created."""
    if settings.s3 is not None:
        return await S3ObjectStore.open(settings.s3)
    return FileSystemObjectStore(settings.data_dir)


def describe_store(settings: Settings) -> str:
    """A one-line, secret-free description of the configured store."""
    if settings.s3 is not None:
        where = settings.s3.endpoint_url or "AWS"
        return f"S3 bucket {settings.s3.bucket} at {where} ({settings.s3.signature_mode} signing)"
    return f"local directory {settings.data_dir.resolve()}"
