"""What a newcomer's first commands cost (first hour, items 5 and 8): ``make run``
installs the runtime only, and the CLI does not load the server stack to answer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_make_run_installs_the_runtime_only_and_make_test_the_dev_tools(tmp_path: Path) -> None:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "ops").mkdir()
    shutil.copy(ROOT / "ops" / "constraints.txt", tmp_path / "ops" / "constraints.txt")
    make = shutil.which("make") or "make"
    run = subprocess.run([make, "-n", "run"], cwd=tmp_path, capture_output=True, text=True, check=True)
    test = subprocess.run([make, "-n", "test"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert '-e ".[demo]"' in run.stdout
    assert "dev" not in run.stdout
    assert '-e ".[dev,demo]"' in test.stdout


def test_the_cli_answers_without_loading_the_server_stack() -> None:
    heavy = "('hypercorn', 'mcp', 'starlette')"
    probe = f"import sys, interfaces.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "[]"
