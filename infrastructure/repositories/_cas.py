"""Compare-and-swap updates of one JSON object, shared by the repositories."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import stamina

from application.store import ObjectNotFound, ObjectStore, PreconditionFailed
from domain import Conflict

__all__ = ["CAS_ATTEMPTS", "cas_update"]

T = TypeVar("T")
CAS_ATTEMPTS: Final = 60


async def cas_update(
    store: ObjectStore,
    key: str,
    *,
    decode: Callable[[bytes], T],
    encode: Callable[[T], bytes],
    change: Callable[[T], T] | Callable[[T], Awaitable[T]],
    initial: Callable[[], T] | None,
) -> T:
    """Read ``key``, apply ``change``, write back with put-if-match (or put-if-absent
    when the object is missing and ``initial`` gives a starting value), and start over
    with jittered exponential backoff (stamina) when a concurrent writer won.

    Returns:
        The value that was stored.

    Raises:
        ObjectNotFound: the object is missing and ``initial`` is None.
        Conflict: still losing after ``CAS_ATTEMPTS`` attempts or 30 s.
        Any domain error ``change`` raises (then nothing is written).
    """

    async def once() -> T:
        try:
            current = await store.get(key)
        except ObjectNotFound:
            if initial is None:
                raise
            value = await _apply(change, initial())
            await store.put_if_absent(key, encode(value), content_type="application/json")
            return value
        value = await _apply(change, decode(current.data))
        await store.put_if_match(key, encode(value), current.etag, content_type="application/json")
        return value

    try:
        async for attempt in stamina.retry_context(
            on=PreconditionFailed,
            attempts=CAS_ATTEMPTS,
            timeout=30.0,
            wait_initial=0.005,
            wait_max=0.25,
            wait_jitter=0.02,
        ):
            with attempt:
                return await once()
    except PreconditionFailed as exc:
        raise Conflict(f"too many concurrent updates of {key}; try again") from exc
    raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover


async def _apply(change: Callable[[T], T] | Callable[[T], Awaitable[T]], value: T) -> T:
    result = change(value)
    if isinstance(result, Awaitable):
        return await result
    return result
