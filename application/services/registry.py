"""The set of services one server instance runs with (built by the composition root)."""

from __future__ import annotations

import contextlib

import attrs

from application.audit import AuditService
from application.changefeed import ChangeFeed
from application.consolidation.jobs import ConsolidationJobs
from application.consolidation.supervision import Supervision
from application.services.auth import AuthService
from application.services.backups import BackupService
from application.services.bank import BankService
from application.services.bankedit import BankEditService
from application.services.context import TaskContextService
from application.services.downloads import Downloads
from application.services.imports import ImportService
from application.services.notes import NoteService
from application.services.search import SearchService
from application.services.spaces import SpaceService
from application.services.system import SystemService
from application.store import ObjectStore, StoreError
from application.watch import ChangeWatcher
from application.work.presence import PresenceService
from application.work.service import WorkService

__all__ = ["Services"]


@attrs.frozen
class Services:
    """Every use-case service, sharing one object store."""

    store: ObjectStore
    auth: AuthService
    spaces: SpaceService
    notes: NoteService
    bank: BankService
    backups: BackupService
    system: SystemService
    jobs: ConsolidationJobs
    imports: ImportService
    search: SearchService
    audit: AuditService
    feed: ChangeFeed
    bank_edit: BankEditService
    supervision: Supervision
    downloads: Downloads
    work: WorkService
    presence: PresenceService
    context: TaskContextService
    watch: ChangeWatcher

    async def close(self) -> None:
        """Release what the services hold: archives waiting for download, counted
        audit refusals (written now), the store."""
        await self.watch.close()
        await self.downloads.close()
        with contextlib.suppress(StoreError):
            await self.audit.close()
        await self.store.close()
