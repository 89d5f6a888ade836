"""System use cases: health, about, whoami."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs

from application.store import ObjectStore, StoreError
from domain import Identity

__all__ = ["Health", "SystemService"]


@attrs.frozen
class Health:
    """Health of the server's dependencies.

    Attributes:
        ok: True when the store answers.
        store: ``ok`` or the store's error message.
        store_kind: a secret-free description of the store.
        conditional_writes: whether the store's conditional writes are atomic across replicas.
        llm: ``extractive (no model)`` or the configured model's status.
    """

    ok: bool
    store: str
    store_kind: str
    conditional_writes: bool
    llm: str


class SystemService:
    """Health (no token needed), about and whoami."""

    def __init__(
        self,
        store: ObjectStore,
        store_kind: str,
        llm_status: str,
        version: str,
        llm_probe: Callable[[], Awaitable[str]] | None = None,
        *,
        health_timeout: float = 3.0,
    ) -> None:
        self._store = store
        self._health_timeout = health_timeout
        self._store_kind = store_kind
        self._llm_status = llm_status
        self._llm_probe = llm_probe
        self.version = version

    async def health(self, *, probe_llm: bool = False) -> Health:
        """Ping the store (S3: HEAD bucket) and, with ``probe_llm`` and a model
        configured, the model endpoint (lists its models). The store has
        ``health_timeout`` seconds (``HEALTH_TIMEOUT_SECONDS``) to answer."""
        try:
            async with asyncio.timeout(self._health_timeout):
                await self._store.ping()
        except StoreError as exc:
            status, ok = str(exc), False
        except TimeoutError:
            status, ok = f"the store did not answer within {self._health_timeout:g} s", False
        else:
            status, ok = "ok", True
        return Health(
            ok=ok,
            store=status,
            store_kind=self._store_kind,
            conditional_writes=self._store.supports_conditional_writes,
            llm=f"{self._llm_status}: {await self._llm_probe()}"
            if probe_llm and self._llm_probe is not None
            else self._llm_status,
        )

    @staticmethod
    def whoami(caller: Identity) -> Identity:
        """The caller's own identity."""
        return caller
