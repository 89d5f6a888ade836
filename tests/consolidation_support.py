"""Helpers for consolidation tests: a controllable clock, a store that fails on demand,
and a space seeded with notes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import attrs

from application.consolidation import ExtractivePlanner
from application.services import Services
from application.store import ObjectInfo, ObjectStore, StoredObject, StoreUnavailable
from domain import Identity, SpaceRules
from domain.consolidation import Budget
from infrastructure.settings import Settings
from interfaces.bootstrap import build_services

KEY = "Rt5yU8iO2pA4sD6fG1hJ3kL9zX7cV0bNmQ"
RULES = (
    "# Rules\n\n## decisions.md\nOne entry per decision: date, what, why, who.\n\n"
    "## progress.md\nWhat works, what was fixed; a dated log grouped by week. Known issues at the end.\n\n"
    "## activeContext.md\nWhat is worked on now: open questions, next steps.\n"
)


class FakeClock:
    """A clock that only moves when told."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now_value = start

    def now(self) -> datetime:
        return self.now_value

    def advance(self, seconds: float) -> None:
        self.now_value += timedelta(seconds=seconds)


class SmallBatches(ExtractivePlanner):
    """Extractive planning with tiny batches, so a run has several journals."""

    def budget(self, rules: SpaceRules, synthesis: str) -> Budget:
        return attrs.evolve(super().budget(rules, synthesis), max_notes=4)


class FaultyStore:
    """Wraps a store; the ``fail_at``-th call (1-based) raises ``StoreUnavailable``
    before doing anything. ``calls`` counts every call."""

    def __init__(self, inner: ObjectStore, fail_at: int | None = None) -> None:
        self.inner = inner
        self.fail_at = fail_at
        self.calls = 0

    def _tick(self) -> None:
        self.calls += 1
        if self.fail_at is not None and self.calls == self.fail_at:
            raise StoreUnavailable(f"injected fault at call {self.calls}")

    @property
    def supports_conditional_writes(self) -> bool:
        return self.inner.supports_conditional_writes

    async def get(self, key: str) -> StoredObject:
        self._tick()
        return await self.inner.get(key)

    async def head(self, key: str) -> ObjectInfo:
        self._tick()
        return await self.inner.head(key)

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> str:
        self._tick()
        return await self.inner.put(key, data, content_type=content_type)

    async def put_if_absent(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> str:
        self._tick()
        return await self.inner.put_if_absent(key, data, content_type=content_type)

    async def put_if_match(
        self, key: str, data: bytes, etag: str, *, content_type: str = "application/octet-stream"
    ) -> str:
        self._tick()
        return await self.inner.put_if_match(key, data, etag, content_type=content_type)

    async def delete(self, key: str) -> None:
        self._tick()
        await self.inner.delete(key)

    async def list_pages(
        self, prefix: str = "", *, page_size: int = 1000, start_after: str = ""
    ) -> AsyncIterator[list[ObjectInfo]]:
        self._tick()
        async for page in self.inner.list_pages(prefix, page_size=page_size, start_after=start_after):
            yield page

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


def services_over(
    store: ObjectStore,
    clock: FakeClock,
    planner: ExtractivePlanner | None = None,
    *,
    bank_budget_tokens: int = 8000,
    backup_retention: int = 10,
) -> Services:
    return build_services(
        store,
        bootstrap_key=KEY,
        store_kind="test",
        planner=planner or ExtractivePlanner(),
        clock=clock,
        settings=Settings(backup_retention=backup_retention, bank_budget_tokens=bank_budget_tokens),
    )


NOTES = [
    ("alice", "decision", "Store everything in S3; no database."),
    ("bob", "progress", "The S3 adapter passes its contract suite."),
    ("carol", "issue", "SeaweedFS lists folder by folder, not in byte order."),
    ("bob", "progress", "The S3 adapter passes its contract suite."),
    ("bob", "question", "Should backups take the consolidation lease?"),
    ("carol", "progress", "Hybrid signing works against SeaweedFS."),
    ("alice", "decision", "Tokens are stored as SHA-256 hashes only."),
    ("alice", "todo", "Write the consolidation journal."),
    ("carol", "insight", "Append-only notes need no locks."),
    ("alice", "progress", "MCP tools keep the public contract names."),
]


async def seed(services: Services, clock: FakeClock, space: str = "proj") -> Identity:
    """Create ``space`` with :data:`RULES` and write :data:`NOTES`, one a day."""
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, space, "test project", RULES)
    writers: dict[str, Identity] = {}
    for agent, category, content in NOTES:
        if agent not in writers:
            token = await services.auth.create(admin, agent, "write", [space])
            writers[agent] = await services.auth.authenticate(token.secret)
        await services.notes.write(writers[agent], space, category, content)
        clock.advance(86400)
    return admin
