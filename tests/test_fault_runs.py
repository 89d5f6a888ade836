"""The outside review's fault runs, against real server processes, on the local store and
on SeaweedFS: agents writing while consolidations run again and again, and a server
killed with SIGKILL in the middle of a run, then restarted. Each ends with every note
written exactly once: consumed by one committed batch and in the archive once, or still
live. None lost, none doubled.

The killed run uses a scripted OpenAI-compatible model that answers slowly, so the run
lasts long enough to interrupt; the writers' run is extractive (no model)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from application.store import ObjectStore
from domain import SpaceId
from domain.consolidation import JournalState
from domain.consolidation.archive import parse_archive_notes
from infrastructure.repositories import StoreBankRepository, StoreNoteRepository
from infrastructure.repositories.consolidation import StoreJournalRepository
from infrastructure.stores import FileSystemObjectStore, S3ObjectStore
from ops.server import server_process, wait_healthy
from tests.consolidation_support import KEY
from tests.http_support import streamable_client
from tests.llm_server import Answer, log_every_note, scripted_llm, scripted_llm_env
from tests.mcp_support import payload

SPACE = "faults"
RULES = "# Rules\n\n## decisions.md\nEvery decision, in order.\n"
WRITERS, NOTES_EACH = 12, 20


@contextlib.asynccontextmanager
async def _backend(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[dict[str, str], ObjectStore]]:
    """The server settings for ``kind`` and the same store opened in this process."""
    if kind == "local":
        data = tmp_path / "data"
        store: ObjectStore = FileSystemObjectStore(data)
        env = {"LIVE_MEM_DATA_DIR": str(data)}
    else:
        server = request.getfixturevalue("seaweedfs")
        bucket = server.new_bucket()
        store = await S3ObjectStore.open(server.config(bucket, "hybrid"))
        env = server.env(bucket)
    try:
        yield {"ADMIN_BOOTSTRAP_KEY": KEY, "RATE_LIMIT_CONSOLIDATE": "1000000/minute", **env}, store
    finally:
        await store.close()


async def _call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    return payload(await client.call_tool(tool, args))


async def _wait_job(client: Client, job_id: str, patience: float = 90.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        job = await _call(client, "bank_consolidation_status", {"job_id": job_id})
        if job["state"] in ("succeeded", "failed") or loop.time() > deadline:
            return job
        await asyncio.sleep(0.2)


async def _ledger(store: ObjectStore) -> tuple[Counter[str], Counter[str], Counter[str], bool]:
    """Note ids consumed by committed batches, in the archive, and still live; and
    whether every journal is committed."""
    space = SpaceId(SPACE)
    journals = await StoreJournalRepository(store).list(space)
    consumed = Counter(c.note_id for j in journals if j.state is JournalState.COMMITTED for c in j.consumed)
    archived: Counter[str] = Counter()
    for file in await StoreBankRepository(store).get_archive(space):
        archived.update(n.note_id for n in parse_archive_notes(space, file.content))
    live = Counter(r.note_id for r in await StoreNoteRepository(store).refs(space))
    return consumed, archived, live, all(j.state is JournalState.COMMITTED for j in journals)


@pytest.mark.parametrize("kind", ["local", "seaweedfs"])
async def test_writers_during_repeated_consolidations_lose_and_double_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    async with _backend(kind, tmp_path, request) as (env, store):
        with server_process(env, tmp_path / "server.log") as (_, base):
            await wait_healthy(base)
            async with streamable_client(base, KEY) as admin:
                await _call(admin, "space_create", {"space_id": SPACE, "rules": RULES})
                tokens = [
                    (await _call(admin, "admin_create_token", {"name": f"w{i:02d}", "permissions": "write"}))[
                        "token"
                    ]
                    for i in range(WRITERS)
                ]
                written: list[str] = []
                done = asyncio.Event()
                one_run = asyncio.Event()  # set once a consolidation committed

                async def writer(index: int, token: str) -> None:
                    async with streamable_client(base, token) as client:
                        for n in range(NOTES_EACH):
                            if n == NOTES_EACH // 2:  # the rest are written while runs go on
                                await one_run.wait()
                            note = await _call(
                                client,
                                "live_note",
                                {"space_id": SPACE, "category": "decision", "content": f"w{index} n{n}"},
                            )
                            written.append(note["note_id"])

                async def consolidations() -> int:
                    runs = 0
                    while not done.is_set():
                        job = await _call(admin, "bank_consolidate", {"space_id": SPACE, "agent": ""})
                        assert (await _wait_job(admin, job["job_id"]))["state"] == "succeeded"
                        runs += 1
                        one_run.set()
                    return runs

                consolidating = asyncio.create_task(consolidations())
                await asyncio.gather(*(writer(i, t) for i, t in enumerate(tokens)))
                done.set()
                runs = await consolidating
                last = await _call(admin, "bank_consolidate", {"space_id": SPACE, "agent": ""})
                assert (await _wait_job(admin, last["job_id"]))["state"] == "succeeded"
        consumed, archived, live, all_committed = await _ledger(store)
    assert runs >= 1  # half the notes were written after a run: runs and writes interleave
    assert len(written) == len(set(written)) == WRITERS * NOTES_EACH
    assert all_committed
    assert live == Counter()
    assert consumed == archived == Counter(written)  # every note once: none lost, none doubled


@pytest.mark.parametrize("kind", ["local", "seaweedfs"])
async def test_a_server_killed_mid_run_loses_and_doubles_nothing_and_the_restart_finishes(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    notes = [f"decision {i:02d}: keep the storage layer behind one port, variant {i}" for i in range(16)]
    async with (
        _backend(kind, tmp_path, request) as (store_env, store),
        scripted_llm([Answer(make=log_every_note, delay=0.5)]) as (llm_base, _),
    ):
        env = {**store_env, **scripted_llm_env(llm_base)}
        with server_process(env, tmp_path / "a.log") as (first, base):
            await wait_healthy(base)
            async with streamable_client(base, KEY) as client:
                await _call(client, "space_create", {"space_id": SPACE, "rules": RULES})
                for note in notes:
                    await _call(
                        client, "live_note", {"space_id": SPACE, "category": "decision", "content": note}
                    )
                job_id = (await _call(client, "bank_consolidate", {"space_id": SPACE}))["job_id"]
            for _ in range(200):
                if sum((await _ledger(store))[0].values()):
                    break  # a first batch has committed: the run is half done
                await asyncio.sleep(0.05)
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        consumed, _, live, _ = await _ledger(store)
        assert consumed, "the run was killed before its first batch committed"
        assert sum(consumed.values()) + sum(live.values()) == len(notes)  # nothing lost, nothing doubled
        assert not set(consumed) & set(live)
        with server_process(env, tmp_path / "b.log") as (_, base):
            await wait_healthy(base)
            async with streamable_client(base, KEY) as client:
                job = await _wait_job(client, job_id)
        consumed, archived, live, all_committed = await _ledger(store)
        bank = (await StoreBankRepository(store).get_all(SpaceId(SPACE)))[0].content
    assert job["state"] == "succeeded", job
    assert job["attempts"] == 2
    assert all_committed
    assert live == Counter()
    assert len(consumed) == sum(consumed.values()) == len(notes)
    assert consumed == archived
    logged = [line for line in bank.splitlines() if line.startswith("- [")]
    assert [line.split("] ", 1)[1] for line in logged] == notes  # the same bank as an uninterrupted run
