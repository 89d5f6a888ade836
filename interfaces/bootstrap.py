"""The composition root: the one module that reads settings and builds adapters and
services. Nothing is built at import time; callers build inside their own event loop
and close the store when done."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from application.audit import AuditService
from application.changefeed import ChangeFeed
from application.consolidation import (
    AbstractivePlanner,
    ConsolidationJobs,
    ConsolidationService,
    ExtractivePlanner,
    Planner,
)
from application.consolidation.lock import SpaceLock
from application.consolidation.supervision import Supervision
from application.notefeed import ListedNoteRepository
from application.ports import Clock
from application.search_ports import Embedder
from application.services import (
    AuthService,
    BackupService,
    BankService,
    Downloads,
    ImportService,
    NoteService,
    SearchService,
    Services,
    SpaceService,
    SystemService,
)
from application.services.bankedit import BankEditService
from application.services.context import TaskContextService
from application.services.search import Semantic
from application.store import ObjectStore
from application.watch import ChangeWatcher
from application.work.presence import PresenceService
from application.work.service import WorkService
from domain import utc_stamp
from infrastructure.logging import configure_logging
from infrastructure.probe import ListingProbe
from infrastructure.repositories import (
    StoreBackupRepository,
    StoreBankRepository,
    StoreNoteRepository,
    StoreSpaceRepository,
    StoreTokenRepository,
)
from infrastructure.repositories.audit import StoreAuditLog
from infrastructure.repositories.consolidation import (
    StoreJobRepository,
    StoreJournalRepository,
    StoreLeaseRepository,
)
from infrastructure.repositories.work import (
    StoreClaimRepository,
    StoreItemRepository,
    StorePresenceRepository,
)
from infrastructure.retry import StaminaRetrier
from infrastructure.search_sqlite import SqliteSearchIndex
from infrastructure.settings import Settings, SettingsError, environment, load_settings, unknown_variables
from infrastructure.spool import FileArchiveSpool, sweep_orphans
from infrastructure.stores import FileSystemObjectStore, MemoryObjectStore
from infrastructure.system import RandomIds, SystemClock
from infrastructure.topics import TfidfTopics

if TYPE_CHECKING:
    from infrastructure.llm import OpenAICompatibleModel

__all__ = [
    "Settings",
    "SettingsError",
    "build_services",
    "configure_logging",
    "describe_store",
    "environment",
    "load_settings",
    "setting_warnings",
    "memory_services",
    "services_from_settings",
    "open_store",
    "package_version",
]


def package_version() -> str:
    """The installed distribution's version."""
    try:
        return version("live-mem")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


async def open_store(settings: Settings) -> ObjectStore:
    """The object store the settings name: S3 when ``S3_*`` is set, else the local
    directory. Raises ``StoreUnavailable`` when the directory cannot be created."""
    if settings.s3 is not None:
        from infrastructure.stores.s3 import S3ObjectStore  # noqa: PLC0415 - aiobotocore only for S3

        return await S3ObjectStore.open(settings.s3)
    return FileSystemObjectStore(settings.data_dir)


def describe_store(settings: Settings) -> str:
    """A one-line, secret-free description of the configured store."""
    if settings.s3 is not None:
        where = settings.s3.endpoint_url or "AWS"
        return f"S3 bucket {settings.s3.bucket} at {where} ({settings.s3.signature_mode} signing)"
    return f"local directory {settings.data_dir.resolve()}"


def _llm_status(settings: Settings) -> str:
    if settings.llm_configured:
        return f"abstractive ({settings.llm_model})"
    return "extractive (no model)"


def model_from_settings(settings: Settings) -> OpenAICompatibleModel | None:
    """The configured OpenAI-compatible model, or None (extractive mode)."""
    if not settings.llm_configured:
        return None
    from infrastructure.llm import OpenAICompatibleModel  # noqa: PLC0415 - openai only for a model

    return OpenAICompatibleModel(
        base_url=settings.llm_api_url or "",
        api_key=settings.llm_api_key or "",
        model=settings.llm_model or "",
        max_tokens=settings.llm_max_tokens,
        temperature=settings.llm_temperature,
        context_tokens=settings.llm_context_tokens,
        timeout=float(settings.consolidation_timeout),
    )


def build_services(
    store: ObjectStore,
    *,
    bootstrap_key: str | None,
    store_kind: str,
    settings: Settings | None = None,
    llm_status: str = "extractive (no model)",
    planner: Planner | None = None,
    llm_probe: Callable[[], Awaitable[str]] | None = None,
    clock: Clock | None = None,
    semantic: Semantic | None = None,
) -> Services:
    """Wire every service over one store (extractive consolidation unless a planner is
    given; the system clock unless a clock is given), tuned by ``settings`` (limits,
    retentions, timeouts, intervals): the one home of their defaults is
    :class:`infrastructure.settings.Settings`, so tests run on production's defaults
    unless they say otherwise.

    Raises:
        InvalidInput: a short or placeholder bootstrap key.
    """
    tuning = settings or Settings()
    clock = clock or SystemClock()
    ids = RandomIds()
    journals, leases = StoreJournalRepository(store), StoreLeaseRepository(store)
    spaces = StoreSpaceRepository(store)
    tokens = StoreTokenRepository(store)
    notes = ListedNoteRepository(
        StoreNoteRepository(store), journals, relist_seconds=float(tuning.note_relist_seconds)
    )
    bank, backups = StoreBankRepository(store), StoreBackupRepository(store)
    lock = SpaceLock(leases, clock, float(tuning.consolidation_timeout), StaminaRetrier())
    presence = StorePresenceRepository(store)
    work = WorkService(
        spaces=spaces,
        notes=notes,
        items=StoreItemRepository(store),
        claims=StoreClaimRepository(store),
        presence=presence,
        clock=clock,
        ids=ids,
    )
    audit = AuditService(StoreAuditLog(store), clock, retention_days=tuning.audit_retention_days)
    consolidation = ConsolidationService(
        spaces=spaces,
        notes=notes,
        bank=bank,
        journals=journals,
        leases=leases,
        planner=planner or ExtractivePlanner(TfidfTopics()),
        clock=clock,
        lease_seconds=float(tuning.consolidation_timeout),
        max_notes=tuning.consolidation_max_notes,
        bank_budget_tokens=tuning.bank_budget_tokens,
        journal_retention_days=tuning.journal_retention_days,
        work=work,
    )
    downloads = Downloads(
        FileArchiveSpool(),
        clock,
        ids,
        max_building=tuning.export_max_concurrent,
        max_pending=tuning.export_max_pending,
        link_seconds=float(tuning.export_link_seconds),
        max_bytes=tuning.export_spool_max_bytes,
    )
    job_records = StoreJobRepository(store)
    jobs = ConsolidationJobs(
        consolidation,
        jobs=job_records,
        journals=journals,
        clock=clock,
        ids=ids,
        retention=timedelta(days=tuning.job_retention_days),
        audit=audit,
    )
    auth = AuthService(tokens, clock, ids, bootstrap_key)
    search = SearchService(spaces, notes, bank, SqliteSearchIndex(), semantic)
    return Services(
        store=store,
        auth=auth,
        spaces=SpaceService(
            spaces,
            notes,
            bank,
            backups,
            clock,
            lock=lock,
            ids=ids,
            downloads=downloads,
            archive_max_bytes=tuning.export_max_bytes,
            grant=auth.add_space,
        ),
        notes=NoteService(spaces, notes, clock, ids, work, written=search.note_written),
        work=work,
        presence=PresenceService(spaces=spaces, notes=notes, presence=presence, work=work, clock=clock),
        context=TaskContextService(spaces=spaces, bank=bank, work=work, search=search),
        watch=ChangeWatcher(notes, ListingProbe(store), interval=tuning.feed_poll_seconds),
        bank=BankService(spaces, bank),
        backups=BackupService(
            spaces,
            backups,
            lock=lock,
            clock=clock,
            ids=ids,
            retention=tuning.backup_retention,
            downloads=downloads,
            archive_max_bytes=tuning.export_max_bytes,
            notes=notes,
            roll_forward=consolidation.roll_forward,
        ),
        system=SystemService(
            store,
            store_kind,
            llm_status,
            package_version(),
            llm_probe,
            health_timeout=tuning.health_timeout,
            tokens_probe=tokens.all,
        ),
        jobs=jobs,
        imports=ImportService(spaces, notes, bank, clock, written=search.note_written),
        search=search,
        audit=audit,
        feed=ChangeFeed(spaces, notes, interval=tuning.feed_poll_seconds),
        bank_edit=BankEditService(spaces, bank, consolidation, ids),
        supervision=Supervision(spaces, notes, job_records, jobs, clock, leases=leases, journals=journals),
        downloads=downloads,
    )


async def migrate_public_bucket(settings: Settings, *, apply_changes: bool) -> dict[str, Any]:
    """Plan, and with ``apply_changes`` carry out, the conversion of a bucket written by
    the public live-memory server (see :mod:`infrastructure.migration`). Returns the plan's
    summary with ``applied`` and ``nothing_to_do``."""
    from infrastructure import migration  # noqa: PLC0415 - only the migrate command needs it

    store = await open_store(settings)
    try:
        found = await migration.plan(store)
        if apply_changes and not found.empty:
            stamp = utc_stamp(SystemClock().now())
            found = await migration.apply(store, found, stamp)
        return {**found.summary(), "applied": apply_changes and not found.empty, "nothing_to_do": found.empty}
    finally:
        await store.close()


def setting_warnings(env: Mapping[str, str]) -> list[str]:
    """One line for each variable of ``env`` (:func:`environment`) that looks like a
    live-mem setting but is none (misspelt, or another server's name for it)."""
    lines = []
    for name in unknown_variables(env):
        hint = "live-mem reads MCP_SERVER_PORT" if name in {"PORT", "LIVE_MEM_PORT"} else "misspelt?"
        lines.append(f"warning: {name} is set but is not a live-mem setting ({hint}; see ops/.env.example)")
    return lines


def sweep_archive_orphans() -> int:
    """Remove the download archives that dead servers left in ``TMPDIR`` (at start);
    returns how many spool directories went. See :func:`infrastructure.spool.sweep_orphans`."""
    return sweep_orphans()


async def services_from_settings(settings: Settings) -> Services:
    """Open the configured store and build the services over it."""
    store = await open_store(settings)
    model = model_from_settings(settings)
    return build_services(
        store,
        bootstrap_key=settings.admin_bootstrap_key,
        store_kind=describe_store(settings),
        settings=settings,
        llm_status=_llm_status(settings),
        planner=AbstractivePlanner(model) if model is not None else ExtractivePlanner(TfidfTopics()),
        llm_probe=model.ping if model is not None else None,
        semantic=semantic_from_settings(settings, store),
    )


def semantic_from_settings(settings: Settings, store: ObjectStore) -> Semantic | None:
    """Hybrid search by :attr:`Settings.embeddings_mode`: the local model (``local``), an
    OpenAI-compatible endpoint (``api``), or None (``off``).

    Raises:
        SettingsError: ``EMBEDDINGS=local`` without the ``embed`` extra installed (the
            message names the install command).
    """
    mode = settings.embeddings_mode
    if mode == "off":
        return None
    from infrastructure.vectors import (  # noqa: PLC0415 - NumPy and openai only for hybrid search
        NumpyVectorIndex,
        OpenAICompatibleEmbedder,
        StoreVectorRepository,
    )

    embedder: Embedder
    if mode == "local":
        from infrastructure.embed_local import LocalEmbedder, local_embedder_missing  # noqa: PLC0415

        missing = local_embedder_missing()
        if missing is not None:
            raise SettingsError(missing)
        embedder = LocalEmbedder(threads=settings.embeddings_threads)
    else:
        embedder = OpenAICompatibleEmbedder(
            base_url=settings.embeddings_api_url or "",
            api_key=settings.embeddings_api_key or "",
            model=settings.embeddings_model or "",
        )
    return Semantic(embedder, StoreVectorRepository(store), NumpyVectorIndex())


def memory_services(
    bootstrap_key: str | None = None, *, planner: Planner | None = None, clock: Clock | None = None
) -> Services:
    """Services over a fresh in-memory store (tests, demos)."""
    return build_services(
        MemoryObjectStore(), bootstrap_key=bootstrap_key, store_kind="memory", planner=planner, clock=clock
    )
