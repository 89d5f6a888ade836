"""``live-mem serve`` in a child process on 127.0.0.1, stopped by PID."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2

from tests.s3_servers import free_port


@contextlib.contextmanager
def server_process(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start a server with ``env`` over the current environment; yield it and its base
    URL; SIGKILL it on exit if it still runs."""
    port = free_port()
    full = {**os.environ, **env, "MCP_SERVER_PORT": str(port), "LIVE_MEM_HOST": "127.0.0.1"}
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "serve"], env=full, stdout=sink, stderr=sink
        )
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()


async def wait_healthy(base: str, patience: float = 30.0) -> None:
    """Poll ``/health`` until it answers 200 (at most ``patience`` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    async with httpx2.AsyncClient() as http:
        while True:
            try:
                if (await http.get(f"{base}/health", timeout=2)).status_code == 200:
                    return
            except httpx2.HTTPError:
                pass
            if loop.time() > deadline:
                raise TimeoutError(f"{base} did not become healthy")
            await asyncio.sleep(0.2)
