"""Journals, leases and jobs over an ``ObjectStore`` (JSON, readable by people).

Layout: ``{space}/_consolidations/{run_id}.json``, ``{space}/_lease.json``,
``_system/jobs/{job_id}.json``.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator
from datetime import datetime

import attrs
import structlog

from application.consolidation.ports import JobRecord, JobState, Lease
from application.store import CorruptObject, ObjectNotFound, ObjectStore, PreconditionFailed
from domain import Conflict, NotFound, SpaceId
from domain.consolidation import Journal, JournalState
from infrastructure import codecs, layout

__all__ = ["JOBS_PREFIX", "StoreJobRepository", "StoreJournalRepository", "StoreLeaseRepository"]

JOBS_PREFIX = "_system/jobs/"
log = structlog.get_logger("live_mem.store")
_JSON = "application/json"


def _journal_prefix(space_id: SpaceId) -> str:
    return f"{space_id}/_consolidations/"


class StoreJournalRepository:
    """Implements :class:`application.consolidation.ports.JournalRepository`."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def prepare(self, journal: Journal) -> None:
        """See the port."""
        key = f"{_journal_prefix(journal.space_id)}{journal.run_id}.json"
        await self._store.put_if_absent(key, codecs.encode_json(journal), content_type=_JSON)

    async def mark_committed(self, journal: Journal) -> None:
        """See the port."""
        key = f"{_journal_prefix(journal.space_id)}{journal.run_id}.json"
        await self._store.put(key, codecs.encode_json(journal), content_type=_JSON)

    async def mark_abandoned(self, journal: Journal) -> None:
        """See the port."""
        key = f"{_journal_prefix(journal.space_id)}{journal.run_id}.json"
        await self._store.put(
            key, codecs.encode_json(attrs.evolve(journal, state=JournalState.ABANDONED)), content_type=_JSON
        )

    async def run_ids(self, space_id: SpaceId, *, after: str = "") -> builtins.list[str]:
        """See the port."""
        prefix = _journal_prefix(space_id)
        start = f"{prefix}{after}.json" if after else ""
        found: builtins.list[str] = []
        async for page in self._store.list_pages(prefix, start_after=start):
            found.extend(
                i.key.removeprefix(prefix).removesuffix(".json") for i in page if i.key.endswith(".json")
            )
        return sorted(found)

    async def get(self, space_id: SpaceId, run_id: str) -> Journal:
        """See the port."""
        key = f"{_journal_prefix(space_id)}{run_id}.json"
        try:
            data = (await self._store.get(key)).data
        except ObjectNotFound:
            raise NotFound(f"no journal {run_id}") from None
        return codecs.decode_json(data, Journal, f"journal {key}")

    async def list(self, space_id: SpaceId) -> builtins.list[Journal]:
        """See the port: a journal that cannot be decoded is skipped and logged
        (``journal_unreadable`` with its key), so one corrupt object does not stop the
        space's history, backups and consolidation."""
        found = []
        async for page in self._store.list_pages(_journal_prefix(space_id)):
            for info in page:
                if not info.key.endswith(".json"):
                    continue
                try:
                    data = (await self._store.get(info.key)).data
                    found.append(codecs.decode_json(data, Journal, f"journal {info.key}"))
                except ObjectNotFound:
                    continue
                except CorruptObject as exc:
                    log.warning("journal_unreadable", key=info.key, error=str(exc)[:200])
        return sorted(found, key=lambda j: j.run_id)


@attrs.frozen
class _LeaseBody:
    holder: str
    expires_at: datetime


class StoreLeaseRepository:
    """Implements :class:`application.consolidation.ports.LeaseRepository` with
    put-if-absent (take) and put-if-match (take over an expired lease, renew)."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    @staticmethod
    def _key(space_id: SpaceId) -> str:
        return layout.lease_key(space_id)

    async def acquire(self, space_id: SpaceId, holder: str, until: datetime, now: datetime) -> Lease:
        """See the port."""
        key = self._key(space_id)
        body = codecs.encode_json(_LeaseBody(holder, until))
        try:
            etag = await self._store.put_if_absent(key, body, content_type=_JSON)
        except PreconditionFailed:
            try:
                current = await self._store.get(key)
            except ObjectNotFound:
                raise Conflict("the consolidation lease changed hands; try again") from None
            try:
                held = codecs.decode_json(current.data, _LeaseBody, "lease")
            except CorruptObject:  # unreadable: nobody can hold it, so it is taken over
                log.warning("corrupt_lease_taken_over", key=key)
                held = _LeaseBody("unreadable", now)
            if held.expires_at > now and held.holder != holder:
                raise Conflict(
                    f"a consolidation of {space_id} is already running (job {held.holder}, "
                    f"lease until {held.expires_at.isoformat()})"
                ) from None
            try:
                etag = await self._store.put_if_match(key, body, current.etag, content_type=_JSON)
            except PreconditionFailed:
                raise Conflict("another server took the consolidation lease first") from None
        return Lease(space_id, holder, until, etag)

    async def renew(self, lease: Lease, until: datetime) -> Lease:
        """See the port."""
        body = codecs.encode_json(_LeaseBody(lease.holder, until))
        try:
            etag = await self._store.put_if_match(
                self._key(lease.space_id), body, lease.etag, content_type=_JSON
            )
        except PreconditionFailed:
            raise Conflict("the consolidation lease was taken over; this run stops") from None
        return attrs.evolve(lease, expires_at=until, etag=etag)

    async def release(self, lease: Lease) -> None:
        """See the port. Only deletes the lease if its ETag is still ours."""
        try:
            current = await self._store.head(self._key(lease.space_id))
        except ObjectNotFound:
            return
        if current.etag == lease.etag:
            await self._store.delete(self._key(lease.space_id))

    async def current(self, space_id: SpaceId) -> tuple[str, datetime | None] | None:
        """See the port."""
        try:
            data = (await self._store.get(self._key(space_id))).data
        except ObjectNotFound:
            return None
        try:
            held = codecs.decode_json(data, _LeaseBody, "lease")
        except CorruptObject:
            return ("unreadable", None)
        return (held.holder, held.expires_at)

    async def break_lease(self, space_id: SpaceId) -> tuple[str, datetime | None] | None:
        """See the port."""
        held = await self.current(space_id)
        if held is not None:
            await self._store.delete(self._key(space_id))
            log.warning("lease_broken", key=self._key(space_id), holder=held[0])
        return held


class StoreJobRepository:
    """Implements :class:`application.consolidation.ports.JobRepository`."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def put(self, job: JobRecord) -> None:
        """See the port."""
        await self._store.put(f"{JOBS_PREFIX}{job.job_id}.json", codecs.encode_json(job), content_type=_JSON)

    async def get(self, job_id: str) -> JobRecord:
        """See the port."""
        if not isinstance(job_id, str) or not job_id.isalnum() or len(job_id) > 32:
            raise NotFound("no such job")
        try:
            data = (await self._store.get(f"{JOBS_PREFIX}{job_id}.json")).data
        except ObjectNotFound:
            raise NotFound(f"no consolidation job {job_id}") from None
        return codecs.decode_json(data, JobRecord, f"job {job_id}")

    async def _records(self) -> AsyncIterator[tuple[str, JobRecord]]:
        """Every readable job record with its key; an unreadable one is skipped (and
        logged), so one bad record never stops the others."""
        async for page in self._store.list_pages(JOBS_PREFIX):
            for info in page:
                try:
                    yield (
                        info.key,
                        codecs.decode_json((await self._store.get(info.key)).data, JobRecord, info.key),
                    )
                except CorruptObject:
                    log.warning("unreadable_job_skipped", key=info.key)
                except ObjectNotFound:
                    continue

    async def prune(self, finished_before: datetime) -> int:
        """See the port (unreadable records are left for a person to look at)."""
        removed = 0
        async for key, job in self._records():
            if job.state not in (JobState.QUEUED, JobState.RUNNING) and job.updated_at < finished_before:
                await self._store.delete(key)
                removed += 1
        return removed

    async def unfinished(self) -> builtins.list[JobRecord]:
        """See the port."""
        jobs = [job async for _, job in self._records() if job.state in (JobState.QUEUED, JobState.RUNNING)]
        return sorted(jobs, key=lambda j: j.created_at)

    async def all(self) -> builtins.list[JobRecord]:
        """See the port."""
        return sorted([job async for _, job in self._records()], key=lambda j: (j.created_at, j.job_id))
