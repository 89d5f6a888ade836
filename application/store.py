"""The ``ObjectStore`` port: the one storage abstraction live-mem stands on.

Semantics follow the S3 API reference (GetObject, PutObject with ``If-None-Match: *`` and
``If-Match``, DeleteObject, HeadObject, ListObjectsV2): keys are UTF-8 strings with ``/``
separators, objects are immutable byte strings replaced whole, an ETag identifies one
version of one object, and listing returns keys in ascending order (see ``list_pages``).
Every adapter passes the contract suite in ``contracts/object_store.py``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Final, Protocol, runtime_checkable

import attrs

__all__ = [
    "KEY_MAX_BYTES",
    "StoreError",
    "ObjectNotFound",
    "PreconditionFailed",
    "StoreUnavailable",
    "StoreAccessDenied",
    "InvalidKey",
    "CorruptObject",
    "StoredObject",
    "ObjectInfo",
    "ObjectStore",
    "check_key",
]

KEY_MAX_BYTES: Final = 1024
_BAD_KEY_CHARS: Final = re.compile(r"[\x00-\x1f\x7f\\]")


class StoreError(Exception):
    """Base of the object store's error family; adapters raise nothing else."""


class ObjectNotFound(StoreError, LookupError):
    """No object under the key (S3 ``NoSuchKey`` / 404)."""


class PreconditionFailed(StoreError):
    """A conditional write lost: the key exists (put-if-absent) or its ETag moved or it
    vanished (put-if-match). S3 answers 412 (or 404 for If-Match on a missing key)."""


class StoreUnavailable(StoreError):
    """The store could not be reached or kept failing after retries."""


class StoreAccessDenied(StoreError):
    """The store refused our credentials or signature (S3 403: ``AccessDenied``,
    ``SignatureDoesNotMatch``, ``InvalidAccessKeyId``)."""


class InvalidKey(StoreError, ValueError):
    """The key is empty, too long, or has a segment that is empty, ``.``, ``..``, starts
    with ``.``, or holds a control character or backslash."""


class CorruptObject(StoreError):
    """An object exists but its bytes do not decode as the format its key implies."""


def check_key(key: str, *, prefix: bool = False) -> str:
    """Validate an object key (or, with ``prefix=True``, a listing prefix).

    Rules shared by every adapter so that all backends accept the same keys: at most
    1024 UTF-8 bytes (the S3 limit), ``/`` separators, no leading ``/``, no empty, ``.``
    or ``..`` segment, no segment starting with ``.`` and no control characters or
    backslashes. A prefix may be empty and may end in ``/`` or mid-segment.

    Raises:
        InvalidKey: naming the rule that the key breaks.
    """
    if not isinstance(key, str):
        raise InvalidKey("object key must be a string")
    if not key:
        if prefix:
            return key
        raise InvalidKey("object key must not be empty")
    if len(key.encode("utf-8", "surrogatepass")) > KEY_MAX_BYTES:
        raise InvalidKey(f"object key is longer than {KEY_MAX_BYTES} bytes")
    if _BAD_KEY_CHARS.search(key):
        raise InvalidKey("object key holds a control character or backslash")
    segments = key.split("/")
    if prefix:
        segments = segments[:-1] if segments[-1] == "" else segments
    for segment in segments:
        if segment in ("", ".", "..") or segment.startswith("."):
            raise InvalidKey(f"object key {key[:120]!r} has an empty, dot or dot-dot segment")
    return key


@attrs.frozen
class StoredObject:
    """An object's bytes with the ETag (unquoted) of that exact version."""

    data: bytes
    etag: str


@attrs.frozen
class ObjectInfo:
    """What listing or HEAD tells of one object: key, size in bytes, unquoted ETag."""

    key: str
    size: int
    etag: str


@runtime_checkable
class ObjectStore(Protocol):
    """An S3-like key/value store of immutable byte objects.

    Errors: every method raises only :class:`StoreError` subclasses; ``InvalidKey`` for a
    bad key before any I/O; ``StoreUnavailable`` when the backend cannot be reached.
    """

    @property
    def supports_conditional_writes(self) -> bool:
        """True when put-if-absent and put-if-match are atomic across every process and
        replica that shares the store. When False, the two calls still work but are only
        atomic within this process, and a deployment must run a single replica."""
        ...

    async def get(self, key: str) -> StoredObject:
        """Read a whole object. Raises ``ObjectNotFound``."""
        ...

    async def head(self, key: str) -> ObjectInfo:
        """Size and ETag of an object without its bytes. Raises ``ObjectNotFound``."""
        ...

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> str:
        """Create or replace an object; return its new ETag."""
        ...

    async def put_if_absent(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> str:
        """Create an object only if the key is free (S3 ``If-None-Match: *``); return its
        ETag. Raises ``PreconditionFailed`` when the key exists."""
        ...

    async def put_if_match(
        self, key: str, data: bytes, etag: str, *, content_type: str = "application/octet-stream"
    ) -> str:
        """Replace an object only if its current ETag equals ``etag`` (S3 ``If-Match``);
        return the new ETag. Raises ``PreconditionFailed`` when the ETag differs or the
        object does not exist."""
        ...

    async def delete(self, key: str) -> None:
        """Delete an object; deleting a missing key is not an error (S3 semantics)."""
        ...

    def list_pages(
        self, prefix: str = "", *, page_size: int = 1000, start_after: str = ""
    ) -> AsyncIterator[list[ObjectInfo]]:
        """Yield pages of at most ``page_size`` (1-1000) objects whose keys start with
        ``prefix``, every key once, in ascending order across all pages: UTF-8 byte order
        of the whole key on S3, memory and file system; SeaweedFS lists folder by folder,
        which orders by ``/``-separated segments (``a/x`` before ``a-``). Callers that
        need one exact order sort the keys themselves. With ``start_after``, only keys
        after it in that order (S3 ListObjectsV2 ``StartAfter``; within one folder, byte
        order on every backend)."""
        ...

    async def ping(self) -> None:
        """Check that the store answers and our credentials work (S3: HEAD bucket).
        Raises ``StoreUnavailable`` or ``StoreAccessDenied``."""
        ...

    async def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
        ...
