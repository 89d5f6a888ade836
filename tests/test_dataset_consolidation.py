"""The shared dataset (600 notes, 148 authors) consolidated end to end in extractive mode
on the local directory store, notes stamped with their own timestamps: the hot bank is
bounded and current, and every note is in the archive in full."""

from __future__ import annotations

import re
from pathlib import Path

from application.consolidation import ExtractivePlanner
from domain import SpaceId, SpaceRules
from domain.consolidation import estimate_tokens
from infrastructure.repositories import StoreBankRepository
from infrastructure.stores import FileSystemObjectStore
from infrastructure.topics import TfidfTopics
from ops.dataset import RULES_FILE, load_notes
from tests.consolidation_support import KEY, FakeClock, services_over

SPACE = "mcp-python-sdk"


async def test_the_dataset_gives_a_bounded_current_bank_and_a_complete_archive(tmp_path: Path) -> None:
    rows = load_notes()
    clock = FakeClock(rows[0]["at"])
    services = services_over(FileSystemObjectStore(tmp_path), clock, ExtractivePlanner(TfidfTopics()))
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

    job = await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    done = await services.jobs.status(admin, job.job_id)
    assert done.state.value == "succeeded", done.error
    assert done.report is not None
    assert done.report.notes_consumed == 600
    assert (await services.notes.read(admin, SPACE)).total_matching == 0

    files = {f.name.value: f.content for f in await services.bank.read_all(admin, SPACE)}
    declared = {n.value for n in SpaceRules(rules).file_names()}
    assert set(files) == declared  # all six files exist
    assert all(text.strip() for text in files.values())
    assert sum(estimate_tokens(text) for text in files.values()) <= 8000
    assert done.report.hot_tokens == sum(estimate_tokens(text) for text in files.values())

    active = files["activeContext.md"]
    assert len(active.splitlines()) <= 40
    for row in rows[-10:]:
        first = row["content"].strip().splitlines()[0]
        assert first[:60] in active, first
    weeks = {f"{a.isocalendar()[0]}-W{a.isocalendar()[1]:02d}" for a in (r["at"] for r in rows)}
    shown = set(re.findall(r"^## (\d{4}-W\d{2})$", files["progress.md"], flags=re.MULTILINE))
    summarised = set(
        re.findall(r"^- (\d{4}-W\d{2}): \d+ notes? by", files["progress.md"], flags=re.MULTILINE)
    )
    assert shown
    assert shown <= weeks
    assert summarised <= weeks
    assert "| `" in files["projectbrief.md"]  # the topic map

    archive = await StoreBankRepository(services.store).get_archive(SpaceId(SPACE))
    text = "\n".join(f.content for f in archive)
    headers = re.findall(r"^### \S+ · \S+ · [a-z]+ · ([0-9a-f]+)", text, flags=re.MULTILINE)
    assert len(headers) == len(set(headers)) == 600
    hot = "\n".join(files.values())
    known_refs = {ref for row in rows for ref in re.findall(r"#\d+\b", row["content"])}
    assert set(re.findall(r"(?<![\w&])#\d+\b", hot)) <= known_refs
