"""The retrieval benchmark of ``memory_search`` on the shared dataset, and its latency.

Queries (100) are built from the notes themselves: the dataset's notes are nearly all one
line (597 of 600), so a query cannot avoid the first line as first planned; instead it is
the 4 rarest words of a note (words of 4+ letters, English stop words and the ticket
reference left out; rarity = how many of the 600 notes hold the word; ties broken
alphabetically), for every sixth note (oldest first; then the notes after them until
there are 100) that has at least 3 such words. They run after consolidation, so every
target is an archive entry (and its one-line form sits in a bank section). A hit is a
result whose ref names the target note.

Baseline, same run: the former substring search (notes holding every query word,
case-insensitive, newest first) over the same archived notes.

    python -m ops.bench_search
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections import Counter
from typing import Any, Final

from application.services import Services
from domain import Note, SpaceId
from domain.consolidation.archive import parse_archive_notes
from infrastructure.repositories import StoreBankRepository
from infrastructure.search_sqlite import SqliteSearchIndex
from infrastructure.stores import MemoryObjectStore
from ops.scale import KEY, SPACE, scale_run

__all__ = ["archived_notes", "build_queries", "search_rows"]

_WORD: Final = re.compile(r"[A-Za-z][A-Za-z_]{3,}")
_STOP: Final = frozenset(
    [
        "this",
        "that",
        "with",
        "from",
        "into",
        "have",
        "been",
        "were",
        "will",
        "when",
        "what",
        "which",
        "while",
        "also",
        "only",
        "more",
        "than",
        "then",
        "them",
        "they",
        "their",
        "there",
        "these",
        "those",
        "some",
        "such",
        "each",
        "used",
        "uses",
        "using",
        "make",
        "made",
        "does",
        "done",
        "just",
        "like",
        "over",
    ]
)


def build_queries(notes: list[Note], count: int = 100) -> list[tuple[str, str]]:
    """``(query, target note id)`` pairs (module docstring), deterministic."""

    def words(note: Note) -> set[str]:
        return {w.lower() for w in _WORD.findall(note.content)} - _STOP

    frequency = Counter(w for n in notes for w in words(n))
    ordered = sorted(notes, key=lambda n: (n.created_at, n.note_id))
    queries = []
    # every sixth note first, then the notes after those, until there are enough
    for index in sorted(range(len(ordered)), key=lambda i: (i % 6, i)):
        note = ordered[index]
        rare = sorted(words(note), key=lambda w: (frequency[w], w))[:4]
        if len(rare) >= 3:
            queries.append((" ".join(rare), note.note_id))
        if len(queries) == count:
            break
    return queries


def _substring(notes: list[Note], query: str, limit: int) -> list[str]:
    words = query.lower().split()
    found = [n for n in notes if all(w in n.content.lower() for w in words)]
    return [n.note_id for n in sorted(found, key=lambda n: n.created_at, reverse=True)[:limit]]


def _rank(results: list[str], target: str) -> int | None:
    return next((i + 1 for i, ref in enumerate(results) if target in ref), None)


def _quality(ranks: list[int | None]) -> tuple[float, float]:
    recall = sum(1 for r in ranks if r is not None and r <= 5) / len(ranks)
    mrr = sum(1 / r for r in ranks if r is not None) / len(ranks)
    return recall, mrr


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def archived_notes(services: Services, space: str) -> list[Note]:
    """Every note in the space's archive."""
    files = await StoreBankRepository(services.store).get_archive(SpaceId(space))
    return [n for f in files for n in parse_archive_notes(SpaceId(space), f.content)]


async def search_rows() -> list[tuple[str, str, str, str]]:
    """Recall@5 and MRR on 600 notes; latency, cold build and RSS on 6,000 notes."""
    store = MemoryObjectStore()
    await scale_run(store, rounds=1, baseline=False)
    services = _services(store)
    admin = await services.auth.authenticate(KEY)
    notes = await archived_notes(services, SPACE)
    queries = build_queries(notes)
    ours: list[int | None] = []
    theirs: list[int | None] = []
    for query, target in queries:
        found = await services.search.search(admin, SPACE, query, limit=10)
        ours.append(_rank([h.doc.ref for h in found.hits], target))
        theirs.append(_rank(_substring(notes, query, 10), target))
    (recall, mrr), (base_recall, base_mrr) = _quality(ours), _quality(theirs)
    rows = [
        (
            f"memory_search recall@5 / MRR ({len(queries)} queries, 600 notes)",
            f"recall@5 {recall:.2f}, MRR {mrr:.2f}",
            f"substring search: recall@5 {base_recall:.2f}, MRR {base_mrr:.2f}",
            f"{recall / max(base_recall, 1e-9):.2f}x",
        )
    ]
    return rows + await _latency_rows()


def _services(store: Any) -> Services:
    from interfaces.bootstrap import build_services  # noqa: PLC0415

    return build_services(store, bootstrap_key=KEY, store_kind="bench")


async def _latency_rows() -> list[tuple[str, str, str, str]]:
    store = MemoryObjectStore()
    await scale_run(store, rounds=10, baseline=False)
    services = _services(store)  # a replica that has not built its index yet
    admin = await services.auth.authenticate(KEY)
    notes = await archived_notes(services, SPACE)
    queries = [q for q, _ in build_queries(notes[:600])]
    started = time.perf_counter()
    await services.search.search(admin, SPACE, queries[0], limit=10)
    cold = time.perf_counter() - started
    loaded = _rss_kib()
    index = services.search._index
    size = index.size_bytes() if isinstance(index, SqliteSearchIndex) else 0
    warm, scan = [], []
    for query in queries:
        started = time.perf_counter()
        await services.search.search(admin, SPACE, query, limit=10)
        warm.append(time.perf_counter() - started)
        started = time.perf_counter()
        _substring(notes, query, 10)
        scan.append(time.perf_counter() - started)
    p50, scan_p50 = statistics.median(warm), statistics.median(scan)
    return [
        (
            f"memory_search p50 warm, {len(notes)} notes + bank",
            f"p50 {p50 * 1000:.1f} ms (cold index build {cold:.2f} s)",
            f"substring scan of the archived notes p50 {scan_p50 * 1000:.1f} ms",
            f"{p50 / scan_p50:.2f}x",
        ),
        (
            f"search index of {len(notes)} notes + bank",
            f"{size / 2**20:.1f} MiB of SQLite pages",
            f"process RSS with it loaded {loaded / 1024:.0f} MiB",
            "-",
        ),
    ]


if __name__ == "__main__":
    for row in asyncio.run(search_rows()):
        print(" | ".join(row))
