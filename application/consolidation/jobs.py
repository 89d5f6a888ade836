"""Consolidation jobs: asked for over MCP, run in the background, kept in the store so
that they and their status survive a restart, resumed by any server once stale."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
import structlog

from application.access import require_space_access
from application.audit import AuditService
from application.consolidation.heartbeat import Heartbeat, beating, is_stale
from application.consolidation.journals import newest_committed, read_journals
from application.consolidation.ports import JobRecord, JobRepository, JobState, JournalRepository
from application.consolidation.report import ConsolidationReport
from application.consolidation.service import ConsolidationFailed, ConsolidationService
from application.ports import Clock, IdGenerator
from domain import AgentName, Conflict, DomainError, Identity, NotFound, Permission, SpaceId
from domain.consolidation import Journal, JournalState

__all__ = ["ConsolidationJobs", "FileChange", "RunDetail"]

DETAIL_LOOKBACK = 200
"""Earlier journals a run's detail reads at most to find its files' previous content."""
log = structlog.get_logger("live_mem.jobs")


@attrs.frozen
class FileChange:
    """A bank file as one batch changed it: its content before and after, and the
    unified diff between them (lines, without line ends)."""

    filename: str
    before: str
    after: str
    diff: tuple[str, ...]


@attrs.frozen
class RunDetail:
    """One committed batch (its journal) and each file it changed, sorted by name."""

    run: Journal
    files: tuple[FileChange, ...]


class ConsolidationJobs:
    """Submit, run, inspect and resume consolidation jobs; decides who may consolidate.

    A job has no time limit of its own: each batch has ``CONSOLIDATION_TIMEOUT`` (the
    service's), and a job whose runner died is noticed by its stale heartbeat.

    Args:
        retention: how long a finished job's record is kept (``JOB_RETENTION_DAYS``).
        audit: where the end of every run is recorded.
    """

    def __init__(
        self,
        service: ConsolidationService,
        *,
        jobs: JobRepository,
        journals: JournalRepository,
        clock: Clock,
        ids: IdGenerator,
        retention: timedelta,
        audit: AuditService | None = None,
    ) -> None:
        self._service = service
        self._jobs = jobs
        self._journals = journals
        self._clock = clock
        self._ids = ids
        self._retention = retention
        self._audit = audit
        self._tasks: set[asyncio.Task[None]] = set()
        self._lanes: dict[SpaceId, asyncio.Lock] = {}
        self._pruned_at: datetime | None = None
        self._observers: list[Callable[[JobRecord], None]] = []

    @property
    def service(self) -> ConsolidationService:
        """The consolidation use case the jobs run (tests and tools that run one directly)."""
        return self._service

    def observe(self, observer: Callable[[JobRecord], None]) -> None:
        """Call ``observer`` with every job this server finishes (metrics)."""
        self._observers.append(observer)

    async def submit(self, caller: Identity, space_id: str, agent: str = "") -> JobRecord:
        """Queue a consolidation and start it in the background; return at once. When
        the space already has a queued or running job whose selection covers this
        request (all notes, or the same agent's), that job is returned instead; any other
        job waits for the space's earlier jobs in this process and then runs.

        Who may: with write, one's own notes (``agent`` empty or one's own name); with
        manage, every note (``agent`` empty) or another agent's.

        Raises:
            PermissionDenied, InvalidInput, NotFound.
        """
        scope: AgentName | None
        if agent and agent != caller.name.value:
            space = require_space_access(caller, Permission.MANAGE, space_id)
            scope = AgentName(agent)
        elif agent:
            space = require_space_access(caller, Permission.WRITE, space_id)
            scope = caller.name
        else:
            space = require_space_access(caller, Permission.WRITE, space_id)
            scope = None if caller.permission >= Permission.MANAGE else caller.name
        await self._service.space_exists(space)
        for waiting in await self._jobs.unfinished(space):
            if waiting.agent_scope is None or (scope is not None and waiting.agent_scope == scope.value):
                self._take_over_if_dead(waiting)
                return waiting  # its selection covers this request: join it
        now = self._clock.now()
        job = JobRecord(
            job_id=self._ids.new_id(),
            space_id=space,
            requested_by=caller.name.value,
            agent_scope=scope.value if scope else None,
            state=JobState.QUEUED,
            created_at=now,
            updated_at=now,
        )
        await self._jobs.put(job)
        self._start(job)
        return job

    async def compact(self, caller: Identity, space_id: str) -> ConsolidationReport:
        """Apply the budget policy to the space's bank now (manage), through a journal,
        consuming no note; return the run's report (``batches`` 0: nothing to change).

        Raises:
            PermissionDenied, InvalidInput, NotFound; Conflict while a consolidation,
            backup or deletion of the space holds its lease.
        """
        space = require_space_access(caller, Permission.MANAGE, space_id)
        report = await self._service.compact(space, f"compact-{self._ids.new_id()}")
        log.info("bank_compacted", space=space.value, batches=report.batches, hot_tokens=report.hot_tokens)
        return report

    async def status(self, caller: Identity, job_id: str) -> JobRecord:
        """A job's record (read permission on its space). Raises ``NotFound``."""
        job = await self._jobs.get(job_id)
        require_space_access(caller, Permission.READ, job.space_id.value)
        return job

    async def history(self, caller: Identity, space_id: str, limit: int = 50) -> list[Journal]:
        """The space's committed batches, newest first, at most ``limit`` (1-500) (read):
        each journal names the notes it consumed (with each note's outcome), the files
        it changed, tokens in/out and duration.

        Raises:
            PermissionDenied, InvalidInput, NotFound.
        """
        space = require_space_access(caller, Permission.READ, space_id)
        await self._service.space_exists(space)
        return await newest_committed(self._journals, space, max(1, min(limit, 500)))

    async def run_detail(self, caller: Identity, space_id: str, run_id: str) -> RunDetail:
        """One committed batch with its provenance (read): its journal (the notes it
        consumed, with their text) and, for every file it changed, the content before
        (the same file in the latest earlier committed batch, "" when none) and after,
        with a unified diff (``difflib``, 3 lines of context).

        Raises:
            PermissionDenied, InvalidInput, NotFound (no such space or committed run).
        """
        space = require_space_access(caller, Permission.READ, space_id)
        await self._service.space_exists(space)
        runs = await read_journals(self._journals, space, [run_id] if isinstance(run_id, str) else [])
        run = next((j for j in runs if j.state is JournalState.COMMITTED), None)
        if run is None:
            raise NotFound(f"no committed consolidation run {str(run_id)[:80]!r} in space {space.value!r}")
        earlier = await self._earlier_files(space, run)
        changes = []
        for name in sorted(run.files):
            before = earlier.get(name, "")
            after = run.files[name]
            diff = difflib.unified_diff(
                before.splitlines(), after.splitlines(), f"{name} (before)", f"{name} (after)", lineterm=""
            )
            changes.append(FileChange(name, before, after, tuple(diff)))
        return RunDetail(run, tuple(changes))

    async def _earlier_files(self, space: SpaceId, run: Journal) -> dict[str, str]:
        """Each file of ``run`` as the latest earlier committed batch left it, reading
        earlier journals newest first until every file is found (at most
        ``DETAIL_LOOKBACK`` of them; a file not found there counts as new)."""
        wanted, found = set(run.files), {}
        for journal in await newest_committed(self._journals, space, DETAIL_LOOKBACK, before=run.run_id):
            for name in wanted & set(journal.files):
                found[name] = journal.files[name]
            wanted -= set(journal.files)
            if not wanted:
                break
        return found

    async def jobs(self, caller: Identity, space_id: str, limit: int = 50) -> list[JobRecord]:
        """The space's job records, newest first, at most ``limit`` (1-500) (read);
        finished ones are kept for the retention period.

        Raises:
            PermissionDenied, InvalidInput, NotFound.
        """
        space = require_space_access(caller, Permission.READ, space_id)
        await self._service.space_exists(space)
        return await self._jobs.recent(space, max(1, min(limit, 500)))

    async def budgets(self, caller: Identity, space_id: str) -> dict[str, int]:
        """Each hot bank file's budget in tokens under the space's rules (read); see
        :func:`domain.consolidation.file_budgets`.

        Raises:
            PermissionDenied, InvalidInput, NotFound.
        """
        space = require_space_access(caller, Permission.READ, space_id)
        return await self._service.budgets(space)

    async def resume_abandoned(self) -> int:
        """Start every unfinished job whose heartbeat stopped (its server died: see
        :mod:`application.consolidation.heartbeat`), and, at most once an hour, delete
        the records of jobs finished longer ago than the retention; return how many
        were started. Servers call this every ``HEARTBEAT_SECONDS``."""
        now = self._clock.now()
        if self._pruned_at is None or now - self._pruned_at >= timedelta(hours=1):
            self._pruned_at = now
            pruned = await self._jobs.prune(now - self._retention)
            if pruned:
                log.info("job_records_pruned", count=pruned)
        return sum([self._take_over_if_dead(job) for job in await self._jobs.unfinished()])

    def _take_over_if_dead(self, job: JobRecord) -> bool:
        """Start ``job`` here when its heartbeat stopped (its runner is gone) and this
        server does not run it already; True when it was started."""
        if job.job_id in self._running() or not is_stale(job, self._clock.now()):
            return False
        log.warning("job_taken_over", job_id=job.job_id, runner=job.runner, space=job.space_id.value)
        self._start(job)
        return True

    async def run_now(self, job: JobRecord, heart: Heartbeat | None = None) -> JobRecord:
        """Run a job in this task and return its final record (the CLI and the runner);
        its record beats while it runs (``heart``, or one of its own)."""
        if heart is None:
            async with beating(self._jobs, self._clock, job) as own:
                return await self.run_now(job, own)
        job = await heart.put(attrs.evolve(job, state=JobState.RUNNING, attempts=job.attempts + 1))
        scope = AgentName(job.agent_scope) if job.agent_scope else None
        running = job

        async def progress(so_far: ConsolidationReport) -> None:  # shown by bank_consolidation_status
            await heart.put(attrs.evolve(running, report=so_far))

        try:
            report = await self._service.consolidate(job.space_id, job.job_id, scope, progress)
        except ConsolidationFailed as exc:
            job = attrs.evolve(job, state=JobState.FAILED, error=str(exc), report=exc.report)
        except Conflict as exc:
            job = attrs.evolve(job, state=JobState.FAILED, error=f"Conflict: {exc}")
        except DomainError as exc:
            job = attrs.evolve(job, state=JobState.FAILED, error=f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a store or model outage: the job fails, nothing is lost
            log.exception("consolidation_crashed", job_id=job.job_id)
            job = attrs.evolve(
                job,
                state=JobState.FAILED,
                error=f"the run stopped on an internal error ({type(exc).__name__}); "
                "prepared work is rolled forward by the next run",
            )
        else:
            job = attrs.evolve(job, state=JobState.SUCCEEDED, report=report)
        job = await heart.put(job, final=True)
        if job.state is JobState.FAILED:
            log.warning("consolidation_failed", job_id=job.job_id, space=job.space_id.value, error=job.error)
        else:
            log.info("consolidation_succeeded", job_id=job.job_id, space=job.space_id.value)
        for observer in self._observers:
            observer(job)
        if self._audit is not None:
            await self._audit.record(
                token="",
                agent=job.requested_by,
                action="consolidation_end",
                space=job.space_id.value,
                target=job.job_id,
                outcome=job.state.value,
            )
        return job

    def _running(self) -> set[str]:
        return {t.get_name() for t in self._tasks if not t.done()}

    def _start(self, job: JobRecord) -> None:
        lane = self._lanes.setdefault(job.space_id, asyncio.Lock())

        async def run() -> None:
            try:
                # the job beats while it waits in its space's lane (its jobs run one
                # after the other in this process) and while it runs
                async with beating(self._jobs, self._clock, job) as heart, lane:
                    await self.run_now(heart.job, heart)
            except Exception:
                log.exception("job_record_failed", job_id=job.job_id)

        task = asyncio.create_task(run(), name=job.job_id)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for every job started by this instance (tests, graceful shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
