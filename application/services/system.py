"""System use cases: health, about, whoami."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs

from application.store import CorruptObject, ObjectStore, StoreError
from domain import Identity

__all__ = ["Health", "SystemService", "ping_within"]


async def ping_within(store: ObjectStore, seconds: float) -> str | None:
    """Ping ``store`` (S3: HEAD bucket), giving it ``seconds``: None when it answers,
    else why not (the store's own reason, or that it did not answer in time)."""
    try:
        async with asyncio.timeout(seconds):
            await store.ping()
    except StoreError as exc:
        return str(exc)
    except TimeoutError:
        return f"the store did not answer within {seconds:g} s"
    return None


@attrs.frozen
class Health:
    """Health of the server's dependencies.

    Attributes:
        ok: True when the store answers.
        store: ``ok`` or the store's error message.
        store_kind: a secret-free description of the store.
        conditional_writes: whether the store's conditional writes are atomic across replicas.
        llm: ``extractive (no model)`` or the configured model's status.
        tokens: ``ok``, or why the token store cannot be read (then ``ok`` is False:
            every request would be refused).
    """

    ok: bool
    store: str
    store_kind: str
    conditional_writes: bool
    llm: str
    tokens: str = "ok"


@attrs.define(eq=False)
class SystemService:
    """Health (no token needed), about and whoami."""

    _store: ObjectStore
    _store_kind: str
    _llm_status: str
    version: str
    _llm_probe: Callable[[], Awaitable[str]] | None = None
    _health_timeout: float = attrs.field(kw_only=True)
    _tokens_probe: Callable[[], Awaitable[object]] | None = attrs.field(kw_only=True, default=None)

    async def health(self, *, probe_llm: bool = False) -> Health:
        """Ping the store (S3: HEAD bucket), read the token store (a corrupt one refuses
        every request) and, with ``probe_llm`` and a model configured, the model endpoint
        (lists its models). The store has ``health_timeout`` seconds
        (``HEALTH_TIMEOUT_SECONDS``) to answer."""
        tokens = "ok"
        try:
            async with asyncio.timeout(self._health_timeout):
                await self._store.ping()
                if self._tokens_probe is not None:
                    try:
                        await self._tokens_probe()
                    except CorruptObject as exc:
                        tokens = f"unreadable: {exc}"
        except StoreError as exc:
            status, ok = str(exc), False
        except TimeoutError:
            status, ok = f"the store did not answer within {self._health_timeout:g} s", False
        else:
            status, ok = "ok", tokens == "ok"
        return Health(
            ok=ok,
            store=status,
            store_kind=self._store_kind,
            conditional_writes=self._store.supports_conditional_writes,
            llm=f"{self._llm_status}: {await self._llm_probe()}"
            if probe_llm and self._llm_probe is not None
            else self._llm_status,
            tokens=tokens,
        )

    @staticmethod
    def whoami(caller: Identity) -> Identity:
        """The caller's own identity."""
        return caller
