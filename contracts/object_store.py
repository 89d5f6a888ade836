"""The ``ObjectStore`` contract (see :mod:`application.store`): every adapter passes it.

Modelled on zarr-python's ``zarr.testing.store`` base class: subclasses only bind the
``open_backend`` fixture. The same operations also run as a Hypothesis state machine
against a plain dict model (:func:`run_state_machine`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from application.store import (
    InvalidKey,
    ObjectNotFound,
    ObjectStore,
    PreconditionFailed,
)
from contracts.backend import Backend, OpenBackend, WithBackend

__all__ = ["ObjectStoreContract", "increment", "run_state_machine"]

T = TypeVar("T")

BAD_KEYS = ["", "/abs", "a//b", "a/../b", "./a", "a/.hidden", "a\x00b", "a\\b", "x" * 1025, "a/"]


async def _list_keys(store: ObjectStore, prefix: str = "", page_size: int = 1000) -> list[str]:
    return [info.key async for page in store.list_pages(prefix, page_size=page_size) for info in page]


async def increment(store: ObjectStore, key: str, times: int) -> int:
    """Add 1 to the integer stored under ``key``, ``times`` times, by compare-and-swap
    (read, put-if-match, start over on ``PreconditionFailed``); return the lost races."""
    lost = 0
    for _ in range(times):
        while True:
            current = await store.get(key)
            try:
                await store.put_if_match(key, str(int(current.data) + 1).encode(), current.etag)
                break
            except PreconditionFailed:
                lost += 1
                await asyncio.sleep(0)
    return lost


class ObjectStoreContract(WithBackend):
    """The behaviour every ``ObjectStore`` adapter must show."""

    @pytest.fixture
    def store(self, backend: Backend) -> ObjectStore:
        return backend.store

    @pytest.fixture
    def listing_order(self, backend: Backend) -> str:
        """The backend's capability (:attr:`Backend.listing_order`)."""
        return backend.listing_order

    async def test_put_then_get_returns_bytes_and_one_etag(self, store: ObjectStore) -> None:
        etag = await store.put("s/a.md", b"hello")
        got = await store.get("s/a.md")
        head = await store.head("s/a.md")
        assert got.data == b"hello"
        assert got.etag == etag == head.etag
        assert head.size == 5
        assert '"' not in etag

    async def test_etag_is_md5_of_single_part_upload(self, store: ObjectStore) -> None:
        etag = await store.put("s/md5", b"abc")
        assert etag == hashlib.md5(b"abc", usedforsecurity=False).hexdigest()

    async def test_put_is_visible_through_the_backdoor(self, backend: Backend) -> None:
        await backend.store.put("s/b/c.json", b'{"x": 1}')
        assert backend.raw_get("s/b/c.json") == b'{"x": 1}'

    async def test_backdoor_write_is_read_by_the_store(self, backend: Backend) -> None:
        backend.raw_put("s/seeded.md", b"seeded")
        assert (await backend.store.get("s/seeded.md")).data == b"seeded"

    async def test_empty_and_binary_objects_round_trip(self, store: ObjectStore) -> None:
        payload = bytes(range(256)) * 4
        await store.put("s/empty", b"")
        await store.put("s/binary", payload)
        assert (await store.get("s/empty")).data == b""
        assert (await store.get("s/binary")).data == payload

    async def test_unicode_keys_round_trip(self, store: ObjectStore) -> None:
        await store.put("s/café/ünï ©.md", b"x")
        assert (await store.get("s/café/ünï ©.md")).data == b"x"
        assert await _list_keys(store, "s/caf") == ["s/café/ünï ©.md"]

    async def test_get_and_head_of_missing_key_raise_not_found(self, store: ObjectStore) -> None:
        with pytest.raises(ObjectNotFound):
            await store.get("s/missing")
        with pytest.raises(ObjectNotFound):
            await store.head("s/missing")

    async def test_put_replaces_and_changes_etag(self, store: ObjectStore) -> None:
        first = await store.put("s/k", b"one")
        second = await store.put("s/k", b"two")
        assert first != second
        assert (await store.get("s/k")).data == b"two"

    async def test_put_if_absent_creates_once(self, store: ObjectStore) -> None:
        etag = await store.put_if_absent("s/lease", b"mine")
        with pytest.raises(PreconditionFailed):
            await store.put_if_absent("s/lease", b"theirs")
        got = await store.get("s/lease")
        assert (got.data, got.etag) == (b"mine", etag)

    async def test_put_if_match_replaces_only_the_expected_version(self, store: ObjectStore) -> None:
        old = await store.put("s/cas", b"v1")
        new = await store.put_if_match("s/cas", b"v2", old)
        with pytest.raises(PreconditionFailed):
            await store.put_if_match("s/cas", b"v3", old)
        got = await store.get("s/cas")
        assert (got.data, got.etag) == (b"v2", new)

    async def test_put_if_match_on_missing_key_fails(self, store: ObjectStore) -> None:
        with pytest.raises(PreconditionFailed):
            await store.put_if_match("s/nothing", b"v", "0" * 32)
        with pytest.raises(ObjectNotFound):
            await store.get("s/nothing")

    async def test_delete_removes_and_is_idempotent(self, store: ObjectStore) -> None:
        await store.put("s/d", b"x")
        await store.delete("s/d")
        await store.delete("s/d")
        await store.delete("s/never-existed")
        with pytest.raises(ObjectNotFound):
            await store.get("s/d")

    async def test_list_filters_by_prefix_in_the_backends_order(
        self, store: ObjectStore, listing_order: str
    ) -> None:
        keys = ["p/b", "p/a/2", "p/a/10", "p/é", "p/Z", "p/a-", "q/a", "pp/x"]
        for key in keys:
            await store.put(key, key.encode())
        if listing_order == "bytes":
            order = lambda k: k.encode()  # noqa: E731
        else:
            order = lambda k: [s.encode() for s in k.split("/")]  # noqa: E731
        expected = sorted((k for k in keys if k.startswith("p/")), key=order)
        assert await _list_keys(store, "p/") == expected
        assert await _list_keys(store, "p/a") == sorted(["p/a-", "p/a/10", "p/a/2"], key=order)
        assert await _list_keys(store, "nothing/") == []

    async def test_list_reports_size_and_etag(self, store: ObjectStore) -> None:
        etag = await store.put("l/one", b"12345")
        [page] = [p async for p in store.list_pages("l/")]
        assert [(i.key, i.size, i.etag) for i in page] == [("l/one", 5, etag)]

    async def test_list_paginates(self, store: ObjectStore) -> None:
        keys = [f"pg/{i:03d}" for i in range(7)]
        for key in keys:
            await store.put(key, b"x")
        pages = [[i.key for i in p] async for p in store.list_pages("pg/", page_size=3)]
        assert all(1 <= len(p) <= 3 for p in pages)
        assert [k for p in pages for k in p] == keys

    async def test_list_starts_after_a_key(self, store: ObjectStore) -> None:
        keys = [f"sa/20260101T0000{i:02d}000000Z_agent_{i}.md" for i in range(12)]
        for key in reversed(keys):
            await store.put(key, b"x")
        after = [i.key async for p in store.list_pages("sa/", page_size=5, start_after=keys[6]) for i in p]
        assert after == keys[7:]
        between = [i.key async for p in store.list_pages("sa/", start_after="sa/20260101T000003") for i in p]
        assert between == keys[3:]  # a prefix of a key is a position too
        assert [i async for i in store.list_pages("sa/", start_after=keys[-1])] == []
        assert [i.key async for p in store.list_pages("sa/", start_after="") for i in p] == keys

    @pytest.mark.parametrize("bad", BAD_KEYS)
    async def test_bad_keys_are_refused_before_any_io(self, store: ObjectStore, bad: str) -> None:
        with pytest.raises(InvalidKey):
            await store.put(bad, b"x")
        with pytest.raises(InvalidKey):
            await store.get(bad)
        with pytest.raises(InvalidKey):
            await store.put_if_absent(bad, b"x")
        with pytest.raises(InvalidKey):
            await store.delete(bad)
        assert await _list_keys(store) == []

    async def test_ping_answers(self, store: ObjectStore) -> None:
        await store.ping()

    async def test_concurrent_put_if_absent_has_exactly_one_winner(self, store: ObjectStore) -> None:
        if not store.supports_conditional_writes:
            pytest.fail("every backend in this suite claims conditional writes")

        async def contender(index: int) -> int | None:
            try:
                await store.put_if_absent("race/lease", str(index).encode())
            except PreconditionFailed:
                return None
            return index

        results = await asyncio.gather(*(contender(i) for i in range(30)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert (await store.get("race/lease")).data == str(winners[0]).encode()

    async def test_compare_and_swap_counter_loses_no_increment(self, store: ObjectStore) -> None:
        await store.put("race/counter", b"0")
        workers, increments = 10, 5

        await asyncio.gather(*(increment(store, "race/counter", increments) for _ in range(workers)))
        assert int((await store.get("race/counter")).data) == workers * increments

    def test_state_machine_agrees_with_a_dict(self, open_backend: OpenBackend) -> None:
        run_state_machine(open_backend, max_examples=8, steps=25)


_KEYS = st.sampled_from(["m/a", "m/b", "m/c/d", "m/c/e", "m/é"])
_DATA = st.binary(max_size=64)


def run_state_machine(open_backend: OpenBackend, *, max_examples: int, steps: int) -> None:
    """Run random sequences of store operations on a fresh backend and on a dict model,
    asserting after each step that they agree (after zarr's ``ZarrStoreStateMachine``).
    Each example runs in its own event loop, so the adapter is opened inside it."""

    class StoreMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.backend = self.loop.run_until_complete(open_backend())
            self.model: dict[str, bytes] = {}
            self.etags: dict[str, str] = {}

        def run(self, coro: Coroutine[Any, Any, T]) -> T:
            return self.loop.run_until_complete(coro)

        @rule(key=_KEYS, data=_DATA)
        def put(self, key: str, data: bytes) -> None:
            self.etags[key] = str(self.run(self.backend.store.put(key, data)))
            self.model[key] = data

        @rule(key=_KEYS, data=_DATA)
        def put_if_absent(self, key: str, data: bytes) -> None:
            try:
                self.etags[key] = str(self.run(self.backend.store.put_if_absent(key, data)))
            except PreconditionFailed:
                assert key in self.model
            else:
                assert key not in self.model
                self.model[key] = data

        @rule(key=_KEYS, data=_DATA, stale=st.booleans())
        def put_if_match(self, key: str, data: bytes, stale: bool) -> None:
            etag = "f" * 32 if stale or key not in self.etags else self.etags[key]
            try:
                self.etags[key] = str(self.run(self.backend.store.put_if_match(key, data, etag)))
            except PreconditionFailed:
                assert stale or key not in self.model
            else:
                assert key in self.model
                self.model[key] = data

        @rule(key=_KEYS)
        def delete(self, key: str) -> None:
            self.run(self.backend.store.delete(key))
            self.model.pop(key, None)
            self.etags.pop(key, None)

        @rule(key=_KEYS)
        def get(self, key: str) -> None:
            try:
                got = self.run(self.backend.store.get(key))
            except ObjectNotFound:
                assert key not in self.model
            else:
                assert key in self.model
                assert got.data == self.model[key]

        @invariant()
        def listing_matches(self) -> None:
            keys = self.run(_list_keys(self.backend.store, "m/", page_size=2))
            assert keys == sorted(self.model, key=lambda k: k.encode())

        def teardown(self) -> None:
            self.run(self.backend.store.close())
            self.loop.close()

    run_state_machine_as_test(
        StoreMachine,
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
