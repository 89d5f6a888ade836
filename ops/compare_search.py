"""How the search library was chosen: SQLite FTS5 (standard library) against bm25s, on the
same documents and queries. Not part of ``make bench``: bm25s is not a dependency.

    .venv/bin/pip install bm25s PyStemmer && .venv/bin/python -m ops.compare_search

Documents: the archived notes of the scale run (``ops.scale``, ten rounds): quality on the
first 600 (the dataset once; its ten copies would tie), speed on all 6,000.
Queries: ``ops.bench_search.build_queries`` over the first 600 notes; a hit is the target
note in the top 5. Figures: recall@5, MRR, index build time, p50 query time, and the time
to add one document to the built index (bm25s has no incremental update: it rebuilds).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

import attrs

from application.search_ports import DocKind, SearchDoc, SearchFilter
from domain import Note, SpaceId
from infrastructure.search_sqlite import SqliteSearchIndex
from infrastructure.stores import MemoryObjectStore
from interfaces.bootstrap import build_services
from ops.bench_search import archived_notes, build_queries
from ops.scale import KEY, SPACE, scale_run

SPACE_ID = SpaceId(SPACE)


def _measure(
    notes: list[Note],
    queries: list[tuple[str, str]],
    build: Callable[[list[Note]], Any],
    search: Callable[[Any, str], list[str]],
) -> dict[str, float]:
    started = time.perf_counter()
    index = build(notes)
    build_s = time.perf_counter() - started
    ranks, times = [], []
    for query, target in queries:
        started = time.perf_counter()
        found = search(index, query)
        times.append(time.perf_counter() - started)
        ranks.append(next((i + 1 for i, ref in enumerate(found) if ref == target), None))
    started = time.perf_counter()
    build([*notes, attrs.evolve(notes[0], note_id="f" * 32)])
    rebuild_s = time.perf_counter() - started
    return {
        "recall@5": sum(1 for r in ranks if r is not None and r <= 5) / len(ranks),
        "MRR": sum(1 / r for r in ranks if r is not None) / len(ranks),
        "build s": build_s,
        "p50 ms": statistics.median(times) * 1000,
        "rebuild s": rebuild_s,
    }


def _fts5(notes: list[Note]) -> SqliteSearchIndex:
    index = SqliteSearchIndex()
    docs = [SearchDoc(f"archive:{n.note_id}", DocKind.ARCHIVE, n.note_id, n.content) for n in notes]
    index.upsert(SPACE_ID, docs)
    return index


def _fts5_search(index: SqliteSearchIndex, query: str) -> list[str]:
    return [h.doc.ref for h in index.query(SPACE_ID, query, SearchFilter(), 5)]


def _bm25s(notes: list[Note]) -> tuple[Any, Any, list[str]]:
    import bm25s  # noqa: PLC0415 - optional, this script only
    import Stemmer  # noqa: PLC0415

    stemmer = Stemmer.Stemmer("english")
    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([n.content for n in notes], stopwords="en", stemmer=stemmer), show_progress=False
    )
    return retriever, stemmer, [n.note_id for n in notes]


def _bm25s_search(built: tuple[Any, Any, list[str]], query: str) -> list[str]:
    import bm25s  # noqa: PLC0415

    retriever, stemmer, ids = built
    tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
    results, _scores = retriever.retrieve(tokens, k=5, show_progress=False)
    return [ids[int(i)] for i in results[0]]


async def main() -> None:
    store = MemoryObjectStore()
    await scale_run(store, rounds=10, baseline=False)
    services = build_services(store, bootstrap_key=KEY, store_kind="compare")
    notes = sorted(await archived_notes(services, SPACE), key=lambda n: (n.created_at, n.note_id))
    queries = build_queries(notes[:600])
    for name, build, search in (("SQLite FTS5", _fts5, _fts5_search), ("bm25s", _bm25s, _bm25s_search)):
        quality = _measure(notes[:600], queries, build, search)
        speed = _measure(notes, queries, build, search)
        print(
            f"{name}: on 600 notes recall@5 {quality['recall@5']:.2f}, MRR {quality['MRR']:.2f}; "
            f"on {len(notes)} notes build {speed['build s']:.2f} s, query p50 {speed['p50 ms']:.2f} ms, "
            f"one more document {speed['rebuild s']:.2f} s as a rebuild"
        )


if __name__ == "__main__":
    asyncio.run(main())
