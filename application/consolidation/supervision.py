"""Supervision of consolidation across spaces: the job lanes (``bank_consolidation_queues``),
spaces whose notes wait too long (``bank_stale_spaces``) and the collection of old notes
(``admin_gc_notes``), as the public live-memory server offers them; and the way out of a
space's lease whose holder died or hangs (``admin_break_lease``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from application.access import require_space_access
from application.consolidation.jobs import ConsolidationJobs
from application.consolidation.ports import (
    JobRecord,
    JobRepository,
    JobState,
    JournalRepository,
    LeaseRepository,
)
from application.ports import Clock, NoteRepository, SpaceRepository
from domain import ALL_SPACES, DomainError, Identity, InvalidInput, NotFound, Permission, SpaceId

__all__ = ["Backlog", "GcReport", "Lane", "Lanes", "LeaseView", "OldNotes", "StaleSpaces", "Supervision"]

LATEST_JOBS = 3


@attrs.frozen
class LeaseView:
    """A space's consolidation lease (:meth:`Supervision.lease`): ``state`` ``free``,
    ``held`` or ``expired``; ``holder`` and ``expires_at`` (None when free); whether
    this call ``broken`` it; the ``prepared`` journals left (run ids); the one
    ``discarded`` by this call."""

    space_id: str
    state: str = "free"
    holder: str | None = None
    expires_at: datetime | None = None
    broken: bool = False
    unfinished_journals: tuple[str, ...] = ()
    discarded: str | None = None


@attrs.frozen
class Lane:
    """A space's consolidation lane: ``lane_state`` idle, queued, running or failed (its
    newest job failed), the running job's id, how many wait, the newest job records."""

    space_id: str
    lane_state: str
    running_job: str | None
    queued_count: int
    latest_jobs: tuple[JobRecord, ...]


@attrs.frozen
class Lanes:
    """Every lane asked for (:meth:`Supervision.queues`) and the spaces refused."""

    lanes: tuple[Lane, ...]
    denied_spaces: tuple[str, ...]

    def count(self, *states: str) -> int:
        """How many lanes are in one of ``states``."""
        return sum(1 for lane in self.lanes if lane.lane_state in states)


@attrs.frozen
class Backlog:
    """A space's live notes waiting for consolidation: how many, the oldest's age in
    days (truncated to 2 decimals) and time, and whether that makes it stale."""

    space_id: str
    live_notes_count: int
    oldest_note_age_days: float
    oldest_note_at: datetime | None
    is_stale: bool


@attrs.frozen
class StaleSpaces:
    """:meth:`Supervision.stale`: the stale spaces (most notes first), every space
    scanned, the thresholds used, the spaces refused."""

    spaces: tuple[Backlog, ...]
    scanned: tuple[Backlog, ...]
    min_notes: int
    min_age_days: int
    denied_spaces: tuple[str, ...]


@attrs.frozen
class OldNotes:
    """A space's notes older than the cutoff: how many, and what was done: ``deleted``
    (delete_only) or the consolidation ``job_id`` started; neither on a dry run."""

    space_id: str
    old_notes: int
    deleted: int | None = None
    job_id: str | None = None


@attrs.frozen
class GcReport:
    """:meth:`Supervision.gc_notes`: the spaces holding old notes and what was done."""

    dry_run: bool
    delete_only: bool
    older_than_days: int
    spaces: tuple[OldNotes, ...]


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}")
    return value


@attrs.define(eq=False)
class Supervision:
    """Cross-space views and maintenance of consolidation (module docstring)."""

    _spaces: SpaceRepository
    _notes: NoteRepository
    _jobs: JobRepository
    _consolidation: ConsolidationJobs
    _clock: Clock
    _leases: LeaseRepository = attrs.field(kw_only=True)
    _journals: JournalRepository = attrs.field(kw_only=True)

    async def lease(
        self, caller: Identity, space_id: str, *, break_it: bool = False, discard_journal: str = ""
    ) -> LeaseView:
        """The space's consolidation lease (admin): ``state`` ``free``, ``held`` or
        ``expired``, its ``holder`` (a job id, ``backup-...``, ``delete-...``, or
        ``unreadable`` for a corrupt lease) and ``expires_at``, and the journals left
        ``prepared`` (``unfinished_journals``: every run rolls them forward first, so
        one that cannot commit stops every run). With ``break_it``, the lease is removed
        whatever its state and ``broken`` is true; a consolidation that still runs
        under a broken lease stops before it writes its next batch (it renews the lease
        first); a backup or deletion under way goes on. With ``break_it`` and
        ``discard_journal`` (a run id from ``unfinished_journals``), that journal is
        marked ``abandoned``: never rolled forward; the notes it named that are still
        live stay live for the next run, and the files it wrote stay as they are.

        Raises:
            PermissionDenied; InvalidInput (``discard_journal`` without ``break_it``);
            NotFound (``discard_journal`` names no unfinished journal of the space).
        """
        space = require_space_access(caller, Permission.ADMIN, space_id)
        if discard_journal and not break_it:
            raise InvalidInput("discarding a journal breaks the lease first: call again with confirm=true")
        unfinished = {j.run_id: j for j in await self._journals.pending(space)}
        if discard_journal and discard_journal not in unfinished:
            raise NotFound(f"no unfinished journal {discard_journal[:80]!r} in space {space}")
        held = await (self._leases.break_lease(space) if break_it else self._leases.current(space))
        if discard_journal:
            await self._journals.mark_abandoned(unfinished.pop(discard_journal))
        answer = LeaseView(
            space.value, unfinished_journals=tuple(sorted(unfinished)), discarded=discard_journal or None
        )
        if held is None:
            return answer
        holder, expires_at = held
        live = expires_at is not None and expires_at > self._clock.now()
        return attrs.evolve(
            answer, state="held" if live else "expired", holder=holder, expires_at=expires_at, broken=break_it
        )

    async def _scope(
        self, caller: Identity, space_ids: Sequence[str], permission: Permission
    ) -> tuple[list[SpaceId], list[str]]:
        """The spaces asked for (all the caller may use when none) that exist and the
        caller may use with ``permission``, and the ones refused."""
        caller.require(permission)
        existing = await self._spaces.list_ids()
        if not space_ids:
            wanted = [s for s in existing if ALL_SPACES in caller.spaces or caller.can_use(s)]
            return wanted, []
        allowed: list[SpaceId] = []
        denied: list[str] = []
        known = {s.value for s in existing}
        for space_id in space_ids:
            try:
                space = require_space_access(caller, permission, space_id)
            except DomainError:
                denied.append(str(space_id)[:64])
                continue
            if space.value in known:
                allowed.append(space)
            else:
                denied.append(space.value)
        return allowed, denied

    async def queues(self, caller: Identity, space_ids: Sequence[str] = ()) -> Lanes:
        """One lane per space (read): ``lane_state`` (idle, queued, running, failed: its
        newest job failed), ``running_job``, ``queued_count``, ``latest_jobs`` (the
        newest ``LATEST_JOBS`` job records), and ``denied_spaces``. One
        server runs one job per space at a time; spaces run in parallel.

        Raises:
            PermissionDenied.
        """
        spaces, denied = await self._scope(caller, space_ids, Permission.READ)
        lanes: list[Lane] = []
        unfinished = await self._jobs.unfinished()  # one read of the index for every lane
        for space in spaces:
            mine: list[JobRecord] = await self._jobs.recent(space, LATEST_JOBS)
            waiting = [j for j in unfinished if j.space_id == space]
            running = next((j for j in waiting if j.state is JobState.RUNNING), None)
            queued = [j for j in waiting if j.state is JobState.QUEUED]
            state = (
                "running"
                if running
                else "queued"
                if queued
                else "failed"
                if mine and mine[0].state is JobState.FAILED
                else "idle"
            )
            lanes.append(
                Lane(
                    space.value,
                    state,
                    running.job_id if running else None,
                    len(queued),
                    tuple(mine[:LATEST_JOBS]),
                )
            )
        return Lanes(tuple(lanes), tuple(denied))

    async def stale(
        self, caller: Identity, min_notes: int = 5, min_age_days: int = 5, space_ids: Sequence[str] = ()
    ) -> StaleSpaces:
        """Spaces whose consolidation fell behind (read): a space is stale when it holds
        at least ``min_notes`` live notes and its oldest one is at least ``min_age_days``
        old (both inclusive). Ages come from the notes' own timestamps (their keys), not
        the store's modification times; the age shown is truncated to 2 decimals.

        Raises:
            PermissionDenied, InvalidInput.
        """
        min_notes = _whole(min_notes, "min_notes", 1, 1_000_000)
        min_age_days = _whole(min_age_days, "min_age_days", 0, 36_500)
        spaces, denied = await self._scope(caller, space_ids, Permission.READ)
        now = self._clock.now()
        scanned: list[Backlog] = []
        for space in spaces:
            refs = await self._notes.refs(space)
            oldest = refs[0] if refs else None
            age = (now - oldest.created_at).total_seconds() / 86_400 if oldest else 0.0
            scanned.append(
                Backlog(
                    space.value,
                    len(refs),
                    math.floor(age * 100) / 100,
                    oldest.created_at if oldest else None,
                    len(refs) >= min_notes and age >= min_age_days,
                )
            )
        stale = sorted(
            (s for s in scanned if s.is_stale), key=lambda s: (-s.live_notes_count, -s.oldest_note_age_days)
        )
        return StaleSpaces(tuple(stale), tuple(scanned), min_notes, min_age_days, tuple(denied))

    async def gc_notes(
        self,
        caller: Identity,
        space_id: str = "",
        older_than_days: int = 7,
        *,
        delete_only: bool = False,
        dry_run: bool = True,
    ) -> GcReport:
        """Notes older than ``older_than_days`` left in live/ (admin). ``dry_run``
        (default): count them per space. Otherwise each space holding some gets a
        consolidation job (which carries every live note of the space into the bank and
        the archive), or with ``delete_only`` the old notes are deleted without being
        consolidated: they are lost, as asked.

        Raises:
            PermissionDenied, InvalidInput, NotFound.
        """
        older_than_days = _whole(older_than_days, "older_than_days", 0, 36_500)
        if not isinstance(delete_only, bool) or not isinstance(dry_run, bool):
            raise InvalidInput("delete_only and dry_run must be true or false")
        if space_id:
            spaces = [require_space_access(caller, Permission.ADMIN, space_id)]
            await self._spaces.get(spaces[0])
        else:
            spaces, _ = await self._scope(caller, (), Permission.ADMIN)
        cutoff = self._clock.now() - timedelta(days=older_than_days)
        report = []
        for space in spaces:
            old = [r for r in await self._notes.refs(space) if r.created_at < cutoff]
            if not old:
                continue
            entry = OldNotes(space.value, len(old))
            if not dry_run and delete_only:
                for ref in old:
                    await self._notes.delete(ref)
                entry = attrs.evolve(entry, deleted=len(old))
            elif not dry_run:
                entry = attrs.evolve(
                    entry, job_id=(await self._consolidation.submit(caller, space.value)).job_id
                )
            report.append(entry)
        return GcReport(dry_run, delete_only, older_than_days, tuple(report))
