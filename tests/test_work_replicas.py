"""Claims between server replicas: two live-mem servers (each its own services, caches and
store client) on one local directory or one SeaweedFS bucket, agents racing through
both over MCP streamable HTTP. The store's conditional writes are the only arbiter.
Also: a process killed with SIGKILL in the middle of settling items leaves every item
either before or after its change, none lost."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from application.services import Services
from application.store import ObjectStore
from domain import SpaceId
from domain.work import ItemState
from infrastructure.repositories.work import StoreItemRepository
from infrastructure.stores import FileSystemObjectStore
from infrastructure.stores.s3 import S3ObjectStore
from interfaces.bootstrap import build_services
from tests.http_support import running_server, streamable_client
from tests.mcp_support import BOOTSTRAP_KEY, error_text
from tests.s3_servers import S3Server

SPACE = "race"
OpenStore = Callable[[], Awaitable[ObjectStore]]


def _services(store: ObjectStore) -> Services:
    return build_services(store, bootstrap_key=BOOTSTRAP_KEY, store_kind="test")


@contextlib.asynccontextmanager
async def _two_replicas(open_store: OpenStore) -> AsyncIterator[tuple[list[str], dict[str, str]]]:
    """Two servers over one store location; yields their URLs and six agents' tokens."""
    one, two = _services(await open_store()), _services(await open_store())
    admin = await one.auth.authenticate(BOOTSTRAP_KEY)
    await one.spaces.create(admin, SPACE, "two replicas", "")
    tokens = {
        f"agent-{n}": (await one.auth.create(admin, f"agent-{n}", "write", [SPACE])).secret for n in range(6)
    }
    try:
        async with running_server(one) as first, running_server(two) as second:
            yield [first, second], tokens
    finally:
        await one.close()
        await two.close()


async def _call(base: str, token: str, tool: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    async with streamable_client(base, token) as client:
        result = await client.call_tool(tool, args)
    return error_text(result), result.structured_content or {}


async def _race(open_store: OpenStore) -> None:
    async with _two_replicas(open_store) as (bases, tokens):
        _, posted = await _call(bases[0], tokens["agent-0"], "live_note", {
            "space_id": SPACE, "category": "todo", "content": "Migrate the billing tables",
        })  # fmt: skip
        for resource in ("file:db/schema.sql", posted["note_id"]):
            calls = [
                _call(bases[n % 2], tokens[name], "work_claim", {"space_id": SPACE, "resource": resource})
                for n, name in enumerate(tokens)
            ]
            outcomes = await asyncio.gather(*calls)
            winners = [body["holder"] for error, body in outcomes if not error]
            refusals = [error for error, _ in outcomes if error]
            assert len(winners) == 1, outcomes
            assert len(refusals) == len(tokens) - 1
            assert all(e.startswith("Conflict:") and f"claimed by {winners[0]} until" in e for e in refusals)
            # both replicas see the one winner
            for base in bases:
                _, items = await _call(base, tokens["agent-5"], "work_presence", {"space_id": SPACE})
                held = {a["agent"]: a["items"] + a["resources"] for a in items["agents"]}
                assert any(held[winners[0]]), held


async def test_two_replicas_on_one_directory_give_a_claim_to_exactly_one_agent(tmp_path: Path) -> None:
    async def open_store() -> ObjectStore:
        return FileSystemObjectStore(tmp_path)

    await _race(open_store)


async def test_two_replicas_on_one_seaweedfs_bucket_give_a_claim_to_exactly_one_agent(
    seaweedfs: S3Server,
) -> None:
    bucket = seaweedfs.new_bucket()

    async def open_store() -> ObjectStore:
        return await S3ObjectStore.open(seaweedfs.config(bucket))

    await _race(open_store)


_SETTLER = textwrap.dedent(
    """
    import asyncio, sys
    from interfaces.bootstrap import build_services
    from infrastructure.stores import FileSystemObjectStore

    async def main(root, key):
        services = build_services(FileSystemObjectStore(root), bootstrap_key=key, store_kind="test")
        admin = await services.auth.authenticate(key)
        page = await services.work.list_items(admin, "race", limit=200)
        print("ready", flush=True)
        for view in page.items:
            await services.work.finish(admin, "race", view.item.item_id, "done before the kill")

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def _seed(root: Path) -> list[str]:
    services = _services(FileSystemObjectStore(root))
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.spaces.create(admin, SPACE, "kill", "")
    return [(await services.notes.write(admin, SPACE, "todo", f"task {n}")).note_id for n in range(60)]


async def _after_the_kill(root: Path, ids: list[str]) -> None:
    items = await StoreItemRepository(FileSystemObjectStore(root)).list(SpaceId(SPACE))
    assert sorted(i.item_id for i in items) == sorted(ids)  # every record readable, none lost
    assert {i.state for i in items} <= {ItemState.OPEN, ItemState.DONE}
    # whatever was left open can still be settled: no record was left half-written
    survivor = _services(FileSystemObjectStore(root))
    admin = await survivor.auth.authenticate(BOOTSTRAP_KEY)
    for item in items:
        if item.state is ItemState.OPEN:
            await survivor.work.finish(admin, SPACE, item.item_id, "after the kill")
    page = await survivor.work.list_items(admin, SPACE, state="done", limit=200)
    assert page.total_matching == len(ids)


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.4])
def test_a_sigkill_while_items_are_settled_leaves_each_item_whole_and_none_lost(
    tmp_path: Path, delay: float
) -> None:
    ids = asyncio.run(_seed(tmp_path))
    root = Path(__file__).resolve().parents[1]
    child = subprocess.Popen(
        [sys.executable, "-c", _SETTLER, str(tmp_path), BOOTSTRAP_KEY],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"ready"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    asyncio.run(_after_the_kill(tmp_path, ids))
