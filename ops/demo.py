"""The demo on real input: a live-mem server on a free port, the space ``mcp-python-sdk``
created with the shared rules, the shared dataset's 600 notes imported with their own
timestamps and authors (``admin_import_notes``; or, with ``--replay``, written over MCP
streamable HTTP by their 148 agents, each with its own write token, 16 at a time, in
timestamp order, stamped with the server's clock), a consolidation, the bank printed with
the report and the figures. Exits 1 if any note is missing or the bank breaks its
budget: at most 8,000 tokens, every declared file present, activeContext at most 40
lines holding the ten newest notes.

    python -m ops.demo [--dataset ../shared/datasets] [--replay] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from domain import SpaceRules
from domain.consolidation import estimate_tokens
from domain.imports import import_agent_name, imported_note_id
from ops.dataset import DATASETS, load_notes
from ops.server import call, mcp_client, server_process, wait_healthy

SPACE = "mcp-python-sdk"


async def replay(
    base: str, rows: list[dict[str, Any]], tokens: dict[str, str], concurrency: int
) -> list[str]:
    """Write every note as its agent, ``concurrency`` at a time, started in timestamp
    order; return the note ids the server gave."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for row in rows:
        queue.put_nowait(row)
    written: list[str] = []
    bar = tqdm(total=len(rows), desc="replaying notes", unit="note", mininterval=1.0)

    async def worker() -> None:
        while not queue.empty():
            row = queue.get_nowait()
            async with mcp_client(base, tokens[row["agent_name"]]) as client:
                answer = await call(
                    client,
                    "live_note",
                    {
                        "space_id": SPACE,
                        "category": row["category"],
                        "content": row["content"],
                    },
                )
            written.append(str(answer["note_id"]))
            bar.update()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    bar.close()
    return written


async def consolidate(base: str, admin: str) -> dict[str, Any]:
    """Start a consolidation and follow it to its end."""
    async with mcp_client(base, admin) as client:
        job = await call(client, "bank_consolidate", {"space_id": SPACE})
        bar = tqdm(desc="consolidating", unit="poll", bar_format="{desc}: {elapsed} {postfix}")
        while job["state"] in ("queued", "running"):
            await asyncio.sleep(0.2)
            job = await call(client, "bank_consolidation_status", {"job_id": job["job_id"]})
            bar.set_postfix_str(job["state"])
            bar.update()
        bar.close()
        return job


async def import_notes(base: str, admin: str, jsonl: str, rows: list[dict[str, Any]]) -> list[str]:
    """Import the dataset in one ``admin_import_notes`` call; return the ids it derives."""
    async with mcp_client(base, admin) as client:
        answer = await call(client, "admin_import_notes", {"space_id": SPACE, "jsonl": jsonl})
    print(f"imported {answer['imported']} notes ({answer['skipped']} already there)")
    return [imported_note_id(r["at"], import_agent_name(r["agent"]), r["content"]) for r in rows]


async def main(dataset: Path, concurrency: int, use_replay: bool) -> int:
    dataset_file = dataset / "mcp-python-sdk-notes.jsonl"
    rows = load_notes(dataset_file)
    rules = (dataset / "rules" / "software-project.md").read_text(encoding="utf-8")
    key = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="live-mem-demo-") as tmp:
        env = {"LIVE_MEM_DATA_DIR": f"{tmp}/data", "ADMIN_BOOTSTRAP_KEY": key}
        with server_process(env, Path(tmp) / "server.log") as (_, base):
            await wait_healthy(base)
            print(f"live-mem serving at {base}/mcp (data in {tmp}/data)")
            async with mcp_client(base, key) as admin:
                await call(
                    admin,
                    "space_create",
                    {"space_id": SPACE, "description": "MCP Python SDK", "rules": rules},
                )
                agents = sorted({r["agent_name"] for r in rows})
                tokens = {}
                for name in tqdm(
                    agents if use_replay else [], desc="creating agent tokens", unit="token", mininterval=1.0
                ):
                    issued = await call(
                        admin,
                        "admin_create_token",
                        {"name": name, "permissions": "write", "space_ids": SPACE},
                    )
                    tokens[name] = str(issued["token"])
            started = time.perf_counter()
            if use_replay:
                written = await replay(base, rows, tokens, concurrency)
            else:
                written = await import_notes(base, key, dataset_file.read_text(encoding="utf-8"), rows)
            replay_s = time.perf_counter() - started
            started = time.perf_counter()
            job = await consolidate(base, key)
            consolidate_s = time.perf_counter() - started
            async with mcp_client(base, key) as admin:
                bank = await call(admin, "bank_read_all", {"space_id": SPACE})
                history = await call(admin, "bank_history", {"space_id": SPACE, "limit": 500})
                listing = await call(admin, "bank_list", {"space_id": SPACE})
                live = await call(admin, "live_read", {"space_id": SPACE, "limit": 1})
            team_ok = await work_scene(base, key, rows)
    ok = report(rows, agents, written, job, bank, history, live, replay_s, consolidate_s)
    checks = bank_checks(rows, bank, listing, rules, replay_only=use_replay)
    return 0 if ok and checks and team_ok else 1


async def work_scene(base: str, key: str, rows: list[dict[str, Any]]) -> bool:
    """Three agents at work after the import: one claims the oldest open issue, one a
    file, one finishes the newest item; print the open items and who is active. True when every
    todo, issue and question of the dataset is still a work item after consolidation."""
    expected = sum(r["category"] in ("todo", "issue", "question") for r in rows)
    async with mcp_client(base, key) as admin:
        tokens = {
            name: str(
                (
                    await call(
                        admin,
                        "admin_create_token",
                        {"name": name, "permissions": "write", "space_ids": SPACE},
                    )
                )["token"]
            )
            for name in ("demo-alice", "demo-bob", "demo-carol")
        }
        issues = await call(admin, "work_items", {"space_id": SPACE, "category": "issue", "limit": 200})
        newest = await call(admin, "work_items", {"space_id": SPACE, "limit": 1})
        every = await call(admin, "work_items", {"space_id": SPACE, "state": "all", "limit": 1})
    async with mcp_client(base, tokens["demo-alice"]) as alice, mcp_client(base, tokens["demo-bob"]) as bob:
        if issues["items"]:
            await call(alice, "work_claim", {"space_id": SPACE, "resource": issues["items"][-1]["item_id"]})
        await call(bob, "work_claim", {"space_id": SPACE, "resource": "file:src/mcp/server/session.py"})
        async with mcp_client(base, tokens["demo-carol"]) as carol:
            if newest["items"]:
                item = newest["items"][0]["item_id"]
                await call(
                    carol, "work_done", {"space_id": SPACE, "item_id": item, "outcome": "Done in the demo."}
                )
            opened = await call(carol, "work_items", {"space_id": SPACE, "limit": 5})
            team = await call(carol, "work_presence", {"space_id": SPACE})
    print("\n== the work ==")
    print(
        f"  work items              {every['total']} (todo, issue, question notes in the dataset: {expected})"
    )
    print(f"  open or claimed now     {opened['total']}; the newest:")
    for item in opened["items"]:
        held = f" [claimed by {item['claimed_by']}]" if item["claimed_by"] else ""
        print(f"    {item['item_id']} {item['category']:<8} {item['title'][:70]}{held}")
    active = [a for a in team["agents"] if a["active"]]
    print(f"  active now              {', '.join(a['agent'] for a in active) or 'nobody'}")
    for agent in active:
        held = agent["items"] + agent["resources"]
        if held:
            print(f"    {agent['agent']} holds {', '.join(held)}")
    passed = bool(every["total"] == expected)
    print(
        f"  {'ok  ' if passed else 'FAIL'} every todo, issue and question is a work item after consolidation"
    )
    return passed


def bank_checks(
    rows: list[dict[str, Any]],
    bank: dict[str, Any],
    listing: dict[str, Any],
    rules: str,
    *,
    replay_only: bool,
) -> bool:
    """Print and check what the bank budget promises (see the module docstring)."""
    files = {f["filename"]: f["content"] for f in bank["files"]}
    declared = [n.value for n in SpaceRules(rules).file_names()]
    tokens = sum(estimate_tokens(text) for text in files.values())
    active = files.get("activeContext.md", "")
    newest = [r["content"].strip().splitlines()[0][:60] for r in rows[-10:]]
    archived = [f for f in listing["files"] if f["archived"]]
    print("\n== bank budget ==")
    print(f"  hot bank                {tokens} tokens (budget 8000) in {len(files)} files")
    print(f"  archive                 {len(archived)} files, {sum(f['size'] for f in archived)} bytes")
    print(f"  activeContext.md        {len(active.splitlines())} lines")
    checks = {
        "hot bank within 8000 tokens": tokens <= 8000,
        "every declared file exists and is non-empty": all(files.get(n, "").strip() for n in declared),
        "activeContext at most 40 lines": len(active.splitlines()) <= 40,
        # replayed notes carry the server's clock, so "newest" is the replay order there too
        "activeContext holds the ten newest notes": replay_only or all(line in active for line in newest),
    }
    for name, passed in checks.items():
        print(f"  {'ok  ' if passed else 'FAIL'} {name}")
    return all(checks.values())


def report(
    rows: list[dict[str, Any]],
    agents: list[str],
    written: list[str],
    job: dict[str, Any],
    bank: dict[str, Any],
    history: dict[str, Any],
    live: dict[str, Any],
    replay_s: float,
    consolidate_s: float,
) -> bool:
    """Print the bank, the consolidation report and the figures; True when every note
    is accounted for."""
    print("\n== memory bank ==")
    for file in bank["files"]:
        head = [line for line in file["content"].splitlines() if line.strip()][:3]
        print(f"\n{file['filename']}  ({file['size']} bytes)")
        for line in head:
            print(f"    {line[:110]}")
    print("\n== consolidation ==")
    print(f"job {job['job_id']}: {job['state']}" + (f" ({job['error']})" if job["error"] else ""))
    rep = job["report"] or {}
    for field in (
        "mode",
        "notes_consumed",
        "batches",
        "files_changed",
        "hot_tokens",
        "tokens_in",
        "tokens_out",
        "duration_s",
    ):
        print(f"  {field:<15} {rep.get(field)}")
    consumed = {n["note_id"] for run in history["runs"] for n in run["notes"]}
    missing = set(written) - consumed
    print("\n== figures ==")
    print(f"  notes in dataset        {len(rows)}  from {len(agents)} agents")
    print(
        f"  notes written           {len(written)}  in {replay_s:.1f} s "
        f"({len(written) / max(replay_s, 1e-9):.0f} notes/s)"
    )
    print(f"  consolidation           {consolidate_s:.2f} s wall (job {rep.get('duration_s')} s)")
    print(f"  notes consumed          {len(consumed)}  left in live/: {live['total']}")
    print(f"  bank                    {len(bank['files'])} files, {bank['total_size']} bytes")
    ok = len(written) == len(rows) and not missing and live["total"] == 0 and job["state"] == "succeeded"
    print(f"\n{'every note is accounted for' if ok else f'MISSING NOTES: {len(missing)}'}")
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DATASETS)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--replay", action="store_true", help="write the notes over MCP instead of importing")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.dataset, arguments.concurrency, arguments.replay)))
