"""A restored copy never writes into the space it came from (review item 1): restore
re-homes journals, roll-forward refuses a journal of another space, and a backup rolls
pending journals forward before copying."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from application.services import Services
from domain import AgentName, BankFileName, NoteCategory, SpaceId
from domain.consolidation import ConsumedNote, Journal, JournalState
from infrastructure import codecs
from infrastructure.repositories import StoreBackupRepository, StoreBankRepository
from infrastructure.repositories.consolidation import StoreJournalRepository
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import KEY, FakeClock, seed, services_over

ALPHA, COPY = SpaceId("proj"), SpaceId("copy")


def _pending(space: SpaceId, text: str) -> Journal:
    """A journal a crash left prepared: it rewrites decisions.md."""
    return Journal(
        run_id="20260301T000000000000Z-crashed-000",
        space_id=space,
        job_id="crashed",
        state=JournalState.PREPARED,
        mode="extractive",
        files={"decisions.md": text},
        synthesis="",
        consumed=(
            ConsumedNote(
                key=f"{space}/live/x.md",
                note_id="00000000000000aa",
                agent=AgentName("alice"),
                category=NoteCategory.DECISION,
                created_at=datetime(2026, 3, 1, tzinfo=UTC),
                content="x",
            ),
        ),
        tokens_in=0,
        tokens_out=0,
        started_at=datetime(2026, 3, 1, tzinfo=UTC),
        duration_s=0.0,
    )


async def _decisions(store: MemoryObjectStore, space: SpaceId) -> str:
    return (await StoreBankRepository(store).get(space, BankFileName("decisions.md"))).content


async def _consolidated() -> tuple[Services, MemoryObjectStore, FakeClock, str]:
    """The seeded space consolidated once: the services, their store and clock, and its
    decisions.md."""
    clock, store = FakeClock(), MemoryObjectStore()
    services = services_over(store, clock)
    await seed(services, clock)
    await services.jobs.service.consolidate(ALPHA, "first")
    return services, store, clock, await _decisions(store, ALPHA)


async def test_a_restored_prepared_journal_acts_on_the_copy_only() -> None:
    services, store, clock, original = await _consolidated()
    # a backup taken (by an older server) while a crashed batch was still prepared
    await StoreJournalRepository(store).prepare(
        _pending(ALPHA, "# decisions\n\nwritten by the crashed batch\n")
    )
    backups = StoreBackupRepository(store)
    info = await backups.create(ALPHA, "20260302T000000Z-aaaaaaaa", clock.now())
    await store.delete(f"{ALPHA}/_consolidations/20260301T000000000000Z-crashed-000.json")
    await backups.restore(ALPHA, info.backup_id, COPY, "copy-generation")
    [journal] = [
        j for j in await StoreJournalRepository(store).list(COPY) if j.state is JournalState.PREPARED
    ]
    assert journal.space_id == COPY
    assert journal.consumed[0].key.startswith("copy/live/")
    await services.jobs.service.consolidate(COPY, "copy-run")
    assert await _decisions(store, ALPHA) == original
    assert "written by the crashed batch" in await _decisions(store, COPY)


async def test_roll_forward_refuses_a_journal_that_names_another_space() -> None:
    services, store, _clock, original = await _consolidated()
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, COPY.value, "", "")
    foreign = _pending(ALPHA, "# decisions\n\nforeign\n")
    await store.put(f"{COPY}/_consolidations/{foreign.run_id}.json", codecs.encode_json(foreign))
    recovered = await services.jobs.service.roll_forward(COPY)
    assert recovered == 0
    assert await _decisions(store, ALPHA) == original


async def test_a_backup_rolls_a_pending_journal_forward_before_copying() -> None:
    clock, store = FakeClock(), MemoryObjectStore()
    services = services_over(store, clock)
    admin = await seed(services, clock)
    await StoreJournalRepository(store).prepare(_pending(ALPHA, "# decisions\n\nrolled forward\n"))
    await services.backups.create(admin, ALPHA.value)
    journals = await StoreJournalRepository(store).list(ALPHA)
    assert [j.state for j in journals] == [JournalState.COMMITTED]
    assert "rolled forward" in await _decisions(store, ALPHA)
    copied = [k for k in store._objects if k.startswith("_backups/") and "_consolidations/" in k]
    assert copied
    for key in copied:
        copy = codecs.decode_json((await store.get(key)).data, Journal, key)
        assert copy.state is JournalState.COMMITTED


async def test_a_journal_naming_another_spaces_note_never_deletes_it() -> None:
    """Second review, L6: a prepared journal inside a backup whose consumed key names
    another space's note deleted that note on restore and consolidation."""
    clock, store = FakeClock(), MemoryObjectStore()
    services = services_over(store, clock)
    await seed(services, clock)
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, COPY.value, "", "")
    victim = sorted(k for k in store._objects if k.startswith(f"{ALPHA}/live/"))[0]
    crafted = _pending(COPY, "# decisions\n\ncrafted\n")
    consumed = crafted.consumed[0]
    crafted = attrs.evolve(crafted, consumed=(attrs.evolve(consumed, key=victim),))
    await StoreJournalRepository(store).prepare(crafted)
    assert await services.jobs.service.roll_forward(COPY) == 1
    assert victim in store._objects  # the other space's note is untouched
