"""Benchmark rows for reads whose cost should follow the page, not the space: live_read
of the newest 50 notes at 1,000, 5,000 and 20,000 notes, through the note listing each
replica keeps (warm: the space was read once before), against the same read with a full
listing of the space per read (the former behaviour), same store, same run. Both are
in-process service calls, so the figures are the listing and the reads, not MCP."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from application.notefeed import ListedNoteRepository
from application.ports import NoteRepository
from application.services import NoteService
from application.store import ObjectStore
from domain import AgentName, Identity, Note, NoteCategory, Permission, SpaceId, SpaceMeta, SpaceRules
from infrastructure.repositories import StoreNoteRepository, StoreSpaceRepository
from infrastructure.repositories.consolidation import StoreJournalRepository
from infrastructure.system import RandomIds, SystemClock

__all__ = ["listing_rows"]

SIZES = (1_000, 5_000, 20_000)
SPACE = SpaceId("bench-listing")
_WRITERS = 32


async def _fill(notes: NoteRepository, start: int, stop: int) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    queue = list(range(start, stop))

    async def writer() -> None:
        while queue:
            i = queue.pop()
            await notes.add(
                Note(
                    space_id=SPACE,
                    note_id=f"{i:016x}",
                    agent=AgentName(f"agent-{i % 40}"),
                    category=NoteCategory.PROGRESS,
                    content=f"Note {i}: a short progress line of the size agents write.",
                    created_at=base + timedelta(seconds=i),
                )
            )

    await asyncio.gather(*(writer() for _ in range(_WRITERS)))


async def _p50(service: NoteService, caller: Identity, reads: int) -> float:
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        page = await service.read(caller, SPACE.value, limit=50)
        times.append(time.perf_counter() - started)
        assert len(page.notes) == 50
    return sorted(times)[len(times) // 2]


async def listing_rows(store: ObjectStore, label: str, quick: bool) -> list[tuple[str, str, str, str]]:
    """One row per size: p50 of the kept listing against a full listing per read."""
    spaces, plain = StoreSpaceRepository(store), StoreNoteRepository(store)
    listed = ListedNoteRepository(plain, StoreJournalRepository(store), relist_seconds=3600)
    caller = Identity(name=AgentName("bench"), permission=Permission.ADMIN, spaces=("*",))
    await spaces.create(
        SpaceMeta(SPACE, "listing bench", AgentName("bench"), datetime.now(UTC)), SpaceRules.default()
    )
    kept = NoteService(spaces, listed, SystemClock(), RandomIds())
    full = NoteService(spaces, plain, SystemClock(), RandomIds())
    rows, written, first = [], 0, 0.0
    for size in SIZES:
        await _fill(plain, written, size)
        written = size
        listed.forget(SPACE)
        await kept.read(caller, SPACE.value, limit=50)  # the one full listing
        ours = await _p50(kept, caller, 10 if quick else 30)
        theirs = await _p50(full, caller, 3 if quick else 5)
        first = first or ours
        rows.append(
            (
                f"[{label}] live_read newest 50 of {size} notes",
                f"p50 {ours * 1000:.1f} ms ({ours / first:.2f}x the 1,000 figure)",
                f"full listing per read p50 {theirs * 1000:.1f} ms",
                f"{ours / theirs:.2f}x",
            )
        )
    return rows
