"""The bank budget through the use cases: no size can wedge a space, compaction applies a
new budget through a journal, rules are validated at creation, and imports keep their
timestamps and are idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from application.consolidation import ConsolidationReport
from application.services import Services
from domain import InvalidInput, SpaceId
from domain.consolidation import JournalState, estimate_tokens
from infrastructure.repositories import StoreBankRepository
from infrastructure.repositories.consolidation import StoreJournalRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import KEY, RULES, FakeClock, seed, services_over

SPACE = SpaceId("proj")


async def _hot_tokens(services: Services) -> int:
    admin = await services.auth.authenticate(KEY)
    return sum(estimate_tokens(f.content) for f in await services.bank.read_all(admin, SPACE.value))


async def _consolidate(services: Services) -> ConsolidationReport:
    admin = await services.auth.authenticate(KEY)
    job = await services.jobs.submit(admin, SPACE.value)
    await services.jobs.drain()
    done = await services.jobs.status(admin, job.job_id)
    assert done.state.value == "succeeded", done.error
    assert done.report is not None
    return done.report


async def test_eight_notes_of_32_kib_from_one_token_no_longer_wedge_the_space() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)
    flooder = await services.auth.authenticate(
        (await services.auth.create(admin, "flood", "write", ["proj"])).secret
    )
    for i in range(8):
        await services.notes.write(flooder, "proj", "decision", f"{i} " + "y" * (32 * 1024 - 4))
    report = await _consolidate(services)
    assert report.notes_consumed == 18
    assert (await services.notes.read(admin, "proj")).total_matching == 0
    assert await _hot_tokens(services) <= 8000
    archive = await StoreBankRepository(services.store).get_archive(SPACE)
    assert sum(f.content.count("y" * 1000) for f in archive) >= 8 * 32  # every big note kept whole
    writer = await services.auth.authenticate(
        (await services.auth.create(admin, "later", "write", ["proj"])).secret
    )
    await services.notes.write(writer, "proj", "progress", "The space keeps consolidating.")
    assert (await _consolidate(services)).notes_consumed == 1


async def test_compaction_applies_a_smaller_budget_through_a_journal_and_is_idempotent() -> None:
    clock = FakeClock()
    store = MemoryObjectStore()
    services = services_over(store, clock)
    admin = await seed(services, clock)
    writer = await services.auth.authenticate(
        (await services.auth.create(admin, "w", "write", ["proj"])).secret
    )
    for i in range(120):
        await services.notes.write(
            writer, "proj", "decision", f"Decision {i}: adopt option {i} for component {i}"
        )
        clock.advance(3600)
    await _consolidate(services)
    assert await _hot_tokens(services) > 1500
    smaller = services_over(store, clock, bank_budget_tokens=1500)
    report = await smaller.jobs.compact(admin, "proj")
    assert report.batches == 1
    assert report.notes_consumed == 0
    assert await _hot_tokens(smaller) <= 1500
    [compaction] = [
        j for j in await StoreJournalRepository(store).list(SPACE) if j.job_id.startswith("compact-")
    ]
    assert compaction.state is JournalState.COMMITTED
    assert compaction.consumed == ()
    assert (await smaller.jobs.compact(admin, "proj")).batches == 0


async def test_space_create_refuses_rules_whose_tables_name_an_undeclared_file_and_writes_nothing() -> None:
    services = services_over(MemoryObjectStore(), FakeClock())
    admin = await services.auth.authenticate(KEY)
    before = dict(services.store._objects)  # type: ignore[attr-defined]
    rules = RULES + "\n## Budgets\n\n| file | tokens |\n|---|---|\n| techContext.md | 900 |\n"
    with pytest.raises(InvalidInput, match=r"techContext\.md"):
        await services.spaces.create(admin, "proj", "", rules)
    assert services.store._objects == before  # type: ignore[attr-defined]


def _jsonl(rows: list[dict[str, object]]) -> str:
    return "\n".join(json.dumps(r) for r in rows)


ROWS: list[dict[str, object]] = [
    {
        "timestamp": "2025-05-13T04:58:24-04:00",
        "agent": "mo",
        "category": "progress",
        "content": "Add groups (#639)",
    },
    {
        "timestamp": "2025-05-14T01:27:10+08:00",
        "agent": "",
        "category": "issue",
        "content": "Fix hang (#559)",
    },
    {
        "timestamp": "2025-06-01T10:00:00",
        "agent": "ann",
        "category": "decision",
        "content": "Use uv",
        "tags": ["ci"],
    },
]


async def test_an_import_keeps_timestamps_and_authors_and_a_second_one_adds_nothing() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", RULES)
    first = await services.imports.import_notes(admin, "proj", _jsonl(ROWS))
    assert (first.imported, first.skipped) == (3, 0)
    page = await services.notes.read(admin, "proj")
    by_agent = {n.agent.value: n for n in page.notes}
    assert set(by_agent) == {"mo", "anonymous", "ann"}
    assert by_agent["mo"].created_at == datetime(2025, 5, 13, 8, 58, 24, tzinfo=UTC)
    assert by_agent["ann"].created_at == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)  # no zone: UTC
    assert by_agent["ann"].tags == ("ci",)
    again = await services.imports.import_notes(admin, "proj", _jsonl(ROWS))
    assert (again.imported, again.skipped) == (0, 3)
    await _consolidate(services)
    after = await services.imports.import_notes(admin, "proj", _jsonl(ROWS))  # consumed notes count too
    assert (after.imported, after.skipped) == (0, 3)
    assert (await services.notes.read(admin, "proj")).total_matching == 0


async def test_an_import_with_a_bad_line_writes_nothing_and_a_writer_may_not_import() -> None:
    services = services_over(MemoryObjectStore(), FakeClock())
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", RULES)
    bad = _jsonl(
        [*ROWS, {"timestamp": "2025-01-01T00:00:00Z", "agent": "x", "category": "gossip", "content": "c"}]
    )
    with pytest.raises(InvalidInput, match="line 4: invalid note category"):
        await services.imports.import_notes(admin, "proj", bad)
    assert (await services.notes.read(admin, "proj")).total_matching == 0
    manager = await services.auth.authenticate(
        (await services.auth.create(admin, "m", "manage", ["proj"])).secret
    )
    from domain import PermissionDenied

    with pytest.raises(PermissionDenied):
        await services.imports.import_notes(manager, "proj", _jsonl(ROWS))
