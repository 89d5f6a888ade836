"""The scale run of the bank budget: the shared dataset imported ten times, each copy's
timestamps shifted by one more year (6,000 notes over twelve years), consolidated after
each import, extractive mode. After each round it records the tokens ``bank_read_all``
hands an agent, beside the tokens the former append-only policy (one verbatim bullet per
note, nothing ever leaves) would hand out for the same notes, computed in the same run.

    python -m ops.scale [--rounds 10] [--store memory|local]

It checks what the budget promises and exits 1 if any check fails: the hot bank stays
within ``BANK_BUDGET_TOKENS``; every note id is in exactly one committed journal; every
note's first line is in the hot bank or the archive; no ``#N`` in the hot bank that no
note has.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from application.consolidation import ExtractivePlanner
from application.store import ObjectStore
from domain import BankFileName, Note, SpaceId, SpaceRules
from domain.consolidation import Document, OpKind, RoutingTable, estimate_tokens, extractive_plan
from domain.imports import parse_import
from infrastructure.repositories import StoreBankRepository
from infrastructure.repositories.consolidation import StoreJournalRepository
from infrastructure.settings import Settings
from infrastructure.stores import FileSystemObjectStore, MemoryObjectStore
from infrastructure.topics import TfidfTopics
from interfaces.bootstrap import build_services
from ops.dataset import NOTES_FILE, RULES_FILE

SPACE = "scale"
KEY = "scale-run-bootstrap-key-0123456789abcdef"
_REF = re.compile(r"(?<![\w&])#\d+\b")


@attrs.frozen
class ScaleRound:
    """One round: notes so far, hot bank tokens, append-only tokens, runs and seconds."""

    notes: int
    hot_tokens: int
    append_only_tokens: int
    runs: int


@attrs.frozen
class ScaleResult:
    """Every round and the checks (name -> passed)."""

    rounds: list[ScaleRound]
    checks: dict[str, bool]


def shifted(lines: Sequence[str], years: int) -> str:
    """The dataset's JSON lines with every timestamp moved ``years`` years later
    (earlier when negative)."""
    out = []
    for line in lines:
        row = json.loads(line)
        at = datetime.fromisoformat(row["timestamp"])
        try:
            moved = at.replace(year=at.year + years)
        except ValueError:  # 29 February
            moved = at + timedelta(days=365 * years)
        row["timestamp"] = moved.isoformat()
        out.append(json.dumps(row))
    return "\n".join(out)


def _append_only(bank: dict[BankFileName, str], notes: Sequence[Note], rules: SpaceRules) -> None:
    """The former policy's bank after ``notes``: every note a verbatim bullet, forever
    (the size guard that used to wedge a space is left out, so the figure can grow)."""
    table = RoutingTable.from_rules(rules)
    for start in range(0, len(notes), 200):
        plan = extractive_plan(notes[start : start + 200], bank, rules, table)
        for op in plan.operations:
            name = BankFileName(op.file)
            if op.op is OpKind.CREATE_FILE:
                bank[name] = op.content
                continue
            doc = Document.parse(bank.get(name, ""))
            doc = (
                doc.replace(op.section, op.content)
                if doc.has(op.section)
                else doc.add(op.section, op.content)
            )
            bank[name] = doc.render()


async def scale_run(
    store: ObjectStore, rounds: int = 10, budget: int = 8000, *, baseline: bool = True
) -> ScaleResult:
    """Run the scale scenario on ``store`` (module docstring); ``baseline=False`` skips
    the append-only figure (0 in the rounds), which costs more than the run itself."""
    services = build_services(
        store,
        bootstrap_key=KEY,
        store_kind="scale",
        planner=ExtractivePlanner(TfidfTopics()),
        settings=Settings(bank_budget_tokens=budget, consolidation_max_notes=1000),
    )
    admin = await services.auth.authenticate(KEY)
    rules_text = RULES_FILE.read_text(encoding="utf-8")
    rules = SpaceRules(rules_text)
    await services.spaces.create(admin, SPACE, "MCP Python SDK, ten copies a year apart", rules_text)
    lines = [line for line in NOTES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    imported: list[Note] = []
    append_bank: dict[BankFileName, str] = {}
    results: list[ScaleRound] = []
    for round_index in range(rounds):
        # a year apart, the last round at the dataset's own dates: imports refuse the future
        text = shifted(lines, round_index - (rounds - 1))
        batch = sorted(parse_import(SpaceId(SPACE), text), key=lambda n: n.created_at)
        await services.imports.import_notes(admin, SPACE, text)
        imported.extend(batch)
        runs = 0
        while (await services.notes.read(admin, SPACE, limit=1)).total_matching:
            job = await services.jobs.submit(admin, SPACE)
            await services.jobs.drain()
            done = await services.jobs.status(admin, job.job_id)
            if done.state.value != "succeeded":
                raise RuntimeError(f"consolidation failed: {done.error}")
            runs += 1
        hot = await services.bank.read_all(admin, SPACE)
        if baseline:
            _append_only(append_bank, batch, rules)
        results.append(
            ScaleRound(
                notes=len(imported),
                hot_tokens=sum(estimate_tokens(f.content) for f in hot),
                append_only_tokens=sum(estimate_tokens(t) for t in append_bank.values()),
                runs=runs,
            )
        )
    return ScaleResult(results, await _checks(store, services.bank, admin, imported, results, budget))


async def _checks(
    store: ObjectStore, bank: Any, admin: Any, notes: list[Note], rounds: list[ScaleRound], budget: int
) -> dict[str, bool]:
    journals = await StoreJournalRepository(store).list(SpaceId(SPACE))
    consumed = [c.note_id for j in journals if j.state.value == "committed" for c in j.consumed]
    hot = "\n".join(f.content for f in await bank.read_all(admin, SPACE))
    archive = "\n".join(f.content for f in await StoreBankRepository(store).get_archive(SpaceId(SPACE)))
    known_refs = {ref for n in notes for ref in _REF.findall(n.content)}

    def first_line(note: Note) -> str:
        return next(line.strip() for line in note.content.splitlines() if line.strip())

    return {
        f"hot bank within {budget} tokens after every round": all(r.hot_tokens <= budget for r in rounds),
        "every note id in exactly one committed journal": sorted(consumed)
        == sorted(n.note_id for n in notes),
        "every note's first line in the hot bank or the archive": all(
            first_line(n) in hot or f"> {first_line(n)}" in archive for n in notes
        ),
        "no #N in the hot bank that no note has": set(_REF.findall(hot)) <= known_refs,
    }


def print_result(result: ScaleResult) -> None:
    """The table of rounds, then the checks."""
    print("notes  | hot bank tokens | append-only tokens | runs")
    print("-------|-----------------|--------------------|-----")
    for r in result.rounds:
        print(f"{r.notes:>6} | {r.hot_tokens:>15} | {r.append_only_tokens:>18} | {r.runs:>4}")
    for name, passed in result.checks.items():
        print(f"{'ok  ' if passed else 'FAIL'} {name}")


async def main(rounds: int, kind: str) -> int:
    with tempfile.TemporaryDirectory(prefix="live-mem-scale-") as tmp:
        store: ObjectStore = MemoryObjectStore() if kind == "memory" else FileSystemObjectStore(Path(tmp))
        result = await scale_run(store, rounds)
    print_result(result)
    return 0 if all(result.checks.values()) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--store", choices=["memory", "local"], default="memory")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.rounds, arguments.store)))
