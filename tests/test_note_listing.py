"""The note listing each replica keeps (application.notefeed): answers stay exact while
other replicas write, consolidate and import, and a read lists only what is new."""

from __future__ import annotations

from collections.abc import AsyncIterator

from application.notefeed import ListedNoteRepository
from application.services import Services
from application.store import ObjectInfo, ObjectStore
from domain import SpaceId
from infrastructure.settings import Settings
from infrastructure.stores import MemoryObjectStore
from interfaces.bootstrap import build_services
from tests.consolidation_support import KEY, RULES, FakeClock


def _replica(store: ObjectStore, clock: FakeClock, relist: float = 3600.0) -> Services:
    return build_services(
        store,
        bootstrap_key=KEY,
        store_kind="test",
        clock=clock,
        settings=Settings(note_relist_seconds=relist),
    )


async def _setup() -> tuple[FakeClock, MemoryObjectStore, Services, Services]:
    clock, store = FakeClock(), MemoryObjectStore()
    first, second = _replica(store, clock), _replica(store, clock)
    admin = await first.auth.authenticate(KEY)
    await first.spaces.create(admin, "proj", "", RULES)
    return clock, store, first, second


async def test_a_second_replica_consolidating_between_two_reads_leaves_the_first_exact() -> None:
    clock, _store, first, second = await _setup()
    admin = await first.auth.authenticate(KEY)
    for i in range(30):
        await second.notes.write(admin, "proj", "progress", f"note {i}")
        clock.advance(1)
    page = await first.notes.read(admin, "proj", limit=10)
    assert page.total_matching == 30
    assert [n.content for n in page.notes] == [f"note {i}" for i in range(29, 19, -1)]
    await second.jobs.service.consolidate(SpaceId("proj"), "other")  # deletes the 30 notes
    for i in range(30, 33):
        await second.notes.write(admin, "proj", "todo", f"late {i}")
        clock.advance(1)
    after = await first.notes.read(admin, "proj", limit=10)
    assert after.total_matching == 3
    assert [n.content for n in after.notes] == ["late 32", "late 31", "late 30"]
    overview = await first.spaces.overview(admin, "proj")
    assert overview.notes == 3


class ListingSpy(MemoryObjectStore):
    """Records where every listing starts."""

    def __init__(self) -> None:
        super().__init__()
        self.starts: list[tuple[str, str]] = []

    def list_pages(
        self, prefix: str = "", *, page_size: int = 1000, start_after: str = ""
    ) -> AsyncIterator[list[ObjectInfo]]:
        self.starts.append((prefix, start_after))
        return super().list_pages(prefix, page_size=page_size, start_after=start_after)


async def test_a_read_lists_only_keys_after_the_newest_known_one() -> None:
    clock = FakeClock()
    store = ListingSpy()
    replica, other = _replica(store, clock), _replica(store, clock)
    admin = await replica.auth.authenticate(KEY)
    await replica.spaces.create(admin, "proj", "", RULES)
    for i in range(200):
        await other.notes.write(admin, "proj", "progress", f"note {i}")
        clock.advance(60)
    await replica.notes.read(admin, "proj", limit=5)  # the first read lists everything once
    store.starts.clear()
    await other.notes.write(admin, "proj", "todo", "newest")
    page = await replica.notes.read(admin, "proj", limit=5)
    assert page.notes[0].content == "newest"
    assert page.total_matching == 201
    live = [start for prefix, start in store.starts if prefix == "proj/live/"]
    assert len(live) == 1
    # it starts a few seconds before the newest note it knew (written at 09:00 + 199 min)
    assert live[0] == "proj/live/20260302T121855000000Z"


async def test_an_old_note_imported_elsewhere_shows_after_the_relist_interval() -> None:
    clock = FakeClock()
    store = MemoryObjectStore()
    ticks = [0.0]
    first = _replica(store, clock, relist=30.0)
    listing = first.notes._notes
    assert isinstance(listing, ListedNoteRepository)
    listing._monotonic = lambda: ticks[0]
    second = _replica(store, clock)
    admin = await first.auth.authenticate(KEY)
    await first.spaces.create(admin, "proj", "", RULES)
    await first.notes.write(admin, "proj", "progress", "today")
    assert (await first.notes.read(admin, "proj")).total_matching == 1
    old = (
        '{"timestamp": "2020-01-01T00:00:00Z", "agent": "old", "category": "decision", "content": "long ago"}'
    )
    await second.imports.import_notes(admin, "proj", old)
    assert (await first.notes.read(admin, "proj")).total_matching == 1  # older than the skew window
    ticks[0] += 31
    assert (await first.notes.read(admin, "proj")).total_matching == 2
