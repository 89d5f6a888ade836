"""The audit log on an object store: one JSON object per record at
``_system/audit/{YYYYMMDD}/{time}-{random}.json``, written with put-if-absent, never
rewritten. Keys sort by time, so the newest are read first by listing a day at a time."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from application.audit import AuditRecord
from application.store import CorruptObject, ObjectNotFound, ObjectStore
from infrastructure import codecs

__all__ = ["StoreAuditLog"]

_PREFIX = "_system/audit/"


class StoreAuditLog:
    """:class:`application.audit.AuditLog` on an object store (module docstring)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def append(self, record: AuditRecord) -> None:
        """See the port."""
        at = record.at.astimezone(UTC)
        key = f"{_PREFIX}{at:%Y%m%d}/{at:%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}.json"
        await self._store.put_if_absent(key, codecs.encode_json(record), content_type="application/json")

    async def read(self, space: str, since: datetime | None, limit: int) -> list[AuditRecord]:
        """See the port: days newest first, records newest first, until ``limit``."""
        listed = [info.key async for page in self._store.list_pages(_PREFIX) for info in page]
        days = sorted({key.removeprefix(_PREFIX).split("/", 1)[0] for key in listed}, reverse=True)
        found: list[AuditRecord] = []
        for day in days:
            if since is not None and day < f"{since.astimezone(UTC):%Y%m%d}":
                break
            keys = sorted((k for k in listed if k.startswith(f"{_PREFIX}{day}/")), reverse=True)
            for key in keys:
                try:
                    record = codecs.decode_json((await self._store.get(key)).data, AuditRecord, key)
                except (CorruptObject, ObjectNotFound):
                    continue
                if since is not None and record.at < since:
                    return found
                if not space or record.space == space:
                    found.append(record)
                    if len(found) >= limit:
                        return found
        return found
