"""Benchmarks (not part of ``make test``): one table of figures, each beside a baseline
measured in the same run, on the local directory store and on SeaweedFS.

    python -m ops.bench [--store local|seaweedfs|both] [--quick]

Rows:
- live_note over MCP streamable HTTP at 1, 8, 32 and 64 concurrent agents: p50/p99 latency
  and throughput, and the server's CPU per note (/proc utime + stime over the level's
  calls) beside its CPU per no-op tool call; against the floor = a no-op tool round trip
  (``system_whoami``, which still verifies the bearer token) + one store PUT of a note-sized object, same
  concurrency; ratio = live_note p50 / floor p50.
- work_claim over MCP at 1 and 32 concurrent agents, each renewing its own claim, and 32
  agents racing for one resource (one holds it, the others are refused), against live_note
  at the same concurrency in the same run (``ops/bench_work.py``).
- ``tools/list`` bytes for a read, write and manage token beside the whole list, and the
  start-of-task context's tokens and p50 time on the demo space beside bank_read_all
  (``ops/bench_agent.py``).
- bank_read_all of a 20-file bank against 1 LIST + the slowest of the 20 GETs (direct
  store calls); ratio of p50s.
- LLM input tokens per consolidated note: live-mem's packing (batches by token budget,
  only the bank files a batch needs in full) against a baseline that packs 5 notes per
  call with the whole bank in every prompt; same estimator (UTF-8 bytes / 4), same
  dataset, the bank evolving identically (the extractive plan stands in for the model's
  answer, so no model runs and no quality figure comes from here).
- live_read of the newest 50 notes at 1,000, 5,000 and 20,000 notes through the note
  listing a replica keeps, against a full listing of the space per read
  (``ops/bench_listing.py``).
- Tokens an agent receives from ``bank_read_all`` after 600 and after 6,000 notes (the
  scale run of ``ops.scale``: the dataset imported ten times a year apart, extractive),
  against the append-only policy's bank for the same notes in the same run.
- memory_search: recall@5 and MRR of 100 queries built from the notes against the former
  substring search; warm p50 over 6,000 notes against a substring scan; cold index build;
  index size (``ops/bench_search.py``).
- semantic search (``ops/bench_retrieval.py``): recall@5, recall@10 and MRR of the lexical,
  dense and fused rankings on hand-written reworded questions and on exact-word queries,
  against bm25s over the same documents; what the local embedding model costs (ms per note
  and per query, RSS); ``memory_search`` p50/p95 with embeddings at 6,000 notes against
  lexical only; the first query of a space with nothing embedded yet.
- space_export of 32 MiB, one and eight at once: extra memory at the peak and the longest
  event-loop stall, against the former in-memory, base64-twice export (``ops/bench_export.py``).
- Peak RSS of the server process: idle after start, and its high-water mark after
  replaying the dataset and consolidating it (``VmRSS``/``VmHWM`` from /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from application.consolidation.planners import SYSTEM_PROMPT, AbstractivePlanner, PlanRequest, render_prompt
from application.consolidation.ports import ModelAnswer
from application.store import ObjectStore
from domain import AgentName, BankFileName, Note, NoteCategory, SpaceId, SpaceRules
from domain.consolidation import RoutingTable, apply_plan, estimate_tokens, extractive_plan, pack_batches
from infrastructure.stores import FileSystemObjectStore, MemoryObjectStore, S3ObjectStore
from ops.bench_agent import agent_rows
from ops.bench_common import Row, concurrent, pct, sessions, timed
from ops.bench_export import export_rows
from ops.bench_listing import listing_rows
from ops.bench_retrieval import retrieval_rows
from ops.bench_search import search_rows
from ops.bench_work import claim_rows
from ops.dataset import RULES_FILE, load_notes
from ops.scale import scale_run
from ops.server import call, mcp_client, server_process, wait_healthy
from tests.s3_servers import seaweedfs_server  # the same SeaweedFS setup as the tests

NOTE_TEXT = "Decided to keep the storage layer behind one port; see the design notes. " * 3
FILL_CALL_TIMEOUT = 300.0
"""Seconds one S3 call of the bench's own store may take (see ``backend``)."""


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far (user + system, from /proc/PID/stat), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def latency_rows(
    base: str, key: str, store: ObjectStore, label: str, quick: bool, pid: int
) -> list[Row]:
    rows: list[Row] = []
    async with mcp_client(base, key) as admin:
        await call(admin, "space_create", {"space_id": "bench", "description": "benchmark"})
        tokens = [
            str(
                (
                    await call(
                        admin,
                        "admin_create_token",
                        {"name": f"bench-{i:02d}", "permissions": "write", "space_ids": "bench"},
                    )
                )["token"]
            )
            for i in range(64)
        ]
    for level in (1, 8, 32, 64):
        per = max(3, (60 if quick else 240) // level)
        async with sessions(base, tokens[:level]) as clients:

            async def note_call(i: int) -> Callable[[], Awaitable[Any]]:
                client = clients[i]
                return lambda: call(
                    client, "live_note", {"space_id": "bench", "category": "decision", "content": NOTE_TEXT}
                )

            async def noop_call(i: int) -> Callable[[], Awaitable[Any]]:
                client = clients[i]
                return lambda: call(client, "system_whoami", {})

            cpu = cpu_seconds(pid)
            notes, wall = await concurrent(level, per, note_call)
            note_cpu = (cpu_seconds(pid) - cpu) / len(notes)
            cpu = cpu_seconds(pid)
            noops, _ = await concurrent(level, per, noop_call)
            noop_cpu = (cpu_seconds(pid) - cpu) / len(noops)

        async def put_call(i: int) -> Callable[[], Awaitable[Any]]:
            return lambda: store.put(f"bench-floor/{secrets.token_hex(8)}.md", NOTE_TEXT.encode())

        puts, _ = await concurrent(level, per, put_call)
        floor50 = pct(noops, 0.5) + pct(puts, 0.5)
        floor99 = pct(noops, 0.99) + pct(puts, 0.99)
        rows.append(
            (
                f"[{label}] live_note, {level} agents",
                f"p50 {pct(notes, 0.5) * 1000:.1f} ms, p99 {pct(notes, 0.99) * 1000:.1f} ms, "
                f"{len(notes) / wall:.0f}/s",
                f"floor p50 {floor50 * 1000:.1f} ms, p99 {floor99 * 1000:.1f} ms",
                f"{pct(notes, 0.5) / floor50:.2f}x",
            )
        )
        rows.append(
            (
                f"[{label}] server CPU per live_note, {level} agents",
                f"{note_cpu * 1000:.2f} ms",
                f"per no-op tool call (system_whoami) {noop_cpu * 1000:.2f} ms",
                f"{note_cpu / max(noop_cpu, 1e-9):.2f}x",
            )
        )
    return rows


async def bank_rows(base: str, key: str, store: ObjectStore, label: str) -> list[Row]:
    body = "# File\n\n## Section\n" + ("- a bullet of bank content, about eighty characters long...\n" * 120)
    for i in range(20):
        await store.put(f"bench/bank/file-{i:02d}.md", body.encode())
    async with mcp_client(base, key) as admin:
        tool = [await timed(lambda: call(admin, "bank_read_all", {"space_id": "bench"})) for _ in range(20)]
    direct = []
    for _ in range(20):
        start = time.perf_counter()
        keys = [i.key async for page in store.list_pages("bench/bank/") for i in page]
        listed = time.perf_counter() - start
        gets = []
        for object_key in keys:
            started = time.perf_counter()
            await store.get(object_key)
            gets.append(time.perf_counter() - started)
        direct.append(listed + max(gets))
    return [
        (
            f"[{label}] bank_read_all, 20 files of 7 KiB",
            f"p50 {pct(tool, 0.5) * 1000:.1f} ms",
            f"1 LIST + slowest GET p50 {pct(direct, 0.5) * 1000:.1f} ms",
            f"{pct(tool, 0.5) / pct(direct, 0.5):.2f}x",
        )
    ]


class _TokenCounter:
    """A stand-in model: counts prompt tokens and answers with the extractive plan."""

    name = "token-counter"
    context_tokens = 32768
    max_answer_tokens = 4096

    def __init__(self) -> None:
        self.tokens_in = 0
        self.request: PlanRequest | None = None

    async def complete(self, system: str, user: str, **_: Any) -> ModelAnswer[Any]:
        assert self.request is not None
        self.tokens_in += estimate_tokens(system) + estimate_tokens(user)
        r = self.request
        return ModelAnswer(extractive_plan(r.notes, r.bank, r.rules, r.table), 0, 0)


async def token_rows() -> list[Row]:
    rules = SpaceRules(RULES_FILE.read_text(encoding="utf-8"))
    table = RoutingTable.from_rules(rules)
    notes = [
        Note(
            SpaceId("bench"),
            f"{i:016x}",
            AgentName(r["agent_name"]),
            NoteCategory.parse(r["category"]),
            r["content"],
            r["at"],
        )
        for i, r in enumerate(load_notes())
    ]

    counter = _TokenCounter()
    planner = AbstractivePlanner(counter)
    bank: dict[BankFileName, str] = {}
    synthesis = ""
    batches = 0
    remaining = notes
    while remaining:
        batch = pack_batches(
            remaining,
            planner.budget(rules, synthesis),
            item_tokens=lambda n: estimate_tokens(n.content) + 20,
            needs=lambda n: table.route(n)[0],
            need_tokens=lambda f: estimate_tokens(bank.get(f, "")),
        )[0]
        counter.request = PlanRequest(batch, bank, rules, synthesis, table)
        planned = await planner.plan(counter.request)
        changed, new_synthesis = apply_plan(planned.plan, bank, rules)
        bank.update({k: v.content for k, v in changed.items()})
        synthesis, remaining, batches = new_synthesis.text, remaining[len(batch) :], batches + 1

    baseline_in = 0
    bank_b: dict[BankFileName, str] = {}
    synthesis_b = ""
    for start in range(0, len(notes), 5):
        batch = notes[start : start + 5]
        request = PlanRequest(batch, bank_b, rules, synthesis_b, table)
        prompt = render_prompt(request, list(rules.file_names()))  # the whole bank, every time
        baseline_in += estimate_tokens(SYSTEM_PROMPT) + estimate_tokens(prompt)
        changed, new_synthesis = apply_plan(extractive_plan(batch, bank_b, rules, table), bank_b, rules)
        bank_b.update({k: v.content for k, v in changed.items()})
        synthesis_b = new_synthesis.text
    ours, base = counter.tokens_in / len(notes), baseline_in / len(notes)
    return [
        (
            "LLM input tokens per note (600 notes)",
            f"{ours:.0f} tokens/note in {batches} calls",
            f"5 notes/call + whole bank: {base:.0f} tokens/note in {len(notes) // 5} calls",
            f"{ours / base:.2f}x",
        )
    ]


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def replay_and_consolidate(base: str, key: str) -> None:
    rules = RULES_FILE.read_text(encoding="utf-8")
    rows = load_notes()
    async with mcp_client(base, key) as admin:
        await call(admin, "space_create", {"space_id": "dataset", "rules": rules})
        sem = asyncio.Semaphore(16)

        async def one(row: dict[str, Any]) -> None:
            async with sem:
                await call(
                    admin,
                    "live_note",
                    {"space_id": "dataset", "category": row["category"], "content": row["content"]},
                )

        await asyncio.gather(*(one(r) for r in rows))
        job = await call(admin, "bank_consolidate", {"space_id": "dataset"})
        while job["state"] in ("queued", "running"):
            await asyncio.sleep(0.2)
            job = await call(admin, "bank_consolidation_status", {"job_id": job["job_id"]})


@contextlib.contextmanager
def backend(kind: str, tmp: Path) -> Iterator[tuple[dict[str, str], Callable[[], Awaitable[ObjectStore]]]]:
    if kind == "local":
        data = tmp / "data"

        async def open_local() -> ObjectStore:
            return FileSystemObjectStore(data)

        yield {"LIVE_MEM_DATA_DIR": str(data)}, open_local
        return
    with seaweedfs_server() as server:
        bucket = server.new_bucket()
        env = server.env(bucket)

        async def open_s3() -> ObjectStore:
            # the bench's own writes may outlast S3_CALL_TIMEOUT (20 s): the test SeaweedFS
            # answers no PUT for 20-25 s once while the listing rows fill 20,000 notes (the
            # same point every run); those rows time reads after the fill, not the fill
            config = attrs.evolve(server.config(bucket, "hybrid"), call_timeout=FILL_CALL_TIMEOUT)
            return await S3ObjectStore.open(config)

        yield env, open_s3


async def run(kind: str, quick: bool) -> list[Row]:
    key = secrets.token_urlsafe(32)
    with (
        tempfile.TemporaryDirectory(prefix="live-mem-bench-") as tmp,
        backend(kind, Path(tmp)) as (env, open_store),
        server_process({**env, "ADMIN_BOOTSTRAP_KEY": key}, Path(tmp) / "server.log") as (process, base),
    ):
        await wait_healthy(base, 60)
        await asyncio.sleep(1.0)
        idle = rss_kib(process.pid, "VmRSS")
        store = await open_store()
        try:
            rows = await latency_rows(base, key, store, kind, quick, process.pid)
            rows += await claim_rows(base, key, kind, quick)
            rows += await bank_rows(base, key, store, kind)
            rows += await listing_rows(store, kind, quick)
        finally:
            await store.close()
        started = time.perf_counter()
        await replay_and_consolidate(base, key)
        busy = rss_kib(process.pid, "VmHWM")
        rows.append(
            (
                f"[{kind}] server peak RSS",
                f"idle {idle / 1024:.0f} MiB",
                f"after 600 notes + consolidation {busy / 1024:.0f} MiB "
                f"({time.perf_counter() - started:.1f} s)",
                f"{busy / idle:.2f}x",
            )
        )
    return rows


def print_table(rows: list[Row]) -> None:
    header = ("measure", "live-mem", "baseline (same run)", "ratio")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(line)
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


async def scale_rows() -> list[Row]:
    """Hot bank tokens after 600 and 6,000 notes against the append-only policy."""
    result = await scale_run(MemoryObjectStore(), rounds=10)
    return [
        (
            f"bank_read_all tokens after {r.notes} notes",
            f"{r.hot_tokens} tokens (budget 8000)",
            f"append-only bank: {r.append_only_tokens} tokens",
            f"{r.hot_tokens / r.append_only_tokens:.2f}x",
        )
        for r in (result.rounds[0], result.rounds[-1])
    ]


async def main(stores: list[str], quick: bool) -> None:
    rows = await token_rows()
    rows += await agent_rows()
    rows += await scale_rows()
    rows += await search_rows()
    rows += await retrieval_rows()
    rows += await export_rows()
    for kind in stores:
        rows += await run(kind, quick)
    print_table(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="live-mem benchmarks")
    parser.add_argument("--store", choices=["local", "seaweedfs", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="fewer calls per level")
    arguments = parser.parse_args()
    asyncio.run(
        main(["local", "seaweedfs"] if arguments.store == "both" else [arguments.store], arguments.quick)
    )
