"""What clients of the public live-memory server expect (first hour, items 11-16): rules
without bank files are accepted with the default files added, a restricted token gains
the space it creates, an existing space answers ``already_exists``, an admin sees the
backups of deleted spaces, and an unknown parameter is refused instead of ignored."""

from __future__ import annotations

from tests.mcp_support import BOOTSTRAP_KEY, OTHER, SPACE, connect, deploy, error_text, payload


async def test_rules_that_declare_no_bank_file_get_the_default_files_and_say_so() -> None:
    deployment = await deploy()
    rules = "# Our rules\n\nBe brief. Never store secrets.\n"
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        made = payload(await client.call_tool("space_create", {"space_id": "gamma", "rules": rules}))
        shown = payload(await client.call_tool("space_rules", {"space_id": "gamma"}))
        updated = payload(await client.call_tool("space_update_rules", {"space_id": SPACE, "rules": rules}))
    assert made["status"] == "created"
    assert made["default_files_added"] == [
        "projectContext.md",
        "decisions.md",
        "activeContext.md",
        "progress.md",
    ]
    text = shown.get("rules") or shown.get("content") or str(shown)
    assert "Never store secrets." in text
    assert "## progress.md" in text
    assert updated["files"] == made["default_files_added"]


async def test_a_restricted_manage_token_can_use_the_space_it_creates() -> None:
    deployment = await deploy()
    async with connect(deployment.services, deployment.tokens["manage"]) as client:
        made = payload(await client.call_tool("space_create", {"space_id": "gamma"}))
        note = await client.call_tool("live_note", {"space_id": "gamma", "category": "todo", "content": "x"})
        others = await client.call_tool("space_create", {"space_id": OTHER})
    assert made["status"] == "created"
    assert not error_text(note)
    assert "PermissionDenied" in error_text(others)  # an existing space it cannot use
    me = await deployment.services.auth.authenticate(str(deployment.tokens["manage"]))
    assert me.spaces == (SPACE, "gamma")


async def test_creating_an_existing_space_answers_already_exists() -> None:
    deployment = await deploy()
    before = deployment.snapshot()
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        again = payload(await client.call_tool("space_create", {"space_id": SPACE, "description": "again"}))
    assert again["status"] == "already_exists"
    assert again["space_id"] == SPACE
    assert deployment.snapshot() == before


async def test_an_unknown_parameter_is_refused_and_nothing_runs() -> None:
    deployment = await deploy()
    before = deployment.snapshot()
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        result = await client.call_tool("admin_gc_notes", {"max_age_days": 0, "confirm": True})
    text = error_text(result)
    assert text.startswith("InvalidInput: admin_gc_notes takes no parameter confirm, max_age_days")
    assert "older_than_days" in text
    assert deployment.snapshot() == before


async def test_an_admin_lists_the_backups_of_deleted_spaces_without_naming_them() -> None:
    deployment = await deploy()
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        await client.call_tool("backup_create", {"space_id": OTHER})
        await client.call_tool("space_delete", {"space_id": OTHER, "confirm": True})
        listed = payload(await client.call_tool("backup_list", {}))
    async with connect(deployment.services, deployment.tokens["read"]) as reader:
        theirs = payload(await reader.call_tool("backup_list", {}))
    assert {b["space_id"] for b in listed["backups"]} == {SPACE, OTHER}
    assert {b["space_id"] for b in theirs["backups"]} == {SPACE}
