"""Every tool through the SDK's client connected in memory: what each one answers."""

from __future__ import annotations

import base64
import io
import logging
import tarfile

import pytest

from tests.mcp_support import BOOTSTRAP_KEY, SPACE, connect, deploy, error_text, payload


async def test_system_tools() -> None:
    d = await deploy()
    async with connect(d.services, d.tokens["write"]) as client:
        health = payload(await client.call_tool("system_health", {}))
        about = payload(await client.call_tool("system_about", {}))
        me = payload(await client.call_tool("system_whoami", {}))
    assert health["status"] == "healthy"
    assert health["llm"] == "extractive (no model)"
    assert health["embeddings"] is None  # semantic search is off
    assert about["tools_count"] == 51
    assert {"live_note", "bank_read_all", "admin_create_token"} <= {t["name"] for t in about["tools"]}
    assert me == {
        "status": "ok",
        "name": "write-agent",
        "client_name": "write-agent",
        "permission": "write",
        "permissions": ["read", "write"],
        "auth_type": "token",
        "space_ids": [SPACE],
        "allowed_spaces": [SPACE],
    }


async def test_space_lifecycle() -> None:
    d = await deploy()
    rules = "# Rules\n\n## brief.md\nWhat it is.\n\n## log.md\nWhat happened.\n"
    async with connect(d.services, BOOTSTRAP_KEY) as client:
        created = payload(
            await client.call_tool(
                "space_create",
                {"space_id": "gamma", "description": "third", "rules": rules, "owner": "alice"},
            )
        )
        listed = payload(await client.call_tool("space_list", {}))
        info = payload(await client.call_tool("space_info", {"space_id": SPACE}))
        got_rules = payload(await client.call_tool("space_rules", {"space_id": "gamma"}))
        summary = payload(await client.call_tool("space_summary", {"space_id": SPACE}))
        updated = payload(await client.call_tool("space_update", {"space_id": "gamma", "description": "3rd"}))
        exported = payload(await client.call_tool("space_export", {"space_id": SPACE}))
        refused = await client.call_tool("space_delete", {"space_id": "gamma"})
        deleted = payload(await client.call_tool("space_delete", {"space_id": "gamma", "confirm": True}))
        after = payload(await client.call_tool("space_list", {}))
    assert (created["status"], created["owner"]) == ("created", "alice")
    assert [s["space_id"] for s in listed["spaces"]] == ["alpha", "beta", "gamma"]
    assert info["live"]["notes_count"] == 1
    assert info["embeddings"] is None
    assert info["bank"]["files"] == ["progress.md"]
    assert got_rules["files"] == ["brief.md", "log.md"]
    assert "## projectContext.md" in summary["rules"]
    assert summary["bank_files"] == [{"filename": "progress.md", "size": 28}]
    assert updated["description"] == "3rd"
    names = _members(exported["archive_base64"])
    assert {"alpha/_meta.json", "alpha/_rules.md", "alpha/bank/progress.md"} <= set(names)
    assert "confirm=true" in error_text(refused)
    assert deleted["status"] == "deleted"
    assert [s["space_id"] for s in after["spaces"]] == ["alpha", "beta"]


async def test_live_notes_write_read_page_and_search() -> None:
    d = await deploy()
    async with connect(d.services, d.tokens["write"]) as client:
        for i in range(5):
            payload(
                await client.call_tool(
                    "live_note",
                    {
                        "space_id": SPACE,
                        "category": "todo" if i % 2 else "insight",
                        "content": f"item {i}",
                        "tags": "alpha-tag, b",
                    },
                )
            )
        wrong_agent = await client.call_tool(
            "live_note", {"space_id": SPACE, "category": "todo", "content": "x", "agent": "someone-else"}
        )
        bad_category = await client.call_tool(
            "live_note", {"space_id": SPACE, "category": "gossip", "content": "x"}
        )
        first = payload(await client.call_tool("live_read", {"space_id": SPACE, "limit": 2}))
        second = payload(
            await client.call_tool(
                "live_read", {"space_id": SPACE, "limit": 2, "cursor": first["next_cursor"]}
            )
        )
        todos = payload(await client.call_tool("live_read", {"space_id": SPACE, "category": "todo"}))
        mine = payload(await client.call_tool("live_read", {"space_id": SPACE, "agent": "write-agent"}))
        found = payload(await client.call_tool("live_search", {"space_id": SPACE, "query": "ITEM 3"}))
        by_tag = payload(await client.call_tool("live_search", {"space_id": SPACE, "query": "alpha-tag"}))
    assert "InvalidInput" in error_text(wrong_agent)
    assert "invalid note category" in error_text(bad_category)
    assert [n["content"] for n in first["notes"]] == ["item 4", "item 3"]
    assert [n["content"] for n in second["notes"]] == ["item 2", "item 1"]
    assert first["total"] == 6
    assert [n["content"] for n in todos["notes"]] == ["item 3", "item 1"]
    assert mine["total"] == 5
    assert found["notes"][0]["content"] == "item 3"  # ranked: the note with both words first
    assert by_tag["count"] == 5
    assert first["notes"][0]["tags"] == ["alpha-tag", "b"]


async def test_bank_tools_and_resources() -> None:
    d = await deploy()
    async with connect(d.services, d.tokens["read"]) as client:
        one = payload(await client.call_tool("bank_read", {"space_id": SPACE, "filename": "progress.md"}))
        every = payload(await client.call_tool("bank_read_all", {"space_id": SPACE}))
        listing = payload(await client.call_tool("bank_list", {"space_id": SPACE}))
        missing = await client.call_tool("bank_read", {"space_id": SPACE, "filename": "nope.md"})
        escape = await client.call_tool("bank_read", {"space_id": SPACE, "filename": "../beta/_meta.json"})
        resource = await client.read_resource(f"livemem://{SPACE}/bank/progress.md")
    assert one["content"].startswith("# Progress")
    assert [f["filename"] for f in every["files"]] == ["progress.md"]
    assert listing["files"] == [{"filename": "progress.md", "size": 28, "archived": False}]
    assert "NotFound" in error_text(missing)
    assert "InvalidInput" in error_text(escape)
    assert resource.contents[0].text.startswith("# Progress")  # type: ignore[union-attr]


async def test_backup_lifecycle() -> None:
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as client:
        created = payload(await client.call_tool("backup_create", {"space_id": SPACE}))
        listed = payload(await client.call_tool("backup_list", {}))
        archive = payload(await client.call_tool("backup_download", {"backup_id": created["backup_id"]}))
        clash = await client.call_tool("backup_restore", {"backup_id": created["backup_id"], "confirm": True})
        restored = payload(
            await client.call_tool(
                "backup_restore",
                {"backup_id": created["backup_id"], "confirm": True, "target_space_id": "alpha-copy"},
            )
        )
        copied = payload(await client.call_tool("live_read", {"space_id": "alpha-copy"}))
        bank = payload(await client.call_tool("bank_read_all", {"space_id": "alpha-copy"}))
        deleted = payload(
            await client.call_tool("backup_delete", {"backup_id": created["backup_id"], "confirm": True})
        )
        remaining = payload(await client.call_tool("backup_list", {"space_id": SPACE}))
    assert created["objects"] == 5  # meta, rules, one note, one bank file, one work item
    assert len(listed["backups"]) == 2  # the seeded one and this one
    names = _members(archive["archive_base64"])
    assert "alpha/bank/progress.md" in names
    assert "AlreadyExists" in error_text(clash)
    assert restored["objects_restored"] == 5
    assert [n["content"] for n in copied["notes"]] == ["We store everything in S3."]
    assert bank["files"][0]["content"].startswith("# Progress")
    assert deleted["status"] == "deleted"
    assert [b["backup_id"] for b in remaining["backups"]] == [d.backup_id]


async def test_admin_token_lifecycle_and_the_new_token_works() -> None:
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as client:
        created = payload(
            await client.call_tool(
                "admin_create_token", {"name": "cline-dev", "permissions": "read,write", "space_ids": SPACE}
            )
        )
        listed = payload(await client.call_tool("admin_list_tokens", {}))
        updated = payload(
            await client.call_tool(
                "admin_update_token", {"token_hash": created["token_hash"], "permissions": "manage"}
            )
        )
    assert created["token"].startswith("lm_")
    assert created["permission"] == "write"
    assert all("token" not in t for t in listed["tokens"])
    assert updated["permission"] == "manage"
    async with connect(d.services, created["token"]) as agent:
        me = payload(await agent.call_tool("system_whoami", {}))
        assert me["name"] == "cline-dev"
    async with connect(d.services, BOOTSTRAP_KEY) as client:
        payload(await client.call_tool("admin_revoke_token", {"token_hash": created["token_id"]}))
    async with connect(d.services, created["token"]) as agent:
        assert "AuthenticationFailed" in error_text(await agent.call_tool("system_whoami", {}))
    async with connect(d.services, BOOTSTRAP_KEY) as client:
        gone = payload(await client.call_tool("admin_delete_token", {"token_hash": created["token_id"]}))
        again = await client.call_tool("admin_delete_token", {"token_hash": created["token_id"]})
    assert gone["status"] == "deleted"
    assert "NotFound" in error_text(again)


async def test_every_tool_has_a_docstring_agents_can_read() -> None:
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as client:
        tools = (await client.list_tools()).tools
    short = [t.name for t in tools if not t.description or len(t.description) < 60]
    assert short == []


def _members(archive_base64: str) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(archive_base64))) as archive:
        return archive.getnames()


async def test_a_bank_file_that_is_not_utf8_is_named_as_corrupt_not_as_bad_input() -> None:
    d = await deploy()
    await d.services.store.put(f"{SPACE}/bank/broken.md", b"# ok\n\xff\xfe not text")
    async with connect(d.services, d.tokens["read"]) as client:
        result = await client.call_tool("bank_read", {"space_id": SPACE, "filename": "broken.md"})
    text = error_text(result)
    assert "CorruptObject:" in text
    assert "broken.md is not valid UTF-8" in text
    assert "invalid parameters" not in text


async def test_a_refused_resource_read_is_a_clean_error_counted_in_metrics(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mcp import Client

    from interfaces.mcp import build_mcp_server
    from interfaces.metrics import Metrics

    d = await deploy()
    metrics = Metrics()
    server = build_mcp_server(d.services, metrics, local_token=d.tokens["other_space"])
    with caplog.at_level(logging.DEBUG):
        async with Client(server) as client:
            with pytest.raises(Exception, match="PermissionDenied: token other-agent has no access"):
                await client.read_resource(f"livemem://{SPACE}/bank/progress.md")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert 'livemem_tool_calls_total{outcome="PermissionDenied",tool="resource:bank_file"} 1.0' in (
        metrics.render().decode()
    )
