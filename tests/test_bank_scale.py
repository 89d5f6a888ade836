"""The scale run (``ops.scale``): the dataset imported ten times a year apart (6,000
notes), consolidated after each import. The hot bank stays flat within its budget and
every note is accounted for; the table with the append-only figure is ``make bench``'s."""

from __future__ import annotations

from infrastructure.stores import MemoryObjectStore
from ops.scale import scale_run


async def test_six_thousand_notes_keep_the_hot_bank_flat_and_lose_nothing() -> None:
    result = await scale_run(MemoryObjectStore(), rounds=10, baseline=False)
    assert [r.notes for r in result.rounds] == [600 * (i + 1) for i in range(10)]
    assert all(result.checks.values()), result.checks
    tokens = [r.hot_tokens for r in result.rounds]
    assert max(tokens) <= 8000
    assert max(tokens) - min(tokens) < 1000  # flat, not growing with the notes
