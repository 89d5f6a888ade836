"""The newcomer story of the issue 'the team's work', end to end over MCP: three agents
write, claim, finish and answer; consolidation's activeContext.md then lists exactly the
open items, the blocker first, and says how many more there are when they do not fit.
Item states survive consolidation and a backup/restore."""

from __future__ import annotations

from typing import Any

from mcp import Client

from application.services import Services
from interfaces.bootstrap import memory_services
from tests.mcp_support import BOOTSTRAP_KEY, connect, error_text

SPACE = "newcomer"
RULES = (
    "# Rules\n\n## decisions.md\nOne entry per decision.\n\n"
    "## progress.md\nWhat is done, as a dated log.\n\n"
    "## activeContext.md\nWhat is worked on now: open items and next steps, at most 16 lines.\n"
)


async def _call(client: Client, tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert not error_text(result), error_text(result)
    return result.structured_content or {}


async def _team() -> tuple[Services, dict[str, str]]:
    services = memory_services(BOOTSTRAP_KEY)
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.spaces.create(admin, SPACE, "three agents", RULES)
    tokens = {
        n: (await services.auth.create(admin, n, "write", [SPACE])).secret for n in ("alice", "bob", "carol")
    }
    return services, tokens


async def _consolidate(services: Services) -> dict[str, str]:
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    job = await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    assert (await services.jobs.status(admin, job.job_id)).state.value == "succeeded"
    return {f.name.value: f.content for f in await services.bank.read_all(admin, SPACE)}


def _open_items(active: str) -> list[str]:
    section = active.split("## Open items", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("- ")]


async def test_the_newcomer_story_open_items_tell_the_truth() -> None:
    services, tokens = await _team()
    async with (
        connect(services, tokens["alice"]) as alice,
        connect(services, tokens["bob"]) as bob,
        connect(services, tokens["carol"]) as carol,
    ):
        guide = await _call(
            alice, "live_note", space_id=SPACE, category="todo", content="Write the upgrade guide"
        )
        python = await _call(bob, "live_note", space_id=SPACE, category="question", content="Which Python?")
        for n in range(12):
            await _call(carol, "live_note", space_id=SPACE, category="todo", content=f"Port module {n} to v2")
        blocker = await _call(
            carol, "live_note", space_id=SPACE, category="issue", content="CI is red on main"
        )
        await _call(alice, "live_note", space_id=SPACE, category="decision", content="We target v2 only")

        claimed = await _call(bob, "work_claim", space_id=SPACE, resource=guide["note_id"])
        assert claimed["holder"] == "bob"
        refused = await alice.call_tool("work_claim", {"space_id": SPACE, "resource": guide["note_id"]})
        assert "claimed by bob until" in error_text(refused)
        assert (await _call(bob, "work_done", space_id=SPACE, item_id=guide["note_id"], outcome="In docs/"))[
            "status"
        ] == "done"
        answer = await _call(
            alice,
            "live_note",
            space_id=SPACE,
            category="decision",
            content=f"3.12. answers:{python['note_id']}",
        )
        assert answer["settled_items"] == [python["note_id"]]
        await _call(carol, "work_claim", space_id=SPACE, resource=blocker["note_id"])

        listed = await _call(alice, "work_items", space_id=SPACE, limit=200)
        assert listed["total"] == 13
        team = await _call(alice, "work_presence", space_id=SPACE)
        assert {a["agent"] for a in team["agents"]} == {"alice", "bob", "carol"}

    files = await _consolidate(services)
    active = files["activeContext.md"]
    lines = _open_items(active)
    assert "CI is red on main" in lines[0]
    assert "claimed by carol" in lines[0]
    assert "Write the upgrade guide" not in active.split("## Recent changes")[0]
    assert "Which Python?" not in active.split("## Recent changes")[0]
    shown = len(lines) - 1
    assert lines[-1] == f"- … and {13 - shown} more open items: `work_items` lists them all."
    assert 0 < shown < 13
    assert len(active.split("\n## Archive")[0].splitlines()) <= 16  # the archive's pointers come after
    assert "Done: Write the upgrade guide" in files["progress.md"]


async def test_item_states_survive_consolidation_and_a_backup_restore() -> None:
    services, tokens = await _team()
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    alice = await services.auth.authenticate(tokens["alice"])
    todo = await services.notes.write(alice, SPACE, "todo", "Keep me open")
    finished = await services.notes.write(alice, SPACE, "todo", "Finish me")
    await services.work.finish(alice, SPACE, finished.note_id, "finished")
    await _consolidate(services)
    assert (await services.notes.read(admin, SPACE)).total_matching == 0  # the notes went to the archive

    def states(page: Any) -> dict[str, str]:
        return {v.item.item_id: v.state for v in page.items}

    expected = {todo.note_id: "open", finished.note_id: "done"}
    assert states(await services.work.list_items(admin, SPACE, state="all")) == expected
    backup = await services.backups.create(admin, SPACE)
    await services.work.finish(alice, SPACE, todo.note_id, "finished after the backup")
    await services.spaces.delete(admin, SPACE, confirm=True)
    await services.backups.restore(admin, SPACE, backup.backup_id, SPACE)
    assert states(await services.work.list_items(admin, SPACE, state="all")) == expected
    assert (await services.work.claim(alice, SPACE, todo.note_id)).holder.value == "alice"
