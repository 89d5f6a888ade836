"""Contracts of the repository ports (:mod:`application.ports`), run on every store.

The adapters under test are the ``Store*Repository`` classes over the backend's
``ObjectStore``; a repository that passes can replace another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from application.consolidation.ports import JobRecord, JobRepository, JobState, LeaseRepository
from application.ports import BankRepository, NoteRepository, SpaceRepository, TokenRepository
from contracts.backend import Backend, WithBackend
from domain import (
    AgentName,
    AlreadyExists,
    BankFile,
    BankFileName,
    Conflict,
    InvalidInput,
    Note,
    NoteCategory,
    NotFound,
    Permission,
    SpaceId,
    SpaceMeta,
    SpaceRules,
    Synthesis,
    TokenRecord,
)
from infrastructure.repositories import (
    StoreBankRepository,
    StoreNoteRepository,
    StoreSpaceRepository,
    StoreTokenRepository,
)
from infrastructure.repositories.consolidation import StoreJobRepository, StoreLeaseRepository

__all__ = [
    "SpaceRepositoryContract",
    "NoteRepositoryContract",
    "BankRepositoryContract",
    "TokenRepositoryContract",
    "JobRepositoryContract",
]

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
SPACE = SpaceId("proj-1")


def meta(space: SpaceId = SPACE) -> SpaceMeta:
    return SpaceMeta(space_id=space, description="a test space", owner=AgentName("alice"), created_at=T0)


def note(index: int, agent: str = "alice", category: str = "decision", space: SpaceId = SPACE) -> Note:
    return Note(
        space_id=space,
        note_id=f"{index:016x}",
        agent=AgentName(agent),
        category=NoteCategory(category),
        content=f"note number {index}\nwith a second line",
        created_at=T0 + timedelta(seconds=index),
        tags=("t1",),
    )


def token(index: int) -> TokenRecord:
    return TokenRecord(
        token_id=f"{index:016x}",
        name=AgentName(f"agent-{index}"),
        token_hash=f"{index:064x}",
        permission=Permission.WRITE,
        spaces=("proj-1",),
        created_at=T0,
    )


class SpaceRepositoryContract(WithBackend):
    """Behaviour of every ``SpaceRepository``."""

    @pytest.fixture
    def spaces(self, backend: Backend) -> SpaceRepository:
        return StoreSpaceRepository(backend.store)

    async def test_create_then_read_meta_rules_and_empty_synthesis(self, spaces: SpaceRepository) -> None:
        rules = SpaceRules.default()
        await spaces.create(meta(), rules)
        assert await spaces.get(SPACE) == meta()
        assert await spaces.rules(SPACE) == rules
        assert await spaces.synthesis(SPACE) == Synthesis("")
        assert await spaces.list_ids() == [SPACE]

    async def test_create_twice_raises_already_exists_and_keeps_the_first(
        self, spaces: SpaceRepository
    ) -> None:
        await spaces.create(meta(), SpaceRules.default())
        other = attrs.evolve(meta(), description="second")
        with pytest.raises(AlreadyExists):
            await spaces.create(other, SpaceRules("## other.md\nx"))
        assert (await spaces.get(SPACE)).description == "a test space"

    async def test_concurrent_creates_have_one_winner(self, spaces: SpaceRepository) -> None:
        results = await asyncio.gather(
            *(
                spaces.create(attrs.evolve(meta(), description=str(i)), SpaceRules.default())
                for i in range(10)
            ),
            return_exceptions=True,
        )
        assert sum(r is None for r in results) == 1
        assert all(isinstance(r, AlreadyExists) for r in results if r is not None)

    async def test_missing_space_raises_not_found(self, spaces: SpaceRepository) -> None:
        with pytest.raises(NotFound):
            await spaces.get(SpaceId("nope"))
        with pytest.raises(NotFound):
            await spaces.rules(SpaceId("nope"))
        with pytest.raises(NotFound):
            await spaces.delete(SpaceId("nope"))
        with pytest.raises(NotFound):
            await spaces.update(SpaceId("nope"), lambda m: m)

    async def test_update_applies_change(self, spaces: SpaceRepository) -> None:
        await spaces.create(meta(), SpaceRules.default())
        updated = await spaces.update(SPACE, lambda m: attrs.evolve(m, description="new"))
        assert updated.description == "new"
        assert (await spaces.get(SPACE)).description == "new"

    async def test_concurrent_updates_lose_nothing(self, spaces: SpaceRepository) -> None:
        await spaces.create(meta(), SpaceRules.default())
        await asyncio.gather(
            *(
                spaces.update(SPACE, lambda m: attrs.evolve(m, consolidations=m.consolidations + 1))
                for _ in range(15)
            )
        )
        assert (await spaces.get(SPACE)).consolidations == 15

    async def test_update_cannot_change_the_id(self, spaces: SpaceRepository) -> None:
        await spaces.create(meta(), SpaceRules.default())
        with pytest.raises(InvalidInput):
            await spaces.update(SPACE, lambda m: attrs.evolve(m, space_id=SpaceId("other")))

    async def test_synthesis_round_trips(self, spaces: SpaceRepository) -> None:
        await spaces.create(meta(), SpaceRules.default())
        await spaces.put_synthesis(SPACE, Synthesis("carried forward\n"))
        assert await spaces.synthesis(SPACE) == Synthesis("carried forward\n")

    async def test_delete_removes_every_object_of_the_space_only(self, backend: Backend) -> None:
        spaces = StoreSpaceRepository(backend.store)
        notes = StoreNoteRepository(backend.store)
        other = SpaceId("proj-10")
        await spaces.create(meta(), SpaceRules.default())
        await spaces.create(meta(other), SpaceRules.default())
        await notes.add(note(1))
        await notes.add(note(2, space=other))
        removed = await spaces.delete(SPACE)
        assert removed == 3  # _meta.json, _rules.md and the one note; proj-10 is untouched
        assert await spaces.list_ids() == [other]
        assert [r.note_id for r in await notes.refs(other)] == [f"{2:016x}"]
        with pytest.raises(NotFound):
            await spaces.get(SPACE)


class NoteRepositoryContract(WithBackend):
    """Behaviour of every ``NoteRepository``."""

    @pytest.fixture
    def notes(self, backend: Backend) -> NoteRepository:
        return StoreNoteRepository(backend.store)

    async def test_add_then_read_back_exactly(self, notes: NoteRepository) -> None:
        written = note(1, agent="bob.smith_2", category="todo")
        ref = await notes.add(written)
        assert (ref.agent, ref.category, ref.note_id) == (written.agent, written.category, written.note_id)
        assert await notes.get(ref) == written

    async def test_refs_are_oldest_first_and_per_space(self, notes: NoteRepository) -> None:
        for index in (3, 1, 2):
            await notes.add(note(index))
        await notes.add(note(9, space=SpaceId("elsewhere")))
        refs = await notes.refs(SPACE)
        assert [r.note_id for r in refs] == [f"{i:016x}" for i in (1, 2, 3)]
        assert [n.content for n in await notes.get_many(refs)] == [note(i).content for i in (1, 2, 3)]

    async def test_a_note_is_never_overwritten(self, notes: NoteRepository) -> None:
        await notes.add(note(1))
        with pytest.raises(AlreadyExists):
            await notes.add(attrs.evolve(note(1), content="changed"))
        [ref] = await notes.refs(SPACE)
        assert (await notes.get(ref)).content == note(1).content

    async def test_delete_and_get_many_skip_consumed_notes(self, notes: NoteRepository) -> None:
        refs = [await notes.add(note(i)) for i in range(4)]
        await notes.delete(refs[1])
        await notes.delete(refs[1])
        assert [n.note_id for n in await notes.get_many(refs)] == [refs[i].note_id for i in (0, 2, 3)]
        with pytest.raises(NotFound):
            await notes.get(refs[1])

    async def test_concurrent_writers_lose_no_note(self, notes: NoteRepository) -> None:
        await asyncio.gather(*(notes.add(note(i, agent=f"agent-{i % 7}")) for i in range(60)))
        assert len(await notes.refs(SPACE)) == 60


class BankRepositoryContract(WithBackend):
    """Behaviour of every ``BankRepository``."""

    @pytest.fixture
    def bank(self, backend: Backend) -> BankRepository:
        return StoreBankRepository(backend.store)

    async def test_put_get_list_delete(self, bank: BankRepository) -> None:
        files = [
            BankFile(BankFileName("progress.md"), "# Progress\n\n- done\n"),
            BankFile(BankFileName("notes/api.md"), "# API é\n"),
        ]
        for file in files:
            await bank.put(SPACE, file)
        assert await bank.get(SPACE, BankFileName("notes/api.md")) == files[1]
        assert await bank.get_all(SPACE) == sorted(files, key=lambda f: f.name.value)
        listing = await bank.list(SPACE)
        assert [(i.name.value, i.size) for i in listing] == [("notes/api.md", 9), ("progress.md", 19)]
        await bank.delete(SPACE, BankFileName("progress.md"))
        with pytest.raises(NotFound):
            await bank.get(SPACE, BankFileName("progress.md"))
        assert [i.name.value for i in await bank.list(SPACE)] == ["notes/api.md"]

    async def test_bank_of_another_space_is_separate(self, bank: BankRepository) -> None:
        await bank.put(SPACE, BankFile(BankFileName("a.md"), "x"))
        assert await bank.list(SpaceId("proj-2")) == []

    async def test_the_archive_is_listed_and_read_apart_from_the_hot_bank(self, bank: BankRepository) -> None:
        hot = BankFile(BankFileName("decisions.md"), "# decisions\n")
        archived = [
            BankFile(BankFileName("archive/decisions/2025.md"), "# Archive 2025\n"),
            BankFile(BankFileName("archive/decisions/2026.md"), "# Archive 2026\n"),
        ]
        for file in [hot, *archived]:
            await bank.put(SPACE, file)
        assert await bank.get_all(SPACE) == [hot]
        assert await bank.get_archive(SPACE) == archived
        listing = await bank.list(SPACE)
        assert [(i.name.value, i.archived) for i in listing] == [
            ("archive/decisions/2025.md", True),
            ("archive/decisions/2026.md", True),
            ("decisions.md", False),
        ]
        assert await bank.get(SPACE, archived[0].name) == archived[0]


class TokenRepositoryContract(WithBackend):
    """Behaviour of every ``TokenRepository``."""

    @pytest.fixture
    def tokens(self, backend: Backend) -> TokenRepository:
        return StoreTokenRepository(backend.store)

    async def test_empty_then_update_then_find(self, tokens: TokenRepository) -> None:
        assert await tokens.all() == []
        await tokens.update(lambda records: [*records, token(1)])
        assert await tokens.all() == [token(1)]
        assert await tokens.find_by_hash(token(1).token_hash) == token(1)
        assert await tokens.find_by_hash("0" * 64) is None

    async def test_concurrent_updates_lose_no_token(self, tokens: TokenRepository) -> None:
        def adder(index: int) -> Callable[[list[TokenRecord]], list[TokenRecord]]:
            return lambda records: [*records, token(index)]

        await asyncio.gather(*(tokens.update(adder(i)) for i in range(20)))
        assert sorted(t.token_id for t in await tokens.all()) == sorted(token(i).token_id for i in range(20))

    async def test_another_replicas_change_counts_at_once(
        self, tokens: TokenRepository, backend: Backend
    ) -> None:
        """A repository may keep what it decoded, but never over the store: a token
        another replica revokes or adds is seen on the next read."""
        await tokens.update(lambda r: [*r, token(1)])
        assert await tokens.find_by_hash(token(1).token_hash) == token(1)  # read (and kept) once
        other = StoreTokenRepository(backend.store)
        await other.update(lambda r: [token(2)])  # token 1 gone, token 2 in
        assert await tokens.find_by_hash(token(1).token_hash) is None
        assert await tokens.find_by_hash(token(2).token_hash) == token(2)
        assert await tokens.all() == [token(2)]

    async def test_a_failing_change_writes_nothing(self, tokens: TokenRepository) -> None:
        await tokens.update(lambda r: [*r, token(1)])

        def boom(records: list[TokenRecord]) -> list[TokenRecord]:
            raise NotFound("no such token")

        with pytest.raises(NotFound):
            await tokens.update(boom)
        with pytest.raises(InvalidInput):
            await tokens.update(lambda r: [*r, token(1)])
        assert await tokens.all() == [token(1)]


def job(index: int, state: JobState = JobState.QUEUED, space: str = "proj-1") -> JobRecord:
    at = T0 + timedelta(minutes=index)
    return JobRecord(
        job_id=f"job{index:04d}",
        space_id=SpaceId(space),
        requested_by="agent-1",
        agent_scope=None,
        state=state,
        created_at=at,
        updated_at=at,
    )


class JobRepositoryContract(WithBackend):
    """Behaviour of every ``JobRepository``."""

    @pytest.fixture
    def jobs(self, backend: Backend) -> JobRepository:
        return StoreJobRepository(backend.store)

    async def test_put_get_all_and_unfinished(self, jobs: JobRepository) -> None:
        assert await jobs.all() == []
        await jobs.put(job(2, JobState.SUCCEEDED, "proj-2"))
        await jobs.put(job(1))
        await jobs.put(job(3, JobState.RUNNING))
        assert await jobs.get("job0001") == job(1)
        assert [j.job_id for j in await jobs.all()] == ["job0001", "job0002", "job0003"]
        assert [j.job_id for j in await jobs.unfinished()] == ["job0001", "job0003"]
        with pytest.raises(NotFound):
            await jobs.get("job9999")

    async def test_recent_and_unfinished_by_space(self, jobs: JobRepository) -> None:
        for n, (state, space) in enumerate(
            [
                (JobState.SUCCEEDED, "proj-1"),
                (JobState.FAILED, "proj-2"),
                (JobState.QUEUED, "proj-1"),
                (JobState.RUNNING, "proj-2"),
                (JobState.SUCCEEDED, "proj-1"),
            ],
            start=1,
        ):
            await jobs.put(job(n, state, space))
        assert [j.job_id for j in await jobs.recent(SpaceId("proj-1"), 2)] == ["job0005", "job0003"]
        assert [j.job_id for j in await jobs.unfinished(SpaceId("proj-2"))] == ["job0004"]
        await jobs.put(attrs.evolve(job(4, JobState.RUNNING, "proj-2"), state=JobState.SUCCEEDED))
        assert await jobs.unfinished(SpaceId("proj-2")) == []
        assert [j.job_id for j in await jobs.unfinished()] == ["job0003"]

    async def test_put_replaces_and_prune_drops_only_old_finished_jobs(self, jobs: JobRepository) -> None:
        await jobs.put(job(1))
        await jobs.put(attrs.evolve(job(1), state=JobState.FAILED, error="model down"))
        await jobs.put(job(5, JobState.SUCCEEDED))
        assert (await jobs.get("job0001")).error == "model down"
        assert await jobs.prune(T0 + timedelta(minutes=3)) == 1
        assert [j.job_id for j in await jobs.all()] == ["job0005"]


class LeaseRepositoryContract(WithBackend):
    """Behaviour of every ``LeaseRepository``: one holder at a time, takeover of an
    expired or corrupt lease, and an admin's break that fences the old holder out."""

    @pytest.fixture
    def leases(self, backend: Backend) -> LeaseRepository:
        return StoreLeaseRepository(backend.store)

    async def test_one_holder_at_a_time_and_an_expired_lease_is_taken_over(
        self, leases: LeaseRepository
    ) -> None:
        until = T0 + timedelta(minutes=10)
        first = await leases.acquire(SPACE, "job-a", until, T0)
        with pytest.raises(Conflict, match="job-a"):
            await leases.acquire(SPACE, "job-b", until, T0)
        assert await leases.current(SPACE) == ("job-a", until)
        later = T0 + timedelta(minutes=11)
        second = await leases.acquire(SPACE, "job-b", later + timedelta(minutes=10), later)
        with pytest.raises(Conflict):
            await leases.renew(first, later + timedelta(minutes=20))
        await leases.release(first)  # no longer ours: left alone
        assert (await leases.current(SPACE) or ("", None))[0] == "job-b"
        await leases.release(second)
        assert await leases.current(SPACE) is None

    async def test_a_broken_lease_fences_its_holder_out(self, leases: LeaseRepository) -> None:
        until = T0 + timedelta(minutes=10)
        assert await leases.break_lease(SPACE) is None
        held = await leases.acquire(SPACE, "job-a", until, T0)
        assert await leases.break_lease(SPACE) == ("job-a", until)
        assert await leases.current(SPACE) is None
        taken = await leases.acquire(SPACE, "job-b", until, T0)  # at once, not after expiry
        with pytest.raises(Conflict):
            await leases.renew(held, until)
        await leases.release(held)
        assert await leases.current(SPACE) == ("job-b", until)
        await leases.release(taken)

    async def test_a_corrupt_lease_is_shown_taken_over_and_broken(
        self, leases: LeaseRepository, backend: Backend
    ) -> None:
        backend.raw_put(f"{SPACE}/_lease.json", b"{not json")
        assert await leases.current(SPACE) == ("unreadable", None)
        assert await leases.break_lease(SPACE) == ("unreadable", None)
        backend.raw_put(f"{SPACE}/_lease.json", b"{not json")
        lease = await leases.acquire(SPACE, "job-a", T0 + timedelta(minutes=1), T0)
        assert lease.holder == "job-a"
