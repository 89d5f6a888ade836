"""Compatibility with clients of the public live-memory server (github Cloud-Temple/
live-memory), written from its public tool specification (DESIGN/live-mem/MCP_TOOLS_SPEC.md)
and the flows of its acceptance scripts: every result is read the way those clients read
it, as the JSON object in the result's text, errors included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from domain import SpaceId
from tests.mcp_support import BOOTSTRAP_KEY, OTHER, SPACE, connect, deploy
from tests.test_mcp_authorization import TABLE


def as_json(result: CallToolResult) -> dict[str, Any]:
    """The answer as a client of the public server reads it: the JSON in its text."""
    return dict(json.loads(result.content[0].text))  # type: ignore[union-attr]


async def call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    return as_json(await client.call_tool(tool, args))


async def test_a_refusal_is_a_tool_error_whose_text_is_a_json_error_object() -> None:
    d = await deploy()
    async with connect(d.services, d.tokens["read"]) as reader:
        refused = await reader.call_tool("live_note", {"space_id": SPACE, "category": "todo", "content": "x"})
    assert refused.is_error
    body = as_json(refused)
    assert body["status"] == "error"
    assert body["error"] == "PermissionDenied"
    assert "write" in body["message"]


async def test_health_and_whoami_carry_the_keys_client_scripts_read() -> None:
    d = await deploy()
    async with connect(d.services, d.tokens["write"]) as agent, connect(d.services, BOOTSTRAP_KEY) as admin:
        health = await call(agent, "system_health", {})
        me = await call(agent, "system_whoami", {})
        boss = await call(admin, "system_whoami", {})
    assert health["status"] in ("healthy", "degraded")
    assert (me["client_name"], me["permissions"], me["auth_type"], me["allowed_spaces"]) == (
        "write-agent",
        ["read", "write"],
        "token",
        [SPACE],
    )
    assert (boss["auth_type"], boss["permissions"]) == ("bootstrap", ["read", "write", "manage", "admin"])


async def test_two_clients_are_isolated_and_a_read_only_token_is_refused_writes() -> None:
    d = await deploy()
    admin_identity = await d.services.auth.authenticate(BOOTSTRAP_KEY)
    other_secret = (await d.services.auth.create(admin_identity, "client-b", "write", [OTHER])).secret
    async with (
        connect(d.services, d.tokens["write"]) as a,
        connect(d.services, other_secret) as b,
        connect(d.services, d.tokens["read"]) as ro,
    ):
        assert (await call(a, "live_read", {"space_id": OTHER, "limit": 10}))["status"] == "error"
        assert (await call(b, "live_read", {"space_id": SPACE, "limit": 10}))["status"] == "error"
        own = await call(a, "live_read", {"space_id": SPACE, "limit": 10})
        intrusion = await call(b, "live_note", {"space_id": SPACE, "category": "observation", "content": "x"})
        listed = await call(a, "space_list", {})
        read_only = await call(ro, "live_note", {"space_id": SPACE, "category": "todo", "content": "x"})
        ro_read = await call(ro, "bank_read_all", {"space_id": SPACE})
    assert own["status"] == "ok"
    assert own["total"] == 1
    assert own["has_more"] is False
    assert intrusion["status"] == "error"
    assert [s["space_id"] for s in listed["spaces"]] == [SPACE]
    assert (listed["spaces"][0]["notes_count"], listed["spaces"][0]["bank_files"]) == (1, 1)
    assert (read_only["status"], read_only["error"]) == ("error", "PermissionDenied")
    assert ro_read["file_count"] == 1


async def test_another_agents_notes_are_consolidated_and_the_job_reports_completed() -> None:
    d = await deploy()
    async with (
        connect(d.services, d.tokens["write"]) as writer,
        connect(d.services, d.tokens["manage"]) as lead,
    ):
        note = await call(
            writer, "live_note", {"space_id": SPACE, "category": "decision", "content": "Use S3"}
        )
        assert note["filename"].endswith(f"_write-agent_decision_{note['note_id']}.md")
        job = await call(lead, "bank_consolidate", {"space_id": SPACE, "agent": "write-agent"})
        await d.services.jobs.drain()
        status = await call(writer, "bank_consolidation_status", {"job_id": job["job_id"]})
        left = await call(writer, "live_read", {"space_id": SPACE, "agent": "write-agent"})
    assert status["status"] == "completed"
    assert status["result"]["notes_consumed"] == 1
    assert left["total"] == 0


async def test_gc_of_old_notes_dry_run_then_delete_only() -> None:
    d = await deploy()
    old = '{"timestamp": "2020-01-02T03:04:05", "agent": "ghost", "category": "todo", "content": "forgotten"}'
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        await call(admin, "admin_import_notes", {"space_id": SPACE, "jsonl": old})
        dry = await call(admin, "admin_gc_notes", {"space_id": SPACE, "older_than_days": 7})
        since_naive = await call(admin, "live_read", {"space_id": SPACE, "since": "2020-01-02T03:04:05"})
        gone = await call(
            admin,
            "admin_gc_notes",
            {"space_id": SPACE, "older_than_days": 7, "delete_only": True, "dry_run": False},
        )
        after = await call(admin, "live_read", {"space_id": SPACE})
    assert (dry["dry_run"], dry["total_old_notes"]) == (True, 1)
    assert since_naive["total"] == 2  # a naive time is UTC: the old note is at it, inclusive
    assert gone["spaces"] == [{"space_id": SPACE, "old_notes": 1, "deleted": 1}]
    assert [n["content"] for n in after["notes"]] == ["We store everything in S3."]


async def test_cleanup_by_listing_tokens_and_revoking_by_hash() -> None:
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        made = await call(
            admin, "admin_create_token", {"name": "agent-sysadmin", "permissions": "read,write"}
        )
        listed = await call(admin, "admin_list_tokens", {})
        mine = next(t for t in listed["tokens"] if t["name"] == "agent-sysadmin")
        short = await call(admin, "admin_revoke_token", {"token_hash": mine["hash"][:8]})
        revoked = await call(admin, "admin_revoke_token", {"token_hash": mine["hash"]})
        purged = await call(admin, "admin_purge_tokens", {})
        after = await call(admin, "admin_list_tokens", {})
    assert made["status"] == "created"
    assert (len(mine["hash"]), mine["permissions"]) == (16, ["read", "write"])
    assert short["status"] == "error"  # under 16 digits a prefix names nothing
    assert revoked["revoked"] is True
    assert "agent-sysadmin" in {t["name"] for t in purged["tokens"]}
    assert "agent-sysadmin" not in {t["name"] for t in after["tokens"]}


async def test_bulk_update_is_all_or_nothing() -> None:
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        tokens = {t["name"]: t for t in (await call(admin, "admin_list_tokens", {}))["tokens"]}
        pair = [tokens["read-agent"]["hash"], tokens["write-agent"]["token_hash"]]
        bad = await call(
            admin, "admin_bulk_update_tokens", {"token_hashes": [*pair, "f" * 64], "permissions": "manage"}
        )
        good = await call(
            admin, "admin_bulk_update_tokens", {"token_hashes": ",".join(pair), "space_ids": OTHER}
        )
        after = {t["name"]: t for t in (await call(admin, "admin_list_tokens", {}))["tokens"]}
    assert bad["error"] == "NotFound"
    assert after["read-agent"]["permission"] == "read"  # nothing changed by the refused call
    assert good["updated"] == 2
    assert after["read-agent"]["space_ids"] == after["write-agent"]["space_ids"] == [OTHER]


async def test_space_semantics_summary_update_delete_export_and_long_notes() -> None:
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        await call(admin, "space_update", {"space_id": SPACE, "description": "kept", "owner": ""})
        kept = await call(admin, "space_update", {"space_id": SPACE, "description": "", "owner": "lead"})
        summary = await call(admin, "space_summary", {"space_id": SPACE})
        export = await call(admin, "space_export", {"space_id": SPACE})
        longest = await call(
            admin, "live_note", {"space_id": SPACE, "category": "insight", "content": "é" * 100_000}
        )
        too_long = await call(
            admin, "live_note", {"space_id": SPACE, "category": "insight", "content": "x" * 100_001}
        )
        search = await call(admin, "live_search", {"space_id": SPACE, "query": "S3", "limit": 1})
        deleted = await call(admin, "space_delete", {"space_id": OTHER, "confirm": True})
    assert (kept["description"], kept["owner"]) == ("kept", "lead")
    assert summary["bank"] == [
        {"filename": "progress.md", "content": "# Progress\n\n- storage works\n", "size": 28}
    ]
    assert export["archive_size"] == export["size"] > 0
    assert export["files_count"] >= 3
    assert longest["status"] == "created"
    assert (too_long["status"], too_long["error"]) == ("error", "LimitExceeded")
    assert (search["total"], search["has_more"]) == (1, False)
    assert deleted["files_deleted"] == deleted["objects_deleted"] > 0


async def test_rules_update_keeps_history_and_bank_edits_go_through_journals() -> None:
    d = await deploy()
    rules = "# Rules\n\n## progress.md\nWhat happened.\n\n## decisions.md\nWhat was decided.\n"
    async with connect(d.services, BOOTSTRAP_KEY) as admin, connect(d.services, d.tokens["manage"]) as lead:
        invalid = await call(lead, "space_update_rules", {"space_id": SPACE, "rules": "   "})
        updated = await call(lead, "space_update_rules", {"space_id": SPACE, "rules": rules})
        written = await call(
            admin,
            "bank_write",
            {
                "space_id": SPACE,
                "filename": "notes.md",
                "content": "# N\n\n## A\n- one\n\n## A\n- two\n- one\n",
            },
        )
        archive = await call(
            admin, "bank_write", {"space_id": SPACE, "filename": "archive/x/2020.md", "content": "x"}
        )
        found = await call(lead, "bank_repair", {"space_id": SPACE})
        repaired = await call(lead, "bank_repair", {"space_id": SPACE, "dry_run": False})
        fixed = await call(lead, "bank_read", {"space_id": SPACE, "filename": "notes.md"})
        removed = await call(admin, "bank_delete", {"space_id": SPACE, "filename": "notes.md"})
        history = await call(lead, "bank_history", {"space_id": SPACE})
    assert invalid["error"] == "InvalidInput"
    assert updated["files"] == ["progress.md", "decisions.md"]
    kept = [k for k in d.store._objects if k.startswith(f"{SpaceId(SPACE)}/_rules_history/")]
    assert len(kept) == 1
    assert written["status"] == "ok"
    assert archive["error"] == "InvalidInput"
    assert found["repairs"] == [{"filename": "notes.md", "merged_sections": ["A"]}]
    assert found["undeclared"] == ["notes.md"]
    assert "run_id" not in found  # a dry run writes nothing
    assert fixed["content"] == "# N\n\n## A\n- one\n- two\n\n"
    assert repaired["run_id"]
    assert removed["status"] == "deleted"
    assert [r["mode"] for r in history["runs"][:3]] == [
        "manual (bank_delete)",
        "manual (bank_repair)",
        "manual (bank_write)",
    ]


async def test_queues_and_stale_spaces_for_a_dashboard() -> None:
    d = await deploy()
    async with connect(d.services, d.tokens["read"]) as reader:
        queues = await call(reader, "bank_consolidation_queues", {"space_ids": f"{SPACE},{OTHER}"})
        stale = await call(reader, "bank_stale_spaces", {"min_notes": 1, "min_age_days": 0})
        strict = await call(reader, "bank_stale_spaces", {"min_notes": 2, "min_age_days": 0})
    assert [lane["space_id"] for lane in queues["lanes"]] == [SPACE]
    assert queues["lanes"][0]["lane_state"] == "idle"
    assert queues["lanes"][0]["latest_jobs"][0]["job_id"] == d.job_id
    assert queues["denied_spaces"] == [OTHER]
    assert [s["space_id"] for s in stale["spaces"]] == [SPACE]
    assert stale["spaces"][0]["live_notes_count"] == 1
    assert strict["total_stale"] == 0


PUBLIC_TOOLS = (
    "system_health",
    "system_about",
    "system_whoami",
    "space_create",
    "space_update",
    "space_update_rules",
    "space_list",
    "space_info",
    "space_rules",
    "space_summary",
    "space_export",
    "space_delete",
    "live_note",
    "live_read",
    "live_search",
    "bank_read",
    "bank_read_all",
    "bank_list",
    "bank_consolidate",
    "bank_consolidation_status",
    "bank_consolidation_queues",
    "bank_stale_spaces",
    "bank_compact",
    "bank_repair",
    "bank_write",
    "bank_delete",
    "backup_create",
    "backup_list",
    "backup_restore",
    "backup_download",
    "backup_delete",
    "admin_create_token",
    "admin_list_tokens",
    "admin_revoke_token",
    "admin_delete_token",
    "admin_purge_tokens",
    "admin_update_token",
    "admin_bulk_update_tokens",
    "admin_gc_notes",
)
"""Every tool of the public server's permission matrix but the graph-memory bridge."""


@pytest.mark.parametrize("tool", PUBLIC_TOOLS)
async def test_every_public_tool_exists_and_answers_a_json_object_with_a_status(tool: str) -> None:
    d = await deploy()
    if tool == "backup_restore":  # its space must not exist: restore what was deleted
        admin_identity = await d.services.auth.authenticate(BOOTSTRAP_KEY)
        await d.services.spaces.delete(admin_identity, SPACE, confirm=True)
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        args = TABLE[tool][2](d)
        if tool == "space_create":  # the matrix aims at an existing space; here a new one
            args = {"space_id": "gamma", "description": "new"}
        answer = await call(admin, tool, args)
    assert answer["status"] in ("ok", "created", "deleted", "accepted", "healthy", "completed"), answer
