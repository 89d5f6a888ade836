"""Journals, leases and jobs over an ``ObjectStore`` (JSON, readable by people).

Layout: ``{space}/_consolidations/{run_id}.json``, ``{space}/_lease.json``,
``_system/jobs/{job_id}.json``.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import AsyncIterator
from datetime import datetime

import attrs
import structlog

from application.consolidation.journals import read_journals
from application.consolidation.ports import JobRecord, JobState, Lease
from application.store import CorruptObject, ObjectNotFound, ObjectStore, PreconditionFailed
from domain import Conflict, NotFound, SpaceId, utc_stamp
from domain.consolidation import Journal, JournalState
from infrastructure import codecs, layout

__all__ = ["JOBS_PREFIX", "StoreJobRepository", "StoreJournalRepository", "StoreLeaseRepository"]

JOBS_PREFIX = layout.JOBS_PREFIX
_JOB_INDEX = layout.JOB_INDEX_PREFIX
_INDEX_MARKER = f"{_JOB_INDEX}v1"
_UNFINISHED = (JobState.QUEUED, JobState.RUNNING)
log = structlog.get_logger("live_mem.store")
_JSON = "application/json"


class StoreJournalRepository:
    """Implements :class:`application.consolidation.ports.JournalRepository`: a journal
    at ``{space}/_consolidations/{run_id}.json``, and while it is prepared a marker at
    ``{space}/_consolidations/pending/{run_id}`` (written before the journal, removed
    after it is marked committed or abandoned), so that roll-forward reads the few
    prepared journals, not every journal. Journals prepared before markers existed are
    found by reading a space's journals once per process."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._marked: set[SpaceId] = set()

    @staticmethod
    def _key(space_id: SpaceId, run_id: str) -> str:
        return layout.journal_key(space_id, run_id)

    @staticmethod
    def _marker(space_id: SpaceId, run_id: str) -> str:
        return layout.journal_marker(space_id, run_id)

    async def prepare(self, journal: Journal) -> None:
        """See the port."""
        await self._store.put(self._marker(journal.space_id, journal.run_id), b"", content_type="text/plain")
        key = self._key(journal.space_id, journal.run_id)
        await self._store.put_if_absent(key, codecs.encode_json(journal), content_type=_JSON)

    async def mark_committed(self, journal: Journal) -> None:
        """See the port."""
        await self._finish(journal)

    async def mark_abandoned(self, journal: Journal) -> None:
        """See the port."""
        await self._finish(attrs.evolve(journal, state=JournalState.ABANDONED))

    async def _finish(self, journal: Journal) -> None:
        """Rewrite a journal that is no longer prepared, then remove its marker."""
        key = self._key(journal.space_id, journal.run_id)
        await self._store.put(key, codecs.encode_json(journal), content_type=_JSON)
        await self._store.delete(self._marker(journal.space_id, journal.run_id))

    async def pending(self, space_id: SpaceId) -> builtins.list[Journal]:
        """See the port."""
        await self._mark_old(space_id)
        prefix = self._marker(space_id, "")
        ids = sorted(
            [i.key.removeprefix(prefix) async for page in self._store.list_pages(prefix) for i in page]
        )
        found = []
        for run_id in ids:
            try:
                journal = await self.get(space_id, run_id)
            except NotFound:
                await self._store.delete(self._marker(space_id, run_id))  # its journal went
                continue
            except CorruptObject as exc:
                log.warning("journal_unreadable", space=str(space_id), run_id=run_id, error=str(exc)[:200])
                continue
            if journal.state is JournalState.PREPARED:
                found.append(journal)
            else:
                await self._store.delete(self._marker(space_id, run_id))  # finished before its marker went
        return found

    async def _mark_old(self, space_id: SpaceId) -> None:
        """Mark the prepared journals written before markers existed: once per space
        and process, every journal of the space is read (the retention bounds them)."""
        if space_id in self._marked:
            return
        for journal in await self.list(space_id):
            if journal.state is JournalState.PREPARED:
                marker = self._marker(space_id, journal.run_id)
                await self._store.put(marker, b"", content_type="text/plain")
        self._marked.add(space_id)

    async def delete(self, space_id: SpaceId, run_id: str) -> None:
        """See the port."""
        await self._store.delete(self._key(space_id, run_id))

    async def run_ids(self, space_id: SpaceId, *, after: str = "") -> builtins.list[str]:
        """See the port."""
        prefix = layout.journal_prefix(space_id)
        start = self._key(space_id, after) if after else ""
        found: builtins.list[str] = []
        async for page in self._store.list_pages(prefix, start_after=start):
            found.extend(
                i.key.removeprefix(prefix).removesuffix(".json") for i in page if i.key.endswith(".json")
            )
        return sorted(found)

    async def get(self, space_id: SpaceId, run_id: str) -> Journal:
        """See the port."""
        key = self._key(space_id, run_id)
        try:
            data = (await self._store.get(key)).data
        except ObjectNotFound:
            raise NotFound(f"no journal {run_id}") from None
        return codecs.decode_json(data, Journal, f"journal {key}")

    async def list(self, space_id: SpaceId) -> builtins.list[Journal]:
        """See the port: a journal that cannot be decoded is skipped and logged
        (:func:`~application.consolidation.journals.read_journals`), so one corrupt
        object does not stop the space's history, backups and consolidation."""
        return await read_journals(self, space_id, await self.run_ids(space_id))


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
    """Implements :class:`application.consolidation.ports.JobRepository`.

    A job's record is ``_system/jobs/{job_id}.json``. Two indexes of small objects keep
    every call from reading every record: ``_system/job-index/active/{job_id}`` while
    the job is queued or running (written before the record, removed after the record
    says it finished; a stale one is removed when read), and
    ``_system/job-index/space/{space}/{created}-{job_id}`` from its creation until its
    record is pruned (keys sort by creation time). Records written before the indexes
    existed are indexed once, the first time a repository is used on the store (the
    marker ``_system/job-index/v1`` says it was done).
    """

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._indexed = False
        self._held: set[str] = set()  # unfinished jobs whose index keys this process wrote

    @staticmethod
    def _record_key(job_id: str) -> str:
        return layout.job_key(job_id)

    @staticmethod
    def _active_key(job_id: str) -> str:
        return f"{_JOB_INDEX}active/{job_id}"

    @staticmethod
    def _space_key(job: JobRecord) -> str:
        return f"{_JOB_INDEX}space/{job.space_id}/{utc_stamp(job.created_at)}-{job.job_id}"

    async def put(self, job: JobRecord) -> None:
        """See the port. A job's index keys are written once per job and process, not
        at every heartbeat of a job this process holds."""
        await self._ensure_index()
        if job.job_id not in self._held:
            await self._index(job)
        await self._store.put(self._record_key(job.job_id), codecs.encode_json(job), content_type=_JSON)
        if job.state in _UNFINISHED:
            self._held.add(job.job_id)
        else:
            self._held.discard(job.job_id)
            await self._store.delete(self._active_key(job.job_id))

    async def _index(self, job: JobRecord) -> None:
        await self._store.put(self._space_key(job), b"", content_type="text/plain")
        if job.state in _UNFINISHED:
            body = json.dumps({"space": job.space_id.value, "created": job.created_at.isoformat()})
            await self._store.put(self._active_key(job.job_id), body.encode(), content_type=_JSON)

    async def _ensure_index(self) -> None:
        """Index the records written before the indexes existed, once per store."""
        if self._indexed:
            return
        try:
            await self._store.head(_INDEX_MARKER)
        except ObjectNotFound:
            async for _, job in self._records():
                await self._index(job)
            await self._store.put(_INDEX_MARKER, b"1", content_type="text/plain")
        self._indexed = True

    async def get(self, job_id: str) -> JobRecord:
        """See the port."""
        if not isinstance(job_id, str) or not job_id.isalnum() or len(job_id) > 32:
            raise NotFound("no such job")
        try:
            data = (await self._store.get(self._record_key(job_id))).data
        except ObjectNotFound:
            raise NotFound(f"no consolidation job {job_id}") from None
        return codecs.decode_json(data, JobRecord, f"job {job_id}")

    async def _read(self, job_id: str) -> JobRecord | None:
        """The record, or None when it is missing or unreadable (logged)."""
        try:
            return await self.get(job_id)
        except NotFound:
            return None
        except CorruptObject:
            log.warning("unreadable_job_skipped", job_id=job_id)
            return None

    async def _records(self) -> AsyncIterator[tuple[str, JobRecord]]:
        """Every readable job record with its key; an unreadable one is skipped (and
        logged), so one bad record never stops the others."""
        async for page in self._store.list_pages(JOBS_PREFIX):
            for info in page:
                if not info.key.endswith(".json"):
                    continue
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
        """See the port: only jobs created before ``finished_before`` are read (found
        by the space index's keys); unreadable records are left for a person."""
        await self._ensure_index()
        cut = utc_stamp(finished_before)
        removed = 0
        async for page in self._store.list_pages(self._active_key("")):
            for info in page:  # markers a crash left between the marker and the record
                if await self._read(info.key.rsplit("/", 1)[-1]) is None and await self._marked_before(
                    info.key, finished_before
                ):
                    await self._store.delete(info.key)
        async for page in self._store.list_pages(f"{_JOB_INDEX}space/"):
            for info in page:
                stamp, _, job_id = info.key.rsplit("/", 1)[-1].partition("-")
                if stamp >= cut:
                    continue
                try:
                    job: JobRecord | None = await self.get(job_id)
                except NotFound:
                    job = None
                except CorruptObject:
                    continue
                if job is None:
                    await self._store.delete(info.key)  # its record is gone
                elif job.state not in _UNFINISHED and job.updated_at < finished_before:
                    await self._store.delete(self._record_key(job_id))
                    await self._store.delete(info.key)
                    removed += 1
        return removed

    async def _marked_before(self, key: str, when: datetime) -> bool:
        """True when the active marker at ``key`` was made before ``when`` (an
        unreadable one counts as old)."""
        try:
            created = json.loads((await self._store.get(key)).data)["created"]
            return datetime.fromisoformat(created) < when
        except ObjectNotFound:
            return False
        except (ValueError, KeyError, TypeError):
            return True

    async def unfinished(self, space_id: SpaceId | None = None) -> builtins.list[JobRecord]:
        """See the port."""
        await self._ensure_index()
        jobs = []
        async for page in self._store.list_pages(self._active_key("")):
            for info in page:
                job = await self._read(info.key.rsplit("/", 1)[-1])
                if job is None:
                    continue  # being created (the marker comes first), or left by a crash: prune
                if job.state not in _UNFINISHED:
                    await self._store.delete(info.key)  # stale: the job finished
                elif space_id is None or job.space_id == space_id:
                    jobs.append(job)
        return sorted(jobs, key=lambda j: (j.created_at, j.job_id))

    async def recent(self, space_id: SpaceId, limit: int) -> builtins.list[JobRecord]:
        """See the port."""
        await self._ensure_index()
        prefix = f"{_JOB_INDEX}space/{space_id}/"
        keys = sorted([i.key async for page in self._store.list_pages(prefix) for i in page], reverse=True)
        found: builtins.list[JobRecord] = []
        for key in keys:
            job = await self._read(key.rsplit("-", 1)[-1])
            if job is not None:
                found.append(job)
                if len(found) >= limit:
                    break
        return found

    async def all(self) -> builtins.list[JobRecord]:
        """See the port."""
        return sorted([job async for _, job in self._records()], key=lambda j: (j.created_at, j.job_id))
