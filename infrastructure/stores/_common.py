"""Helpers shared by the object store adapters."""

from __future__ import annotations

import hashlib

__all__ = ["etag_of", "check_page_size", "utf8_sort_key"]


def etag_of(data: bytes) -> str:
    """The ETag S3 gives a single-part upload: the MD5 hex digest of the bytes
    (S3 API reference, "Common Response Headers"). Used by the stores that compute
    their own ETags so that every backend agrees on them."""
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def check_page_size(page_size: int) -> int:
    """Validate a listing page size: 1-1000 as ListObjectsV2's MaxKeys.

    Raises:
        ValueError: outside that range.
    """
    if not 1 <= page_size <= 1000:
        raise ValueError("page_size must be between 1 and 1000")
    return page_size


def utf8_sort_key(key: str) -> bytes:
    """Sort key giving S3's listing order: ascending UTF-8 bytes."""
    return key.encode("utf-8", "surrogatepass")
