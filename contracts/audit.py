"""The contract of every :class:`application.audit.AuditLog`, run on every store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from application.audit import AuditLog, AuditRecord
from contracts.backend import Backend, WithBackend
from infrastructure.repositories.audit import StoreAuditLog

__all__ = ["AuditLogContract"]

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _record(at: datetime, space: str = "alpha", action: str = "space_update", **more: object) -> AuditRecord:
    return AuditRecord(at, "0" * 16, "alice", action, space, "", "ok", "req", str(more.get("detail", "")))


class AuditLogContract(WithBackend):
    """Behaviour of every ``AuditLog``: append-only, newest first, a time range and a
    space filter, pruning by day."""

    @pytest.fixture
    def audit(self, backend: Backend) -> AuditLog:
        return StoreAuditLog(backend.store)

    async def test_records_come_back_newest_first_with_every_field(self, audit: AuditLog) -> None:
        written = [_record(T0 + timedelta(hours=h), detail=f"n={h}") for h in range(5)]
        for record in written:
            await audit.append(record)
        read = await audit.read("", T0 - timedelta(days=1), T0 + timedelta(days=1), 10)
        assert read == written[::-1]

    async def test_a_read_keeps_to_its_range_space_and_limit(self, audit: AuditLog) -> None:
        for day in range(4):
            await audit.append(_record(T0 + timedelta(days=day), "alpha"))
            await audit.append(_record(T0 + timedelta(days=day, minutes=1), "beta"))
            await audit.append(_record(T0 + timedelta(days=day, minutes=2), ""))
        ranged = await audit.read("alpha", T0 + timedelta(days=1), T0 + timedelta(days=2, hours=1), 10)
        assert [r.at for r in ranged] == [T0 + timedelta(days=2), T0 + timedelta(days=1)]
        assert {r.space for r in ranged} == {"alpha"}
        limited = await audit.read("", T0, T0 + timedelta(days=5), 4)
        assert len(limited) == 4
        assert limited[0].at == T0 + timedelta(days=3, minutes=2)

    async def test_pruning_deletes_whole_days_before_the_cut_only(self, audit: AuditLog) -> None:
        for day in range(5):
            await audit.append(_record(T0 + timedelta(days=day)))
            await audit.append(_record(T0 + timedelta(days=day, hours=1)))
        assert await audit.prune(T0 + timedelta(days=2, hours=5)) == 4
        left = await audit.read("", T0 - timedelta(days=1), T0 + timedelta(days=6), 100)
        assert sorted({r.at.date() for r in left}) == [(T0 + timedelta(days=d)).date() for d in (2, 3, 4)]
        assert await audit.prune(T0) == 0
