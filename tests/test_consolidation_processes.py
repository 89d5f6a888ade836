"""Consolidation across real server processes: two servers racing on one SeaweedFS bucket.
The model is a scripted OpenAI-compatible server that answers slowly, so that the runs
overlap. (A server killed mid-run is in test_fault_runs.py, on both stores.)"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from mcp import Client

from ops.server import server_process, wait_healthy
from tests.consolidation_support import KEY
from tests.http_support import streamable_client
from tests.llm_server import Answer, log_every_note, scripted_llm, scripted_llm_env
from tests.mcp_support import payload
from tests.s3_servers import S3Server

SPACE = "killed"
RULES = "# Rules\n\n## decisions.md\nEvery decision, in order.\n"
NOTES = [f"decision {i:02d}: keep the storage layer behind one port, variant {i}" for i in range(16)]


def _env(llm_base: str, **extra: str) -> dict[str, str]:
    return {"ADMIN_BOOTSTRAP_KEY": KEY, **scripted_llm_env(llm_base), **extra}


async def _call(client: Client, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    return payload(await client.call_tool(tool, args))


async def _wait_job(base: str, job_id: str, patience: float = 90.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    async with streamable_client(base, KEY) as client:
        while True:
            job = await _call(client, "bank_consolidation_status", {"job_id": job_id})
            if job["state"] in ("succeeded", "failed") or loop.time() > deadline:
                return job
            await asyncio.sleep(0.3)


async def test_two_servers_on_one_seaweedfs_bucket_run_one_consolidation(
    seaweedfs: S3Server, tmp_path: Path
) -> None:
    bucket = seaweedfs.new_bucket()
    s3 = seaweedfs.env(bucket)
    async with scripted_llm([Answer(make=log_every_note, delay=0.3)]) as (llm_base, _):
        env = _env(llm_base, **s3)
        with (
            server_process(env, tmp_path / "a.log") as (_, base_a),
            server_process(env, tmp_path / "b.log") as (_, base_b),
        ):
            await asyncio.gather(wait_healthy(base_a), wait_healthy(base_b))
            async with streamable_client(base_a, KEY) as client:
                await _call(client, "space_create", {"space_id": SPACE, "rules": RULES})
                for note in NOTES:
                    await _call(
                        client, "live_note", {"space_id": SPACE, "category": "decision", "content": note}
                    )

            async def submit(base: str) -> str:
                async with streamable_client(base, KEY) as client:
                    return str((await _call(client, "bank_consolidate", {"space_id": SPACE}))["job_id"])

            jobs = await asyncio.gather(submit(base_a), submit(base_b))
            results = await asyncio.gather(_wait_job(base_a, jobs[0]), _wait_job(base_b, jobs[1]))
            async with streamable_client(base_a, KEY) as client:
                history = await _call(client, "bank_history", {"space_id": SPACE, "limit": 500})
                live = await _call(client, "live_read", {"space_id": SPACE})
    states = sorted(r["state"] for r in results)
    if results[0]["job_id"] == results[1]["job_id"]:
        assert states == ["succeeded", "succeeded"], results  # the second request joined the first job
    else:  # both were queued before either saw the other's: the lease lets one run
        assert states == ["failed", "succeeded"], results
        loser = next(r for r in results if r["state"] == "failed")
        assert "Conflict" in loser["error"]
    consumed = [n["note_id"] for run in history["runs"] for n in run["notes"]]
    assert len(consumed) == len(set(consumed)) == len(NOTES)
    assert live["total"] == 0
