"""The contract of every :class:`application.consolidation.ports.JournalRepository`, run
on every store: a run id is prepared once, read back whole, listed in time order, pending
until committed or abandoned, and a corrupt journal is skipped, never fatal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from application.consolidation.ports import JournalRepository
from application.store import StoreError
from contracts.backend import Backend, WithBackend
from domain import AgentName, NoteCategory, NotFound, SpaceId
from domain.consolidation import ConsumedNote, Journal, JournalState
from infrastructure.repositories.consolidation import StoreJournalRepository

__all__ = ["JournalRepositoryContract"]

SPACE = SpaceId("alpha")
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _journal(n: int, state: JournalState = JournalState.PREPARED) -> Journal:
    at = T0 + timedelta(minutes=n)
    return Journal(
        run_id=f"{at.strftime('%Y%m%dT%H%M%S%fZ')}-{n:012x}-000",
        space_id=SPACE,
        job_id=f"{n:016x}",
        state=state,
        mode="extractive",
        files={"progress.md": f"# Progress\n\n- entry {n}\n"},
        synthesis=f"after batch {n}",
        consumed=(
            ConsumedNote(
                f"alpha/live/{n}.md", f"{n:016x}", AgentName("alice"), NoteCategory.PROGRESS, at, "x"
            ),
        ),
        tokens_in=n,
        tokens_out=0,
        started_at=at,
        duration_s=0.5,
    )


class JournalRepositoryContract(WithBackend):
    """Behaviour of every ``JournalRepository``."""

    @pytest.fixture
    def journals(self, backend: Backend) -> JournalRepository:
        return StoreJournalRepository(backend.store)

    async def test_a_prepared_journal_reads_back_whole_and_is_pending(
        self, journals: JournalRepository
    ) -> None:
        await journals.prepare(_journal(1))
        assert await journals.get(SPACE, _journal(1).run_id) == _journal(1)
        assert await journals.pending(SPACE) == [_journal(1)]

    async def test_a_run_id_is_prepared_once(self, journals: JournalRepository) -> None:
        await journals.prepare(_journal(1))
        with pytest.raises(StoreError):
            await journals.prepare(attrs.evolve(_journal(1), synthesis="another"))
        assert (await journals.get(SPACE, _journal(1).run_id)).synthesis == "after batch 1"

    async def test_committed_and_abandoned_journals_are_no_longer_pending(
        self, journals: JournalRepository
    ) -> None:
        for n in (1, 2, 3):
            await journals.prepare(_journal(n))
        await journals.mark_committed(attrs.evolve(_journal(1), state=JournalState.COMMITTED))
        await journals.mark_abandoned(_journal(2))
        assert [j.run_id for j in await journals.pending(SPACE)] == [_journal(3).run_id]
        assert (await journals.get(SPACE, _journal(2).run_id)).state is JournalState.ABANDONED
        assert (await journals.get(SPACE, _journal(1).run_id)).state is JournalState.COMMITTED

    async def test_run_ids_and_the_list_come_in_time_order(self, journals: JournalRepository) -> None:
        for n in (3, 1, 2):
            await journals.prepare(_journal(n))
        ids = [_journal(n).run_id for n in (1, 2, 3)]
        assert await journals.run_ids(SPACE) == ids
        assert await journals.run_ids(SPACE, after=ids[0]) == ids[1:]
        assert [j.run_id for j in await journals.list(SPACE)] == ids
        assert await journals.run_ids(SpaceId("beta")) == []

    async def test_delete_is_idempotent_and_a_missing_journal_is_not_found(
        self, journals: JournalRepository
    ) -> None:
        await journals.prepare(_journal(1))
        await journals.delete(SPACE, _journal(1).run_id)
        await journals.delete(SPACE, _journal(1).run_id)
        with pytest.raises(NotFound):
            await journals.get(SPACE, _journal(1).run_id)

    async def test_a_corrupt_journal_is_skipped_by_the_list(
        self, backend: Backend, journals: JournalRepository
    ) -> None:
        await journals.prepare(_journal(1))
        await journals.prepare(_journal(2))
        backend.raw_put(f"alpha/_consolidations/{_journal(1).run_id}.json", b"{not json")
        assert [j.run_id for j in await journals.list(SPACE)] == [_journal(2).run_id]
