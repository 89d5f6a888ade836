"""Helpers for MCP tests: a seeded in-memory deployment with one token per role."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from mcp import Client
from mcp.types import CallToolResult

from application.services import Services
from domain import (
    AgentName,
    BankFile,
    BankFileName,
    NoteCategory,
    Permission,
    SpaceId,
    TokenRecord,
    hash_secret,
)
from domain.work import WorkItem
from infrastructure.repositories import StoreBankRepository, StoreTokenRepository
from infrastructure.repositories.work import StoreItemRepository
from infrastructure.stores import MemoryObjectStore
from interfaces.bootstrap import memory_services
from interfaces.mcp import build_mcp_server
from interfaces.metrics import Metrics

BOOTSTRAP_KEY = "Zq8vN3kR7tW1yB5mX9pL2cF6hJ4dS0aGuE"
SPACE = "alpha"
OTHER = "beta"
ROLES = ("none", "read", "write", "manage", "admin", "other_space", "revoked", "expired")


@attrs.frozen
class Deployment:
    """Services over a memory store, seeded with two spaces, a note, a bank file, a
    backup, and a token secret per role."""

    services: Services
    tokens: dict[str, str | None]
    backup_id: str
    victim_token_id: str
    job_id: str
    item_id: str

    @property
    def store(self) -> MemoryObjectStore:
        store = self.services.store
        assert isinstance(store, MemoryObjectStore)
        return store

    def snapshot(self) -> dict[str, bytes]:
        """Every object's bytes (the memory store's dict, read behind its back), the
        audit log left out: it records refused calls too, by design."""
        return {k: v[0] for k, v in self.store._objects.items() if not k.startswith("_system/audit/")}


async def deploy() -> Deployment:
    services = memory_services(BOOTSTRAP_KEY)
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    for space in (SPACE, OTHER):
        await services.spaces.create(admin, space, f"space {space}", "")
    tokens: dict[str, str | None] = {"none": None, "admin": BOOTSTRAP_KEY}
    for role in ("read", "write", "manage"):
        tokens[role] = (await services.auth.create(admin, f"{role}-agent", role, [SPACE])).secret
    tokens["other_space"] = (await services.auth.create(admin, "other-agent", "manage", [OTHER])).secret
    revoked = await services.auth.create(admin, "revoked-agent", "manage", [SPACE])
    await services.auth.revoke(admin, revoked.record.token_id)
    tokens["revoked"] = revoked.secret
    expired_secret = "lm_expired-secret-for-tests-000000000000000"
    expired = TokenRecord(
        token_id="e" * 16,
        name=AgentName("expired-agent"),
        token_hash=hash_secret(expired_secret),
        permission=Permission.MANAGE,
        spaces=(SPACE,),
        created_at=datetime.now(UTC) - timedelta(days=3),
        expires_at=datetime.now(UTC) - timedelta(days=1),
    )
    await StoreTokenRepository(services.store).update(lambda records: [*records, expired])
    tokens["expired"] = expired_secret
    victim = await services.auth.create(admin, "victim-agent", "read", [SPACE])
    await services.notes.write(admin, SPACE, "decision", "We store everything in S3.", ["storage"])
    await StoreBankRepository(services.store).put(
        SpaceId(SPACE), BankFile(BankFileName("progress.md"), "# Progress\n\n- storage works\n")
    )
    backup = await services.backups.create(admin, SPACE)
    job = await services.jobs.submit(admin, SPACE, agent="nobody")  # consumes nothing
    await services.jobs.drain()
    # a work item of the write agent whose note was consolidated: a record, no live note
    item = WorkItem(
        SpaceId(SPACE),
        "00c0ffee00c0ffee",
        NoteCategory.TODO,
        AgentName("write-agent"),
        datetime.now(UTC),
        "Ship",
    )
    await StoreItemRepository(services.store).add(item)
    return Deployment(
        services, tokens, f"{SPACE}/{backup.backup_id}", victim.record.token_id, job.job_id, item.item_id
    )


@asynccontextmanager
async def connect(services: Services, token: str | None) -> AsyncIterator[Client]:
    """An SDK client connected in memory to a server acting with ``token``."""
    async with Client(build_mcp_server(services, Metrics(), local_token=token)) as client:
        yield client


def error_text(result: CallToolResult) -> str:
    """``Kind: message`` of a tool error ("" when the call succeeded), read from the
    error's JSON text, whose shape it checks: ``{"status": "error", "error": Kind,
    "message": text}``. An error the SDK raised before the tool ran (its arguments did
    not match the input schema) is plain text, returned as it is."""
    if not result.is_error:
        return ""
    text = " ".join(getattr(c, "text", "") for c in result.content)
    if not text.startswith("{"):
        assert text.startswith("Error executing tool"), text
        return text
    body = json.loads(text)
    assert set(body) == {"status", "error", "message"}, body
    assert body["status"] == "error", body
    return f"{body['error']}: {body['message']}"


def payload(result: CallToolResult) -> dict[str, Any]:
    """The structured answer of a successful call."""
    assert not result.is_error, error_text(result)
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(result.content[0].text))  # type: ignore[union-attr]
