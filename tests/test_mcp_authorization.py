"""The authorization matrix, generated from one table: every tool called as every kind of
caller; each cell is allowed or denied as the permission ladder says, and a denied call
changes nothing in the store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from domain import Permission
from tests.mcp_support import BOOTSTRAP_KEY, OTHER, ROLES, SPACE, Deployment, connect, deploy, error_text

Args = Callable[[Deployment], dict[str, Any]]

# tool -> (permission it needs, whether it acts on the space SPACE, arguments)
TABLE: dict[str, tuple[Permission, bool, Args]] = {
    "system_health": (Permission.READ, False, lambda d: {}),
    "system_about": (Permission.READ, False, lambda d: {}),
    "system_whoami": (Permission.READ, False, lambda d: {}),
    "space_create": (Permission.MANAGE, True, lambda d: {"space_id": SPACE, "description": "again"}),
    "space_list": (Permission.READ, False, lambda d: {}),
    "space_info": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "space_rules": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "space_summary": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "space_update": (Permission.MANAGE, True, lambda d: {"space_id": SPACE, "description": "changed"}),
    "space_delete": (Permission.MANAGE, True, lambda d: {"space_id": SPACE, "confirm": True}),
    "space_export": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "live_note": (Permission.WRITE, True, lambda d: {"space_id": SPACE, "category": "todo", "content": "x"}),
    "live_read": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "live_search": (Permission.READ, True, lambda d: {"space_id": SPACE, "query": "s3"}),
    "memory_search": (Permission.READ, True, lambda d: {"space_id": SPACE, "query": "s3", "scope": "all"}),
    "bank_read": (Permission.READ, True, lambda d: {"space_id": SPACE, "filename": "progress.md"}),
    "bank_read_all": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "bank_list": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "bank_consolidate": (Permission.WRITE, True, lambda d: {"space_id": SPACE}),
    "bank_compact": (Permission.MANAGE, True, lambda d: {"space_id": SPACE}),
    "bank_consolidation_status": (Permission.READ, True, lambda d: {"job_id": d.job_id}),
    "bank_history": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "backup_create": (Permission.MANAGE, True, lambda d: {"space_id": SPACE}),
    "backup_list": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "backup_restore": (Permission.MANAGE, True, lambda d: {"backup_id": d.backup_id, "confirm": True}),
    "backup_download": (Permission.READ, True, lambda d: {"backup_id": d.backup_id}),
    "backup_delete": (Permission.MANAGE, True, lambda d: {"backup_id": d.backup_id, "confirm": True}),
    "admin_create_token": (Permission.ADMIN, False, lambda d: {"name": "new-agent", "permissions": "read"}),
    "admin_list_tokens": (Permission.ADMIN, False, lambda d: {}),
    "admin_update_token": (
        Permission.ADMIN,
        False,
        lambda d: {"token_hash": d.victim_token_id, "permissions": "write"},
    ),
    "admin_revoke_token": (Permission.ADMIN, False, lambda d: {"token_hash": d.victim_token_id}),
    "admin_delete_token": (Permission.ADMIN, False, lambda d: {"token_hash": d.victim_token_id}),
    "admin_audit_log": (Permission.ADMIN, False, lambda d: {}),
    "space_update_rules": (
        Permission.MANAGE,
        True,
        lambda d: {"space_id": SPACE, "rules": "# Rules\n\n## progress.md\nWhat happened.\n"},
    ),
    "bank_write": (
        Permission.ADMIN,
        True,
        lambda d: {"space_id": SPACE, "filename": "progress.md", "content": "# Progress\n"},
    ),
    "bank_delete": (Permission.ADMIN, True, lambda d: {"space_id": SPACE, "filename": "progress.md"}),
    "bank_repair": (Permission.MANAGE, True, lambda d: {"space_id": SPACE, "dry_run": False}),
    "bank_consolidation_queues": (Permission.READ, False, lambda d: {}),
    "bank_stale_spaces": (Permission.READ, False, lambda d: {"min_notes": 1, "min_age_days": 0}),
    "admin_gc_notes": (Permission.ADMIN, True, lambda d: {"space_id": SPACE, "older_than_days": 0}),
    "admin_purge_tokens": (Permission.ADMIN, False, lambda d: {}),
    "admin_break_lease": (Permission.ADMIN, True, lambda d: {"space_id": SPACE, "confirm": True}),
    "admin_bulk_update_tokens": (
        Permission.ADMIN,
        False,
        lambda d: {"token_hashes": d.victim_token_id, "permissions": "write"},
    ),
    "work_items": (Permission.READ, True, lambda d: {"space_id": SPACE, "state": "all"}),
    "memory_context": (Permission.READ, True, lambda d: {"space_id": SPACE, "task": "storage"}),
    "work_presence": (Permission.READ, True, lambda d: {"space_id": SPACE}),
    "work_claim": (Permission.WRITE, True, lambda d: {"space_id": SPACE, "resource": "file:src/app.py"}),
    "work_release": (Permission.WRITE, True, lambda d: {"space_id": SPACE, "resource": "file:src/app.py"}),
    "work_done": (
        Permission.WRITE,
        True,
        lambda d: {"space_id": SPACE, "item_id": d.item_id, "outcome": "y"},
    ),
    "work_drop": (Permission.WRITE, True, lambda d: {"space_id": SPACE, "item_id": d.item_id, "reason": "x"}),
    "admin_import_notes": (
        Permission.ADMIN,
        True,
        lambda d: {
            "space_id": SPACE,
            "jsonl": '{"timestamp": "2025-01-02T03:04:05Z", "agent": "old", "category": "todo", '
            '"content": "x"}',
        },
    ),
}

LEVEL = {
    "read": Permission.READ,
    "write": Permission.WRITE,
    "manage": Permission.MANAGE,
    "admin": Permission.ADMIN,
    "other_space": Permission.MANAGE,
}


def expected_allowed(role: str, needed: Permission, on_space: bool) -> bool:
    """The rule under test, stated once: a valid token with enough permission on the space."""
    if role not in LEVEL:
        return False  # no token, revoked, expired
    if on_space and role == "other_space":
        return False  # its token names only OTHER
    return LEVEL[role] >= needed


def test_the_table_covers_every_tool() -> None:
    import asyncio

    from mcp import Client

    from interfaces.bootstrap import memory_services
    from interfaces.mcp import build_mcp_server
    from interfaces.metrics import Metrics

    async def names() -> set[str]:
        async with Client(build_mcp_server(memory_services(), Metrics())) as client:
            return {t.name for t in (await client.list_tools()).tools}

    assert set(TABLE) == asyncio.run(names())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("tool", sorted(TABLE))
async def test_authorization_cell(tool: str, role: str) -> None:
    needed, on_space, args = TABLE[tool]
    deployment = await deploy()
    before = deployment.snapshot()
    async with connect(deployment.services, deployment.tokens[role]) as client:
        result = await client.call_tool(tool, args(deployment))
    text = error_text(result)
    denied = "PermissionDenied:" in text or "AuthenticationFailed:" in text
    if expected_allowed(role, needed, on_space):
        assert not denied, f"{tool} as {role} was refused: {text}"
    else:
        assert denied, f"{tool} as {role} was not refused: {text or 'it succeeded'}"
        assert deployment.snapshot() == before, f"{tool} as {role} changed the store while refused"


async def test_space_list_shows_only_the_callers_spaces() -> None:
    deployment = await deploy()
    async with connect(deployment.services, deployment.tokens["other_space"]) as client:
        result = await client.call_tool("space_list", {})
    assert [s["space_id"] for s in result.structured_content["spaces"]] == [OTHER]


async def test_an_admin_token_limited_to_one_space_cannot_use_another() -> None:
    from domain import AgentName, Identity, SpaceId

    deployment = await deploy()
    admin = await deployment.services.auth.authenticate(BOOTSTRAP_KEY)
    issued = await deployment.services.auth.create(admin, "beta-admin", "admin", [OTHER])
    async with connect(deployment.services, issued.secret) as client:
        refused = await client.call_tool("bank_read_all", {"space_id": SPACE})
        allowed = await client.call_tool("bank_read_all", {"space_id": OTHER})
        listed = await client.call_tool("space_list", {})
    assert "PermissionDenied:" in error_text(refused)
    assert not error_text(allowed)
    assert [s["space_id"] for s in listed.structured_content["spaces"]] == [OTHER]
    assert not Identity(AgentName("a"), Permission.ADMIN, (OTHER,)).can_use(SpaceId(SPACE))


def test_the_tools_permissions_are_the_matrixs() -> None:
    from interfaces.mcp.catalog import TOOL_PERMISSIONS

    assert {tool: needed for tool, (needed, _, _) in TABLE.items()} == TOOL_PERMISSIONS


@pytest.mark.parametrize("role", ["read", "write", "manage", "admin"])
async def test_tools_list_offers_each_token_the_tools_its_permission_can_use(role: str) -> None:
    """Issue 'what an agent pays': a read token was offered all 44 tools (28 KB)."""
    deployment = await deploy()
    async with connect(deployment.services, deployment.tokens[role]) as client:
        offered = {t.name for t in (await client.list_tools()).tools}
    assert offered == {tool for tool, (needed, _, _) in TABLE.items() if LEVEL[role] >= needed}
    if role == "read":
        assert "live_note" not in offered
        assert "bank_read_all" in offered


async def test_tools_list_descriptions_are_one_line_and_schemas_carry_no_titles() -> None:
    """What an agent pays: docstring indentation, pydantic's schema titles and output
    schemas that said only "an object" were about a third of tools/list's bytes."""
    deployment = await deploy()
    async with connect(deployment.services, deployment.tokens["admin"]) as client:
        tools = (await client.list_tools()).tools
    assert all("\n" not in (t.description or "") and "  " not in (t.description or "") for t in tools)
    assert all("title" not in t.input_schema for t in tools)
    assert all(t.output_schema is None for t in tools)  # each said only "an object"
    assert all("title" not in p for t in tools for p in t.input_schema.get("properties", {}).values())
    note = next(t for t in tools if t.name == "live_note")
    assert set(note.input_schema["properties"]) == {"space_id", "category", "content", "agent", "tags"}
