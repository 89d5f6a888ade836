"""Abstractive consolidation against a real OpenAI-compatible endpoint, beside extractive
on the same notes: does the model's bank carry the batch, and does it invent anything?

The first ``--notes`` notes of the shared dataset (oldest first) are imported into a space
with the dataset's rules and consolidated once in each mode, each on a fresh in-memory
store. Figures:
- notes accounted for: consumed notes with an outcome (integrated, merged, discarded with
  a reason, or kept: filed by the extractive placement because the model's plan left
  them out); unaccounted = consumed without one (must be 0).
- notes the hot bank carries (:func:`domain.consolidation.coverage.carried`: references
  and half the key terms, or the note id) and ticket references (``#N``) of the notes
  found in the hot bank.
- invented claims: URLs, numbers, dates and identifiers in the hot bank that occur in no
  note, the rules or the space description (:mod:`domain.consolidation.attribution`).
- tokens in/out, wall time, and the job's state.

The endpoint comes from the environment, as for the server: ``LLMAAS_API_URL``,
``LLMAAS_MODEL``, ``LLMAAS_API_KEY``, ``LLMAAS_CONTEXT_TOKENS`` (must match the server's
window), ``LLMAAS_MAX_TOKENS``; ``CONSOLIDATION_TIMEOUT`` bounds each batch.

    python -m ops.bench_llm [--notes 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import UTC
from typing import Any

from application.consolidation import AbstractivePlanner, ConsolidationReport, ExtractivePlanner, Planner
from domain import SpaceId
from domain.consolidation.attribution import unattributed
from domain.consolidation.coverage import carried
from domain.consolidation.lines import refs
from domain.imports import parse_import
from infrastructure.settings import Settings
from infrastructure.stores import MemoryObjectStore
from infrastructure.topics import TfidfTopics
from interfaces.bootstrap import build_services, model_from_settings
from ops.bench_common import Row
from ops.dataset import RULES_FILE, load_notes

__all__ = ["llm_rows"]

KEY = "bench-llm-bootstrap-key-0123456789abcdef"
SPACE = "mcp-python-sdk"


async def _consolidate(planner: Planner, settings: Settings, lines: list[str]) -> dict[str, Any]:
    services = build_services(
        MemoryObjectStore(), bootstrap_key=KEY, store_kind="bench", planner=planner, settings=settings
    )
    admin = await services.auth.authenticate(KEY)
    rules = RULES_FILE.read_text(encoding="utf-8")
    await services.spaces.create(admin, SPACE, "MCP Python SDK history", rules)
    text = "\n".join(lines)
    notes = parse_import(SpaceId(SPACE), text)
    await services.imports.import_notes(admin, SPACE, text)
    started = time.perf_counter()
    job = await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    seconds = time.perf_counter() - started
    done = await services.jobs.status(admin, job.job_id)
    bank = {f.name.value: f.content for f in await services.bank.read_all(admin, SPACE)}
    history = await services.jobs.history(admin, SPACE, limit=500)
    consumed = [n for run in history for n in run.consumed]
    hot = "\n".join(bank.values())
    report = done.report or ConsolidationReport()
    references = sorted({r for n in notes for r in refs(n.content)})
    given = (
        f"{n.note_id} {n.agent} {n.created_at.isoformat()} {n.created_at.astimezone(UTC).isoformat()}\n"
        f"{n.content}"
        for n in notes
    )
    # the pointers live-mem itself writes name the tools to read more with
    sources = [rules, "MCP Python SDK history", "bank_read work_items", *given]
    return {
        "state": done.state.value,
        "error": (done.error or "")[:200],
        "notes": len(notes),
        "consumed": len(consumed),
        "unaccounted": sum(1 for n in consumed if not n.outcome),
        "outcomes": report.outcomes,
        "carried": sum(1 for n in notes if carried(n, hot)),
        "references": (sum(1 for r in references if r in hot), len(references)),
        "invented": unattributed(hot, sources),
        "tokens": (report.tokens_in, report.tokens_out),
        "seconds": round(seconds, 1),
        "hot_bytes": len(hot.encode()),
    }


def _show(result: dict[str, Any], key: str) -> str:
    value = result[key]
    if key == "consumed":
        return f"{result['consumed']} / {result['unaccounted']}"
    if key == "invented":
        return f"{len(value)}" + (f" ({', '.join(value[:5])})" if value else "")
    if key == "references":
        return f"{value[0]} of {value[1]}"
    if key == "state" and result["error"]:
        return f"{value}: {result['error']}"
    return str(value)


LABELS = (
    ("job state", "state"),
    ("notes consumed / unaccounted for", "consumed"),
    ("per-note outcomes", "outcomes"),
    ("notes the hot bank carries", "carried"),
    ("ticket references in the hot bank", "references"),
    ("invented claims in the hot bank", "invented"),
    ("tokens in / out", "tokens"),
    ("wall time (s)", "seconds"),
    ("hot bank bytes", "hot_bytes"),
)


async def llm_rows(count: int) -> list[Row]:
    """The comparison's rows (module docstring)."""
    settings = Settings.from_mapping(dict(os.environ))
    model = model_from_settings(settings)
    if model is None:
        raise SystemExit("set LLMAAS_API_URL and LLMAAS_MODEL (an OpenAI-compatible endpoint)")
    added = ("at", "agent_name")  # what load_notes adds to each line's fields
    lines = [json.dumps({k: v for k, v in r.items() if k not in added}) for r in load_notes()[:count]]
    extractive = await _consolidate(ExtractivePlanner(TfidfTopics()), settings, lines)
    abstractive = await _consolidate(AbstractivePlanner(model), settings, lines)
    return [
        (
            f"{count} notes: {label}",
            f"abstractive ({model.name}): {_show(abstractive, key)}",
            f"extractive: {_show(extractive, key)}",
            "-",
        )
        for label, key in LABELS
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--notes", type=int, default=60, help="how many dataset notes, oldest first")
    arguments = parser.parse_args()
    for row in asyncio.run(llm_rows(arguments.notes)):
        print(" | ".join(row))
