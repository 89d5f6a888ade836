"""Hybrid search against a scripted embeddings server (no model, no weights): semantic
neighbours are found, notes are embedded in the background after they are written,
vectors are shared through the store, an outage degrades to lexical results, and the
vector index passes its own checks."""

from __future__ import annotations

import pytest

from application.search_ports import VectorIndex, VectorRepository
from application.services import Services
from application.services.search import Semantic
from contracts.vectors import VectorIndexContract, VectorRepositoryContract
from domain import SpaceId
from infrastructure.stores import MemoryObjectStore
from infrastructure.vectors import NumpyVectorIndex, OpenAICompatibleEmbedder, StoreVectorRepository
from interfaces.bootstrap import build_services
from tests.consolidation_support import KEY
from tests.embeddings_server import scripted_embeddings


def _replica(store: MemoryObjectStore, url: str) -> Services:
    embedder = OpenAICompatibleEmbedder(base_url=url, api_key="k", model="scripted-embeddings", timeout=5)
    semantic = Semantic(embedder, StoreVectorRepository(store), NumpyVectorIndex())
    return build_services(store, bootstrap_key=KEY, store_kind="test", semantic=semantic)


PROJ = SpaceId("proj")


async def _seed(services: Services) -> None:
    """Three notes, then wait for their background embedding to finish."""
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", "")
    for category, text in [
        ("decision", "We bought a new automobile for deliveries"),
        ("observation", "The lifecycle policy expires old objects after a week"),
        ("todo", "Order pizza for the Friday demo"),
    ]:
        await services.notes.write(admin, "proj", category, text)
    await services.search.idle(PROJ)


async def test_a_semantic_neighbour_is_found_and_vectors_are_shared_by_replicas() -> None:
    store = MemoryObjectStore()
    async with scripted_embeddings() as (url, server):
        first = _replica(store, url)
        await _seed(first)
        admin = await first.auth.authenticate(KEY)
        lexical = await build_services(store, bootstrap_key=KEY, store_kind="test").search.search(
            admin, "proj", "car"
        )
        assert lexical.hits == []  # no note holds the word
        found = await first.search.search(admin, "proj", "car")
        assert not found.degraded
        assert found.hits[0].doc.text == "We bought a new automobile for deliveries"
        embedded = sum(len(batch) for batch in server.inputs)
        assert embedded == 3 + 1  # the three notes when written, then the query
        second = _replica(store, url)
        await second.search.search(admin, "proj", "car")  # starts reading the stored vectors
        await second.search.idle(PROJ)
        again = await second.search.search(admin, "proj", "car")
        assert not again.degraded
        assert [h.doc.doc_id for h in again.hits] == [h.doc.doc_id for h in found.hits]
        # the second replica embedded only its two queries: the notes' vectors came from the store
        assert server.inputs[-2:] == [["car"], ["car"]]
        assert sum(len(batch) for batch in server.inputs) == embedded + 2


async def test_an_embeddings_outage_gives_lexical_results_marked_degraded() -> None:
    store = MemoryObjectStore()
    async with scripted_embeddings() as (url, server):
        services = _replica(store, url)
        server.failing = True
        await _seed(services)
        admin = await services.auth.authenticate(KEY)
        found = await services.search.search(admin, "proj", "pizza demo")
        assert found.degraded
        assert [h.doc.text for h in found.hits] == ["Order pizza for the Friday demo"]
        server.failing = False
        await services.search.search(admin, "proj", "pizza demo")  # starts embedding again
        await services.search.idle(PROJ)
        healed = await services.search.search(admin, "proj", "pizza demo")
        assert not healed.degraded
        assert healed.hits[0].doc.text == "Order pizza for the Friday demo"


class TestNumpyVectorIndex(VectorIndexContract):
    @pytest.fixture
    def vectors(self) -> VectorIndex:
        return NumpyVectorIndex()


class TestStoreVectorRepository(VectorRepositoryContract):
    @pytest.fixture
    def repository(self) -> VectorRepository:
        return StoreVectorRepository(MemoryObjectStore())


async def test_vectors_of_another_dimension_never_break_search_and_huge_ones_are_refused() -> None:
    """Second review, L4: mixed dimensions broke search for good; 200,000-dimension
    vectors were stored."""
    store = MemoryObjectStore()
    async with scripted_embeddings() as (url, server):
        services = _replica(store, url)
        await _seed(services)
        admin = await services.auth.authenticate(KEY)
        assert (await services.search.search(admin, "proj", "vehicle")).hits
        server.padding = 200_000  # the endpoint now answers huge vectors
        await services.notes.write(admin, "proj", "decision", "A truck joins the vehicle fleet")
        await services.search.idle(PROJ)
        huge = await services.search.search(admin, "proj", "truck")
        assert huge.degraded
        assert huge.hits  # lexical
        assert all(len(v) <= 4 * 4096 for k, (v, _) in store._objects.items() if "_vectors/" in k)
        fresh = _replica(store, url)  # another model: a new dimension for every vector
        server.padding = 3
        await fresh.search.search(admin, "proj", "vehicle")
        await fresh.search.idle(PROJ)
        again = await fresh.search.search(admin, "proj", "vehicle")
        assert again.hits
        assert not again.degraded


async def test_a_slow_endpoint_never_makes_a_query_wait_past_its_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import application.services.search as search_module

    monkeypatch.setattr(search_module, "QUERY_WAIT_SECONDS", 0.5)
    store = MemoryObjectStore()
    async with scripted_embeddings() as (url, server):
        services = _replica(store, url)
        await _seed(services)
        admin = await services.auth.authenticate(KEY)
        server.delay = 3.0
        slow = await services.search.search(admin, "proj", "pizza")
        server.delay = 0.0
        later = await services.search.search(admin, "proj", "pizza")
    assert slow.degraded
    assert [h.doc.text for h in slow.hits][:1] == ["Order pizza for the Friday demo"]
    assert not later.degraded
