"""Retrying an operation until it succeeds or a time runs out, with stamina's jittered
exponential backoff: the :class:`application.ports.Retrier` port."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import stamina

__all__ = ["StaminaRetrier"]

T = TypeVar("T")


class StaminaRetrier:
    """Implements :class:`application.ports.Retrier` (waits of 0.2 s doubling to 2 s)."""

    async def call(self, operation: Callable[[], Awaitable[T]], *, on: type[Exception], within: float) -> T:
        """See the port."""
        async for attempt in stamina.retry_context(
            on=on, attempts=None, timeout=within, wait_initial=0.2, wait_max=2.0, wait_jitter=0.1
        ):
            with attempt:
                return await operation()
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover
