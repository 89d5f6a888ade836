"""Snapshots of a space from listings alone (:class:`application.watch.StoreProbe`)."""

from __future__ import annotations

import hashlib

from application.store import ObjectStore
from domain import SpaceId
from infrastructure import layout

__all__ = ["ListingProbe"]


class ListingProbe:
    """Implements :class:`application.watch.StoreProbe` with LISTs (no GET)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def bank_versions(self, space_id: SpaceId) -> dict[str, str]:
        """See the port: one LIST of ``{space}/bank/``."""
        prefix = layout.bank_prefix(space_id)
        return {
            info.key.removeprefix(prefix): info.etag
            async for page in self._store.list_pages(prefix)
            for info in page
            if not info.key.removeprefix(prefix).startswith("archive/")
        }

    async def work_version(self, space_id: SpaceId) -> str:
        """See the port: a SHA-256 over the items' and claims' keys and ETags."""
        digest = hashlib.sha256()
        for prefix in (layout.items_prefix(space_id), layout.claims_prefix(space_id)):
            async for page in self._store.list_pages(prefix):
                for info in page:
                    digest.update(f"{info.key}\t{info.etag}\n".encode())
        return digest.hexdigest()
