"""Embedding happens in the background after a note is written, never on a query's path:
a query answers from what is embedded and says ``degraded`` while a backlog waits; a note
consumed while its batch was embedding does not come back; progress is reported. The
embedder here is an in-process fake that holds its batches until the test lets them go
(its "vectors" count letters, which tests the plumbing, not semantic quality)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence

import pytest

from application.search_ports import DocKind, SearchFilter
from application.services import Services
from application.services.search import Semantic
from domain import SpaceId
from infrastructure.settings import Settings, SettingsError
from infrastructure.stores import MemoryObjectStore
from infrastructure.vectors import NumpyVectorIndex, StoreVectorRepository
from interfaces.bootstrap import build_services, semantic_from_settings
from tests.consolidation_support import KEY

PROJ = SpaceId("proj")
NOTES = (
    "We bought a new automobile for deliveries",
    "The lifecycle policy expires old objects after a week",
    "Order pizza for the Friday demo",
)


class HeldEmbedder:
    """Embeds a query (one text) at once; a batch of documents waits for ``release``."""

    model = "held-letters"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.batches: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) > 1 or texts[0] in NOTES:
            self.batches.append(list(texts))
            await self.release.wait()
        return [[float(t.lower().count(c)) + 0.1 for c in "aeiourst"] for t in texts]


def _services(store: MemoryObjectStore, embedder: HeldEmbedder) -> tuple[Services, NumpyVectorIndex]:
    index = NumpyVectorIndex()
    semantic = Semantic(embedder, StoreVectorRepository(store), index)
    return build_services(store, bootstrap_key=KEY, store_kind="test", semantic=semantic), index


async def _seed(services: Services) -> None:
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", "")
    for text in NOTES:
        await services.notes.write(admin, "proj", "observation", text)


async def test_a_query_never_waits_for_the_backlog_and_progress_is_reported() -> None:
    embedder = HeldEmbedder()
    services, _ = _services(MemoryObjectStore(), embedder)
    await _seed(services)
    admin = await services.auth.authenticate(KEY)
    found = await services.search.search(admin, "proj", "pizza demo")
    # answered while every note's batch is still held: lexical hits, marked degraded
    assert not embedder.release.is_set()
    assert embedder.batches  # the notes were sent to the embedder when written
    assert found.degraded
    assert [h.doc.text for h in found.hits][:1] == ["Order pizza for the Friday demo"]
    waiting = services.search.progress(admin, "proj")
    assert waiting is not None
    assert (waiting.embedded, waiting.pending) == (0, 3)
    embedder.release.set()
    await services.search.idle(PROJ)
    done = services.search.progress(admin, "proj")
    assert done is not None
    assert (done.model, done.embedded, done.pending, done.error) == ("held-letters", 3, 0, "")
    after = await services.search.search(admin, "proj", "pizza demo")
    assert not after.degraded
    assert after.hits[0].doc.text == "Order pizza for the Friday demo"
    overall = services.search.progress_all()
    assert overall is not None
    assert (overall.embedded, overall.pending) == (3, 0)


async def test_a_note_consumed_while_its_batch_is_embedded_does_not_come_back() -> None:
    embedder = HeldEmbedder()
    store = MemoryObjectStore()
    services, index = _services(store, embedder)
    await _seed(services)
    admin = await services.auth.authenticate(KEY)
    # consolidation consumes every live note (they move to the archive) while the batch is held
    await services.jobs.service.consolidate(PROJ, "run")
    await services.search.search(admin, "proj", "pizza")  # the index learns they are gone
    embedder.release.set()
    await services.search.idle(PROJ)
    nearest = index.query(PROJ, [1.0] * 8, SearchFilter(), 50)
    assert nearest  # the bank and archive documents got their vectors
    assert not [doc for doc, _ in nearest if doc.kind is DocKind.NOTE]  # no consumed note came back
    found = await services.search.search(admin, "proj", "pizza demo Friday")
    assert {h.doc.kind for h in found.hits} <= {DocKind.BANK, DocKind.ARCHIVE}


def test_local_embeddings_without_the_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SettingsError, match=r"needs the embed extra .*pip install"):
        semantic_from_settings(Settings(embeddings="local"), MemoryObjectStore())


def test_the_embeddings_setting_is_checked() -> None:
    assert Settings.from_mapping({}).embeddings_mode == "off"
    assert Settings.from_mapping({"EMBEDDINGS": "local"}).embeddings_mode == "local"
    endpoint = {"EMBEDDINGS_API_URL": "http://127.0.0.1:9/v1", "EMBEDDINGS_MODEL": "m"}
    assert Settings.from_mapping(endpoint).embeddings_mode == "api"
    assert Settings.from_mapping({**endpoint, "EMBEDDINGS": "off"}).embeddings_mode == "off"
    with pytest.raises(SettingsError, match="EMBEDDINGS must be off, local or api"):
        Settings.from_mapping({"EMBEDDINGS": "yes"})
    with pytest.raises(SettingsError, match="needs EMBEDDINGS_API_URL"):
        Settings.from_mapping({"EMBEDDINGS": "api"})


def test_a_server_without_local_embeddings_never_imports_the_model_runtime() -> None:
    """Idle RSS must not grow for those who do not use it: the server stack, services
    built on the default settings and a search import neither PyTorch nor
    sentence-transformers (checked in a fresh interpreter)."""
    script = (
        f"import asyncio, sys\nKEY = {KEY!r}\n"
        "from interfaces.serve import run_http\n"
        "from interfaces.bootstrap import memory_services\n"
        "async def main():\n"
        "    s = memory_services(KEY)\n"
        "    admin = await s.auth.authenticate(KEY)\n"
        "    await s.spaces.create(admin, 'p', '', '')\n"
        "    await s.notes.write(admin, 'p', 'decision', 'We use BM25')\n"
        "    await s.search.search(admin, 'p', 'how do we rank')\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


async def test_imported_notes_are_embedded_in_the_background_too() -> None:
    embedder = HeldEmbedder()
    embedder.release.set()
    services, index = _services(MemoryObjectStore(), embedder)
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", "")
    lines = "\n".join(
        f'{{"timestamp": "2026-01-0{i + 1}T10:00:00Z", "agent": "ann", "category": "decision", '
        f'"content": "{text}"}}'
        for i, text in enumerate(NOTES)
    )
    report = await services.imports.import_notes(admin, "proj", lines)
    assert report.imported == 3
    await services.search.idle(PROJ)  # no query was made: the import started the embedding
    assert index.count(PROJ) == 3
