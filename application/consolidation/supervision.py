"""Supervision of consolidation across spaces: the job lanes (``bank_consolidation_queues``),
spaces whose notes wait too long (``bank_stale_spaces``) and the collection of old notes
(``admin_gc_notes``), as the public live-memory server offers them; and the way out of a
space's lease whose holder died or hangs (``admin_break_lease``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

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

__all__ = ["Supervision"]

LATEST_JOBS = 3


def _whole(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}")
    return value


class Supervision:
    """Cross-space views and maintenance of consolidation (module docstring)."""

    def __init__(
        self,
        spaces: SpaceRepository,
        notes: NoteRepository,
        jobs: JobRepository,
        consolidation: ConsolidationJobs,
        clock: Clock,
        *,
        leases: LeaseRepository,
        journals: JournalRepository,
    ) -> None:
        self._spaces = spaces
        self._notes = notes
        self._jobs = jobs
        self._consolidation = consolidation
        self._clock = clock
        self._leases = leases
        self._journals = journals

    async def lease(
        self, caller: Identity, space_id: str, *, break_it: bool = False, discard_journal: str = ""
    ) -> dict[str, Any]:
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
        answer: dict[str, Any] = {
            "space_id": space.value,
            "state": "free",
            "holder": None,
            "expires_at": None,
            "broken": False,
            "unfinished_journals": sorted(unfinished),
            "discarded": discard_journal or None,
        }
        if held is None:
            return answer
        holder, expires_at = held
        live = expires_at is not None and expires_at > self._clock.now()
        return {
            **answer,
            "state": "held" if live else "expired",
            "holder": holder,
            "expires_at": expires_at.isoformat() if expires_at else None,
            "broken": break_it,
        }

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

    async def queues(self, caller: Identity, space_ids: Sequence[str] = ()) -> dict[str, Any]:
        """One lane per space (read): ``lane_state`` (idle, queued, running, failed: its
        newest job failed), ``running_job``, ``queued_count``, ``latest_jobs`` (the
        newest ``LATEST_JOBS`` job records), with totals and ``denied_spaces``. One
        server runs one job per space at a time; spaces run in parallel.

        Raises:
            PermissionDenied.
        """
        spaces, denied = await self._scope(caller, space_ids, Permission.READ)
        lanes: list[dict[str, Any]] = []
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
                {
                    "space_id": space.value,
                    "lane_state": state,
                    "running_job": running.job_id if running else None,
                    "queued_count": len(queued),
                    "latest_jobs": mine[:LATEST_JOBS],
                }
            )
        return {
            "lanes": lanes,
            "total_spaces": len(lanes),
            "active_spaces": sum(1 for lane in lanes if lane["lane_state"] in ("queued", "running")),
            "running_spaces": sum(1 for lane in lanes if lane["lane_state"] == "running"),
            "queued_jobs": sum(int(lane["queued_count"]) for lane in lanes),
            "failed_recent": sum(1 for lane in lanes if lane["lane_state"] == "failed"),
            "parallelism_model": "one job per space at a time; spaces in parallel",
            "denied_spaces": denied,
        }

    async def stale(
        self, caller: Identity, min_notes: int = 5, min_age_days: int = 5, space_ids: Sequence[str] = ()
    ) -> dict[str, Any]:
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
        scanned: list[dict[str, Any]] = []
        for space in spaces:
            refs = await self._notes.refs(space)
            oldest = refs[0] if refs else None
            age = (now - oldest.created_at).total_seconds() / 86_400 if oldest else 0.0
            scanned.append(
                {
                    "space_id": space.value,
                    "live_notes_count": len(refs),
                    "oldest_note_age_days": math.floor(age * 100) / 100,
                    "oldest_note_timestamp": oldest.created_at.isoformat() if oldest else None,
                    "is_stale": len(refs) >= min_notes and age >= min_age_days,
                }
            )
        stale = sorted(
            (s for s in scanned if s["is_stale"]),
            key=lambda s: (-int(s["live_notes_count"]), -float(s["oldest_note_age_days"])),
        )
        return {
            "spaces": stale,
            "scanned": scanned,
            "total_spaces": len(scanned),
            "total_stale": len(stale),
            "min_notes": min_notes,
            "min_age_days": min_age_days,
            "denied_spaces": denied,
        }

    async def gc_notes(
        self,
        caller: Identity,
        space_id: str = "",
        older_than_days: int = 7,
        *,
        delete_only: bool = False,
        dry_run: bool = True,
    ) -> dict[str, Any]:
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
            entry: dict[str, Any] = {"space_id": space.value, "old_notes": len(old)}
            if not dry_run and delete_only:
                for ref in old:
                    await self._notes.delete(ref)
                entry["deleted"] = len(old)
            elif not dry_run:
                entry["job_id"] = (await self._consolidation.submit(caller, space.value)).job_id
            report.append(entry)
        return {
            "dry_run": dry_run,
            "delete_only": delete_only,
            "older_than_days": older_than_days,
            "spaces": report,
            "total_old_notes": sum(int(e["old_notes"]) for e in report),
        }
