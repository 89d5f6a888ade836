"""The per-space change feed: news only after the baseline, notes written through another
replica (another set of services over the same store), consumed counts, one poller per
space, gone when the last watcher leaves."""

from __future__ import annotations

import asyncio

import pytest

from application.services import Services
from application.store import ObjectStore
from domain import PermissionDenied
from infrastructure.settings import Settings
from interfaces.bootstrap import build_services
from tests.mcp_support import BOOTSTRAP_KEY, SPACE, deploy


def _replica(store: ObjectStore) -> Services:
    """Another replica: its own services (own listing, own feed) over the same store."""
    return build_services(
        store, bootstrap_key=BOOTSTRAP_KEY, store_kind="memory", settings=Settings(feed_poll_seconds=0.05)
    )


async def test_a_note_written_through_another_replica_reaches_the_feed() -> None:
    deployment = await deploy()
    one = deployment.services
    # A second replica: its own services (own listing, own feed) over the same store.
    two = _replica(one.store)
    admin = await two.auth.authenticate(BOOTSTRAP_KEY)
    async with two.feed.subscribe(admin, SPACE) as watch:
        assert two.feed.watched() == [SPACE]
        await asyncio.sleep(0.2)  # the baseline listing: the seeded note is not news
        written = await one.notes.write(admin, SPACE, "progress", "written through replica one")
        event = await watch.next(2.0)
        assert event is not None
        assert [n.note_id for n in event.notes] == [written.note_id]
        assert event.consumed == 0

        await one.jobs.submit(admin, SPACE)
        await one.jobs.drain()
        event = await watch.next(2.0)
        assert event is not None
        assert (event.notes, event.consumed) == ((), 2)
    assert two.feed.watched() == []


async def test_every_watcher_of_a_space_shares_one_poller_and_each_gets_every_event() -> None:
    deployment = await deploy()
    services = deployment.services
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    replica = build_services(
        services.store,
        bootstrap_key=BOOTSTRAP_KEY,
        store_kind="memory",
        settings=Settings(feed_poll_seconds=0.05),
    )
    feed = replica.feed
    async with feed.subscribe(admin, SPACE) as first, feed.subscribe(admin, SPACE) as second:
        assert feed.watched() == [SPACE]
        await asyncio.sleep(0.2)
        await services.notes.write(admin, SPACE, "todo", "both watchers see this")
        got = [await first.next(2.0), await second.next(2.0)]
        assert [[n.content for n in e.notes] for e in got if e] == [["both watchers see this"]] * 2
    assert feed.watched() == []


async def test_watching_needs_read_on_the_space() -> None:
    deployment = await deploy()
    services = deployment.services
    other = await services.auth.authenticate(deployment.tokens["other_space"])
    with pytest.raises(PermissionDenied):
        async with services.feed.subscribe(other, SPACE):
            pass
    assert services.feed.watched() == []
