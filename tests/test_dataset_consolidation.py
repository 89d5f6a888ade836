"""The shared dataset (600 notes, 148 authors) consolidated end to end in extractive mode
on the local directory store: every note lands in exactly one bank file the rules define."""

from __future__ import annotations

from pathlib import Path

from application.consolidation import ExtractivePlanner
from domain import SpaceRules
from infrastructure.stores import FileSystemObjectStore
from ops.dataset import RULES_FILE, load_notes
from tests.consolidation_support import KEY, FakeClock, services_over

SPACE = "mcp-python-sdk"


async def test_the_dataset_consolidates_with_every_note_in_exactly_one_file(tmp_path: Path) -> None:
    rows = load_notes()
    clock = FakeClock(rows[0]["at"])
    services = services_over(FileSystemObjectStore(tmp_path), clock, ExtractivePlanner())
    admin = await services.auth.authenticate(KEY)
    rules = RULES_FILE.read_text(encoding="utf-8")
    await services.spaces.create(admin, SPACE, "MCP Python SDK", rules)
    writers = {}
    for name in sorted({r["agent_name"] for r in rows}):
        secret = (await services.auth.create(admin, name, "write", [SPACE])).secret
        writers[name] = await services.auth.authenticate(secret)
    for row in rows:
        clock.now_value = row["at"]
        await services.notes.write(writers[row["agent_name"]], SPACE, row["category"], row["content"])
    assert (await services.notes.read(admin, SPACE)).total_matching == 600

    job = await services.consolidation.submit(admin, SPACE)
    await services.consolidation.drain()
    done = await services.consolidation.status(admin, job.job_id)
    assert done.state.value == "succeeded", done.error
    assert done.report is not None
    assert done.report["notes_consumed"] == 600

    files = {f.name.value: f.content for f in await services.bank.read_all(admin, SPACE)}
    declared = {n.value for n in SpaceRules(rules).file_names()}
    assert set(files) <= declared
    for row in rows:
        first_line = row["content"].strip().splitlines()[0]
        holders = [name for name, text in files.items() if first_line in text]
        assert len(holders) == 1, (first_line, holders)
    assert (await services.notes.read(admin, SPACE)).total_matching == 0
