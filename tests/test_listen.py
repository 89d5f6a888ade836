"""Resources and change notifications (issue 'what an agent pays and gets'), with the MCP
python SDK's own client over streamable HTTP: the client lists its resources, listens to
a space's live activity and bank files on one replica, another agent writes and
consolidates through another replica over the same directory, and the client is told.
Changes reach a replica through the store only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourceUpdated, ServerEvent

from application.services import Services
from infrastructure.settings import Settings
from infrastructure.stores import FileSystemObjectStore
from interfaces.bootstrap import build_services
from tests.http_support import running_server, streamable_client
from tests.mcp_support import BOOTSTRAP_KEY

SPACE, OTHER = "team", "private"
RULES = "# Rules\n\n## progress.md\nWhat was done.\n\n## activeContext.md\nWhat is worked on now.\n"


def _replica(root: Path) -> Services:
    return build_services(
        FileSystemObjectStore(root),
        bootstrap_key=BOOTSTRAP_KEY,
        store_kind="test",
        settings=Settings(feed_poll_seconds=0.1),
    )


@contextlib.asynccontextmanager
async def _two(root: Path) -> AsyncIterator[tuple[Services, Services, str, str, dict[str, str]]]:
    one, two = _replica(root), _replica(root)
    admin = await one.auth.authenticate(BOOTSTRAP_KEY)
    await one.spaces.create(admin, SPACE, "listened to", RULES)
    await one.spaces.create(admin, OTHER, "not for the reader", "")
    tokens = {
        "reader": (await one.auth.create(admin, "reader", "read", [SPACE])).secret,
        "writer": (await one.auth.create(admin, "writer", "write", [SPACE])).secret,
    }
    try:
        async with running_server(one) as first, running_server(two) as second:
            yield one, two, first, second, tokens
    finally:
        await one.close()
        await two.close()


async def _until(sub: AsyncIterator[ServerEvent], wanted: set[str], seconds: float = 20.0) -> set[str]:
    """The events' names (a URI, or "list_changed") seen until every wanted one came."""
    seen: set[str] = set()
    with anyio.fail_after(seconds):
        async for event in sub:
            seen.add(event.uri if isinstance(event, ResourceUpdated) else "list_changed")
            if wanted <= seen:
                break
    return seen


async def test_a_listener_on_one_replica_hears_what_another_replica_wrote(tmp_path: Path) -> None:
    async with _two(tmp_path) as (_, two, first, second, tokens):
        live = f"livemem://{SPACE}/live"
        progress = f"livemem://{SPACE}/bank/progress.md"
        async with streamable_client(first, tokens["reader"]) as reader:
            listed = {r.uri for r in (await reader.list_resources()).resources}
            assert live in listed
            assert not any(OTHER in uri for uri in listed)
            async with reader.listen(
                resource_subscriptions=[live, progress], resources_list_changed=True
            ) as sub:
                async with streamable_client(second, tokens["writer"]) as writer:
                    note = await writer.call_tool(
                        "live_note", {"space_id": SPACE, "category": "todo", "content": "Wire the listener"}
                    )
                    assert not note.is_error
                seen = await _until(sub, {live})
                assert live in seen
                admin = await two.auth.authenticate(BOOTSTRAP_KEY)
                await two.jobs.submit(admin, SPACE)
                await two.jobs.drain()
                seen = await _until(sub, {progress, "list_changed"})
                assert {progress, "list_changed"} <= seen
            text = (await reader.read_resource(live)).contents[0]
            assert "Wire the listener" in getattr(text, "text", "")


async def test_listening_to_a_space_the_token_cannot_read_is_refused(tmp_path: Path) -> None:
    async with _two(tmp_path) as (one, _, first, __, tokens):
        async with streamable_client(first, tokens["reader"]) as reader:
            with pytest.raises(MCPError, match="PermissionDenied"):
                async with reader.listen(resource_subscriptions=[f"livemem://{OTHER}/live"]):
                    pass
        assert one.watch.watched() == []


async def test_a_listener_that_leaves_stops_the_polling(tmp_path: Path) -> None:
    async with _two(tmp_path) as (one, _, first, __, tokens):
        async with (
            streamable_client(first, tokens["reader"]) as reader,
            reader.listen(resource_subscriptions=[f"livemem://{SPACE}/live"]),
        ):
            assert [s.value for s in one.watch.watched()] == [SPACE]
        with anyio.fail_after(10):
            while one.watch.watched():  # noqa: ASYNC110 - the watcher offers no event to wait on
                await anyio.sleep(0.05)  # the stream's end reaches the server soon after
