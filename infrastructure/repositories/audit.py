"""The audit log on an object store: one JSON object per record at
``_system/audit/{YYYYMMDD}/{time}-{random}_{space}.json`` (``space`` empty for a call on
no space), written with put-if-absent, never rewritten. Keys sort by time within a day,
so a read lists one day at a time, newest first, from ``until`` back to ``since``, and
skips by key the records of other spaces without reading them. Records written before
the space was part of the key (``{time}-{random}.json``) are read to be filtered.
Pruning lists the oldest key first (one-key LIST) and deletes whole days."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Final

from application.audit import AuditRecord
from application.store import CorruptObject, ObjectNotFound, ObjectStore
from domain import utc_stamp
from infrastructure import codecs, layout

__all__ = ["StoreAuditLog"]

_PREFIX: Final = layout.AUDIT_PREFIX


def _day(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y%m%d}"


def _space_of(key: str) -> str | None:
    """The space a key names, or None for a key of the older format."""
    name = key.rsplit("/", 1)[-1].removesuffix(".json")
    return name.split("_", 1)[1] if "_" in name else None


class StoreAuditLog:
    """:class:`application.audit.AuditLog` on an object store (module docstring)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def append(self, record: AuditRecord) -> None:
        """See the port."""
        at = record.at.astimezone(UTC)
        key = f"{_PREFIX}{_day(at)}/{utc_stamp(at)}-{secrets.token_hex(4)}_{record.space}.json"
        await self._store.put_if_absent(key, codecs.encode_json(record), content_type="application/json")

    async def read(self, space: str, since: datetime, until: datetime, limit: int) -> list[AuditRecord]:
        """See the port: days from ``until`` back to ``since``, records newest first."""
        found: list[AuditRecord] = []
        day = until.astimezone(UTC)
        while _day(day) >= _day(since):
            prefix = f"{_PREFIX}{_day(day)}/"
            keys = sorted(
                [info.key async for page in self._store.list_pages(prefix) for info in page], reverse=True
            )
            for key in keys:
                named = _space_of(key)
                if space and named is not None and named != space:
                    continue
                try:
                    record = codecs.decode_json((await self._store.get(key)).data, AuditRecord, key)
                except (CorruptObject, ObjectNotFound):
                    continue
                if record.at < since:
                    return found
                if record.at > until:
                    continue
                if not space or record.space == space:
                    found.append(record)
                    if len(found) >= limit:
                        return found
            day -= timedelta(days=1)
        return found

    async def prune(self, before: datetime) -> int:
        """See the port: the oldest day is found by a one-key LIST, deleted whole if it
        ends before ``before``, and so on."""
        removed = 0
        while True:
            first = ""
            async for page in self._store.list_pages(_PREFIX, page_size=1):
                first = page[0].key if page else ""
                break
            day = first.removeprefix(_PREFIX).split("/", 1)[0]
            if not first or "/" not in first.removeprefix(_PREFIX) or day >= _day(before):
                return removed
            deleted = 0
            async for page in self._store.list_pages(f"{_PREFIX}{day}/"):
                for info in page:
                    await self._store.delete(info.key)
                    deleted += 1
            if not deleted:
                return removed
            removed += deleted
