"""The shared dataset: 600 notes from 148 authors of a public project, and its rules."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any

DATASETS = Path(
    os.environ.get("LIVE_MEM_DATASETS", "") or Path(__file__).resolve().parents[2] / "shared" / "datasets"
)
"""``LIVE_MEM_DATASETS``, else ``../shared/datasets`` next to the checkout."""
NOTES_FILE = DATASETS / "mcp-python-sdk-notes.jsonl"
RULES_FILE = DATASETS / "rules" / "software-project.md"


def agent_name(raw: str) -> str:
    """The dataset's author as a legal agent name (one author has none: ``anonymous``)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", raw.strip())[:64].strip("-._")
    return cleaned or "anonymous"


def load_notes(path: Path = NOTES_FILE) -> list[dict[str, Any]]:
    """Every note of the dataset, oldest first, with ``at`` (aware datetime) and
    ``agent_name`` (a legal agent name) added."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for row in rows:
        row["at"] = datetime.fromisoformat(row["timestamp"])
        row["agent_name"] = agent_name(row["agent"])
    return sorted(rows, key=lambda r: r["at"])
