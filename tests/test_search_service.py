"""memory_search over a consolidated space: the archive is searched, two replicas on one
store rank alike, the index follows the store, and bad input is refused."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import attrs
import pytest

from application.search_ports import SearchDoc
from application.services import Services
from application.store import StoredObject
from domain import InvalidInput, SpaceId
from infrastructure.repositories import StoreBankRepository, StoreNoteRepository, StoreSpaceRepository
from infrastructure.search_sqlite import SqliteSearchIndex
from infrastructure.stores import MemoryObjectStore
from interfaces.bootstrap import build_services
from ops.bench_search import archived_notes, build_queries
from ops.scale import KEY, SPACE, scale_run
from tests.consolidation_support import FakeClock


def _replica(store: MemoryObjectStore) -> Services:
    return build_services(store, bootstrap_key=KEY, store_kind="test")


async def test_queries_from_the_notes_find_them_in_the_archive_and_replicas_agree() -> None:
    store = MemoryObjectStore()
    await scale_run(store, rounds=1, baseline=False)
    first, second = _replica(store), _replica(store)
    admin = await first.auth.authenticate(KEY)
    notes = await archived_notes(first, SPACE)
    queries = build_queries(notes)
    assert len(queries) == 100
    found = 0
    for query, target in queries:
        ours = await first.search.search(admin, SPACE, query, limit=5)
        theirs = await second.search.search(admin, SPACE, query, limit=5)
        assert [(h.doc.ref, h.score) for h in ours.hits] == [(h.doc.ref, h.score) for h in theirs.hits]
        found += any(target in h.doc.ref for h in ours.hits)
        assert all(h.doc.kind.value in {"archive", "bank"} for h in ours.hits)  # nothing left in live/
    assert found / len(queries) >= 0.9


async def test_the_index_follows_notes_written_and_consolidated_through_another_replica() -> None:
    clock, store = FakeClock(), MemoryObjectStore()
    first = build_services(store, bootstrap_key=KEY, store_kind="test", clock=clock)
    second = build_services(store, bootstrap_key=KEY, store_kind="test", clock=clock)
    admin = await first.auth.authenticate(KEY)
    await first.spaces.create(admin, "proj", "", "")
    await second.notes.write(admin, "proj", "decision", "Adopt SQLite FTS5 for ranked search")
    [live] = (await first.search.search(admin, "proj", "ranked search fts5")).hits
    assert (live.doc.kind.value, "**FTS5**" in live.snippet) == ("note", True)
    await second.jobs.service.consolidate(SpaceId("proj"), "run")
    hits = (await first.search.search(admin, "proj", "ranked search fts5", scope="archive")).hits
    assert [h.doc.ref.split("#")[1] for h in hits] == [live.doc.ref]
    assert hits[0].doc.agent == "bootstrap-admin"
    assert (await first.search.search(admin, "proj", "ranked search fts5", scope="live")).hits == []
    bank = (await first.search.search(admin, "proj", "fts5", scope="bank")).hits
    assert bank
    assert bank[0].doc.ref.startswith("decisions.md#")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": ""}, "query must be"),
        ({"query": "x" * 501}, "query must be"),
        ({"query": "ok", "scope": "everything"}, "scope must be one of"),
        ({"query": "ok", "category": "gossip"}, "invalid note category"),
        ({"query": "ok", "since": "yesterday"}, "since must be"),
        ({"query": "ok", "limit": 0}, "limit must be"),
    ],
)
async def test_bad_search_input_is_refused(kwargs: dict[str, object], message: str) -> None:
    services = _replica(MemoryObjectStore())
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", "")
    query = str(kwargs.pop("query"))
    with pytest.raises(InvalidInput, match=message):
        await services.search.search(admin, "proj", query, **kwargs)  # type: ignore[arg-type]


class _SlowNotes(MemoryObjectStore):
    """A store whose note reads take a while: a space whose index takes long to build."""

    delay = 0.0

    async def get(self, key: str) -> StoredObject:
        if "/live/" in key:
            await asyncio.sleep(self.delay)
        return await super().get(key)


class _ThreadCheckingIndex(SqliteSearchIndex):
    """Records whether documents were indexed on the event loop's thread."""

    on_loop = False

    def upsert(self, space_id: SpaceId, docs: Sequence[SearchDoc]) -> None:
        if threading.current_thread() is threading.main_thread():
            self.on_loop = True
        super().upsert(space_id, docs)


async def test_a_long_index_build_answers_from_what_is_built_off_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Second review, M7: the first search of a space blocked the whole server while
    its index was built."""
    import application.services.search as search_module

    monkeypatch.setattr(search_module, "BUILD_WAIT_SECONDS", 0.2)
    store = _SlowNotes()
    services = build_services(store, bootstrap_key=KEY, store_kind="test")
    index = _ThreadCheckingIndex()
    services = attrs.evolve(
        services,
        search=search_module.SearchService(
            StoreSpaceRepository(store), StoreNoteRepository(store), StoreBankRepository(store), index
        ),
    )
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", "")
    for n in range(120):
        await services.notes.write(admin, "proj", "observation", f"note {n} about the billing service")
    store.delay = 0.05  # 120 reads, 16 at a time: far longer than the wait
    first = await services.search.search(admin, "proj", "billing", limit=200)
    assert first.partial
    assert len(first.hits) < 120
    store.delay = 0.0
    for _ in range(100):
        later = await services.search.search(admin, "proj", "billing", limit=200)
        if not later.partial:
            break
    assert not later.partial
    assert len(later.hits) == 120
    assert not index.on_loop
