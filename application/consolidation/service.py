"""The consolidation use case: live notes into the memory bank, crash-safe.

Protocol (see ``docs/consolidation.md``):

1. take the space's lease (conditional writes), holder = the job id;
2. roll forward any journal left ``prepared``;
3. select the space's notes written before the run started, oldest first (all, or one
   agent's), at most ``max_notes``;
4. pack them into batches by estimated tokens; for each batch: renew the lease, plan
   within ``lease_seconds`` (one retry with the error if the plan is invalid;
   :func:`application.consolidation.planning.plan_batch`), validate and apply it in
   memory, renew the lease again (a lease an admin broke stops the run here, before
   anything of the batch is written), write the journal ``prepared``, apply it
   (:meth:`ConsolidationService._commit`), and report the progress so far;
5. release the lease and report.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import attrs
import structlog

from application.consolidation.journals import prune_journals
from application.consolidation.lock import LeaseHandle, SpaceLock
from application.consolidation.planners import Planner, PlanRequest
from application.consolidation.planning import plan_batch
from application.consolidation.ports import (
    JournalRepository,
    LeaseRepository,
    ModelContextOverflow,
)
from application.consolidation.report import ConsolidationFailed, ConsolidationReport
from application.ports import BankRepository, Clock, NoteRef, NoteRepository, SpaceRepository
from application.work.service import WorkService
from domain import (
    AgentName,
    BankFile,
    BankFileName,
    Note,
    SpaceId,
    SpaceMeta,
    Synthesis,
    utc_stamp,
)
from domain.consolidation import (
    DEFAULT_BANK_BUDGET_TOKENS,
    Archive,
    ConsumedNote,
    Journal,
    JournalState,
    RoutingTable,
    estimate_tokens,
    file_budgets,
    fit_bank,
    pack_batches,
)
from domain.consolidation.journal import EDIT_BATCH, first_batch, run_id

__all__ = ["ConsolidationFailed", "ConsolidationReport", "ConsolidationService"]

log = structlog.get_logger("live_mem.consolidation")
Progress = Callable[[ConsolidationReport], Awaitable[None]]
"""Told the report so far after each committed batch (the job's progress)."""


class ConsolidationService:
    """Runs consolidations. Authorization is checked by the caller (the job runner)."""

    def __init__(
        self,
        *,
        spaces: SpaceRepository,
        notes: NoteRepository,
        bank: BankRepository,
        journals: JournalRepository,
        leases: LeaseRepository,
        planner: Planner,
        clock: Clock,
        lease_seconds: float,
        max_notes: int,
        bank_budget_tokens: int = DEFAULT_BANK_BUDGET_TOKENS,
        journal_retention_days: int,
        work: WorkService | None = None,
    ) -> None:
        self._work = work
        self._journal_retention = timedelta(days=journal_retention_days)
        self._pruned: dict[SpaceId, datetime] = {}
        self._spaces = spaces
        self._notes = notes
        self._bank = bank
        self._journals = journals
        self._planner = planner
        self._clock = clock
        self._lock = SpaceLock(leases, clock, lease_seconds)
        self._lease_seconds = lease_seconds
        self._max_notes = max_notes
        self._bank_budget = bank_budget_tokens

    @property
    def mode(self) -> str:
        """The planner's mode."""
        return self._planner.mode

    async def space_exists(self, space_id: SpaceId) -> None:
        """Raises ``NotFound`` when the space does not exist."""
        await self._spaces.get(space_id)

    async def budgets(self, space_id: SpaceId) -> dict[str, int]:
        """Each declared bank file's budget in tokens under the space's rules and the
        server's bank budget. Raises ``NotFound``."""
        await self._spaces.get(space_id)
        budgets = file_budgets(await self._spaces.rules(space_id), self._bank_budget)
        return {name.value: tokens for name, tokens in budgets.items()}

    async def consolidate(
        self,
        space_id: SpaceId,
        job_id: str,
        agent: AgentName | None = None,
        on_batch: Progress | None = None,
    ) -> ConsolidationReport:
        """Run one consolidation of ``space_id`` (all notes, or ``agent``'s); ``on_batch``
        is called with the report so far after each committed batch.

        Raises:
            NotFound: no such space.
            Conflict: another consolidation of the space holds the lease.
            ConsolidationFailed: a batch failed; earlier batches stay committed.
            StoreError: the store failed; whatever was prepared is rolled forward next time.
        """

        async def select(
            held: LeaseHandle, report: ConsolidationReport, meta: SpaceMeta
        ) -> ConsolidationReport:
            # The notes that exist now; any written while the run goes on are left alone.
            refs = [r for r in await self._notes.refs(space_id) if agent is None or r.agent == agent]
            selected, remaining = refs[: self._max_notes], max(0, len(refs) - self._max_notes)
            report = attrs.evolve(report, notes_remaining=remaining)
            if selected:
                return await self._run(meta, job_id, selected, held, report, on_batch=on_batch)
            return report

        return await self._leased(space_id, job_id, select)

    async def compact(self, space_id: SpaceId, job_id: str) -> ConsolidationReport:
        """Apply the budget policy to the bank now, consuming no note (after a budget
        change, say): one batch with no notes, through the same journal. In extractive
        mode the views are regenerated; in abstractive mode no model is called.

        Raises:
            NotFound, Conflict, StoreError: as :meth:`consolidate`.
        """

        async def fit(held: LeaseHandle, report: ConsolidationReport, meta: SpaceMeta) -> ConsolidationReport:
            return await self._run(meta, job_id, [], held, report)

        return await self._leased(space_id, job_id, fit)

    async def _leased(
        self,
        space_id: SpaceId,
        job_id: str,
        work: Callable[[LeaseHandle, ConsolidationReport, SpaceMeta], Awaitable[ConsolidationReport]],
    ) -> ConsolidationReport:
        """Take the lease, roll forward what a crash left, do ``work`` (given the space's
        metadata, read once for the run), release the lease as last renewed however the
        work ended (a failed commit included); the report carries the wall time."""
        started = time.perf_counter()
        meta = await self._spaces.get(space_id)
        async with self._lock.hold(space_id, job_id) as held:
            recovered = await self.roll_forward(space_id)
            try:
                report = await work(held, ConsolidationReport(mode=self.mode, recovered=recovered), meta)
            except ConsolidationFailed as exc:  # a failed run reports how long it ran too
                exc.report = attrs.evolve(exc.report, duration_s=round(time.perf_counter() - started, 4))
                raise
            await self._prune_journals(space_id)
            return attrs.evolve(report, duration_s=round(time.perf_counter() - started, 4))

    async def _prune_journals(self, space_id: SpaceId) -> None:
        """Delete the journals older than the retention (``JOURNAL_RETENTION_DAYS``),
        at most once a day per space and process, under the lease."""
        now = self._clock.now()
        last = self._pruned.get(space_id)
        if last is not None and now - last < timedelta(days=1):
            return
        self._pruned[space_id] = now
        cut = utc_stamp(now - self._journal_retention)
        removed = await prune_journals(self._journals, space_id, cut)
        if removed:
            log.info("journals_pruned", space=space_id.value, count=removed)

    async def edit(
        self, space_id: SpaceId, job_id: str, files: dict[str, str], deleted: Sequence[str], mode: str
    ) -> Journal:
        """Write and delete bank files by hand under the space's lease, through a
        journal like a consolidation batch (crash-safe, in ``bank_history``), consuming
        no note and keeping the synthesis. Returns the committed journal.

        Raises:
            NotFound; Conflict while the space's lease is held.
        """
        committed: list[Journal] = []

        async def write(held: LeaseHandle, report: ConsolidationReport, _: SpaceMeta) -> ConsolidationReport:
            stamp = self._clock.now()
            journal = Journal(
                run_id=run_id(stamp, job_id, EDIT_BATCH),
                space_id=space_id,
                job_id=job_id,
                state=JournalState.PREPARED,
                mode=mode,
                files=dict(files),
                synthesis=(await self._spaces.synthesis(space_id)).text,
                consumed=(),
                tokens_in=0,
                tokens_out=0,
                started_at=stamp,
                duration_s=0.0,
                deleted=tuple(deleted),
            )
            await self._write(held, journal)
            committed.append(attrs.evolve(journal, state=JournalState.COMMITTED))
            return report

        await self._leased(space_id, job_id, write)
        return committed[0]

    async def roll_forward(self, space_id: SpaceId) -> int:
        """Commit every journal left ``prepared``; return how many. A journal that names
        another space (copied there by hand, or by an old restore) is never applied: it
        would write into that other space."""
        pending = await self._journals.pending(space_id)
        foreign = [j for j in pending if j.space_id != space_id]
        for journal in foreign:
            log.error(
                "foreign_journal_refused",
                space=str(space_id),
                run_id=journal.run_id,
                names=str(journal.space_id),
            )
        pending = [j for j in pending if j.space_id == space_id]
        for journal in pending:
            log.warning("rolling_forward", space=str(space_id), run_id=journal.run_id)
            await self._commit(journal)
        return len(pending)

    async def _run(
        self,
        meta: SpaceMeta,
        job_id: str,
        refs: Sequence[NoteRef],
        held: LeaseHandle,
        report: ConsolidationReport,
        *,
        on_batch: Progress | None = None,
    ) -> ConsolidationReport:
        """Plan and commit every batch, renewing the lease before each; return the report."""
        space_id, description = meta.space_id, meta.description
        rules = await self._spaces.rules(space_id)
        table = RoutingTable.from_rules(rules)
        budgets = file_budgets(rules, self._bank_budget)
        synthesis = (await self._spaces.synthesis(space_id)).text
        bank = {file.name: file.content for file in await self._bank.get_all(space_id)}
        archive = Archive(space_id, {f.name: f.content for f in await self._bank.get_archive(space_id)})
        notes = await self._notes.get_many(refs)
        items = await self._work.before_consolidation(space_id, notes) if self._work else None
        read = {n.note_id for n in notes}
        report = attrs.evolve(report, notes_unreadable=tuple(r.key for r in refs if r.note_id not in read))
        keys = {r.note_id: r.key for r in refs}
        batches: list[list[Note]] = pack_batches(
            notes,
            self._planner.budget(rules, synthesis),
            item_tokens=lambda n: estimate_tokens(n.content) + 20,
            needs=lambda n: table.route(n)[0],
            need_tokens=lambda f: estimate_tokens(bank.get(f, "")),
        ) or [[]]
        files: set[str] = set(report.files_changed)
        archived: set[str] = set(report.archive_files)
        run_notes: list[Note] = []
        queue, index = deque(batches), 0
        while queue:
            batch = queue.popleft()
            before = dict(archive.files)  # to undo this batch's archive entries if it is split
            archive.changed.clear()
            archive.add_notes(batch, {n.note_id: table.route(n)[0] for n in batch})
            request = PlanRequest(
                batch,
                bank,
                rules,
                synthesis,
                table,
                archive,
                budgets,
                description,
                run_notes=[*run_notes, *batch],
                items=items,
            )
            await held.renew()  # the batch's time starts now, within a lease of its own length
            try:
                planned, changed, new_synthesis, duration = await plan_batch(
                    self._planner, request, report, seconds=self._lease_seconds
                )
            except ConsolidationFailed as exc:
                report = _split(exc, batch, queue)  # or raised again
                archive = Archive(space_id, before)
                continue
            outcomes, stamp = {o.note_id: o for o in planned.outcomes}, self._clock.now()
            planned_bank = {**bank, **{name: file.content for name, file in changed.items()}}
            fitted = fit_bank(bank, planned_bank, budgets, archive, stamp)
            written = {name: text for name, text in fitted.items() if bank.get(name) != text}
            written.update({name: archive.files[name] for name in archive.changed})
            if not written and not batch:
                break  # a compaction with nothing to do writes no journal
            journal = Journal(
                run_id=run_id(stamp, job_id, index),
                space_id=space_id,
                job_id=job_id,
                state=JournalState.PREPARED,
                mode=self.mode,
                files={name.value: text for name, text in written.items()},
                synthesis=new_synthesis.text,
                consumed=tuple(ConsumedNote.of(n, keys[n.note_id], outcomes.get(n.note_id)) for n in batch),
                tokens_in=planned.tokens_in,
                tokens_out=planned.tokens_out,
                started_at=stamp,
                duration_s=duration,
            )
            await self._write(held, journal)
            index += 1
            bank.update(fitted)
            run_notes.extend(batch)
            synthesis = new_synthesis.text
            files.update(name.value for name in written if name not in archive.changed)
            archived.update(name.value for name in archive.changed)
            report = attrs.evolve(
                report,
                notes_consumed=report.notes_consumed + len(batch),
                files_changed=tuple(sorted(files)),
                archive_files=tuple(sorted(archived)),
                batches=report.batches + 1,
                run_ids=(*report.run_ids, journal.run_id),
                outcomes=report.counted(planned.outcomes),
                tokens_in=report.tokens_in + planned.tokens_in,
                tokens_out=report.tokens_out + planned.tokens_out,
                hot_tokens=sum(estimate_tokens(text) for text in bank.values()),
            )
            if on_batch is not None:
                await on_batch(report)
        return report

    async def _write(self, held: LeaseHandle, journal: Journal) -> None:
        """The one way a batch (a consolidation's or a hand edit's) reaches the store:
        renew the lease, write the journal ``prepared``, apply it. Renewing first fences
        the batch: if an admin broke the lease meanwhile (``admin_break_lease``), the run
        stops here, before its journal, and writes nothing more."""
        await held.renew()
        await self._journals.prepare(journal)
        await self._commit(journal)

    async def _commit(self, journal: Journal) -> None:
        """Apply a prepared journal. Every step is idempotent (see the module docstring)."""
        space = journal.space_id
        for name, content in journal.files.items():
            await self._bank.put(space, BankFile(BankFileName(name), content))
        for name in journal.deleted:
            await self._bank.delete(space, BankFileName(name))
        await self._spaces.put_synthesis(space, Synthesis(journal.synthesis))

        def count(meta: SpaceMeta) -> SpaceMeta:
            if meta.last_run_id == journal.run_id:
                return meta
            return attrs.evolve(
                meta,
                consolidations=meta.consolidations + (1 if first_batch(journal.run_id) else 0),
                last_consolidation_at=journal.started_at,
                last_run_id=journal.run_id,
            )

        await self._spaces.update(space, count)
        for c in journal.consumed:
            await self._notes.delete(NoteRef(c.created_at, c.key, space, c.agent, c.category, c.note_id))
        await self._journals.mark_committed(attrs.evolve(journal, state=JournalState.COMMITTED))


def _split(exc: ConsolidationFailed, batch: list[Note], queue: deque[list[Note]]) -> ConsolidationReport:
    """A batch whose prompt was over the model's window goes back as two halves, each
    planned on its own (the adapter has learnt the window when the server named it);
    returns the report with what the refused call cost.

    Raises:
        ConsolidationFailed: ``exc`` again, for any other failure or a batch of one note.
    """
    if not isinstance(exc.__cause__, ModelContextOverflow) or len(batch) < 2:
        raise exc
    half = len(batch) // 2
    queue.extendleft([batch[half:], batch[:half]])
    log.warning("batch_split", notes=len(batch), reason=str(exc)[:200])
    return exc.report
