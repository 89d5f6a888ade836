"""Imported timestamps (second review, L2 and L3): a year outside 1000-9999, an offset
that leaves the calendar, or a time in the future is a clear error naming its line,
and nothing is written."""

from __future__ import annotations

import json

import pytest

from tests.mcp_support import BOOTSTRAP_KEY, SPACE, connect, deploy, error_text, payload


def _line(timestamp: str) -> str:
    return json.dumps({"timestamp": timestamp, "agent": "old", "category": "decision", "content": "x"})


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        ("0999-01-01T00:00:00Z", "from year 1000 to 9999"),
        ("0001-01-01T00:00:00+05:00", "from year 1000 to 9999"),
        ("9999-12-31T23:59:59-05:00", "from year 1000 to 9999"),
        ("2999-01-01T00:00:00Z", "is in the future"),
    ],
)
async def test_a_timestamp_outside_the_calendar_or_in_the_future_is_refused(
    timestamp: str, reason: str
) -> None:
    deployment = await deploy()
    before = deployment.snapshot()
    text = _line("2025-01-02T03:04:05Z") + "\n" + _line(timestamp)
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        result = await client.call_tool("admin_import_notes", {"space_id": SPACE, "jsonl": text})
    assert error_text(result).startswith("InvalidInput: 1 bad line(s), nothing imported: line 2:")
    assert reason in error_text(result)
    assert deployment.snapshot() == before


async def test_a_timestamp_from_the_past_is_imported_and_listed() -> None:
    deployment = await deploy()
    async with connect(deployment.services, BOOTSTRAP_KEY) as client:
        done = payload(
            await client.call_tool(
                "admin_import_notes", {"space_id": SPACE, "jsonl": _line("1000-01-01T00:00:00Z")}
            )
        )
        listed = payload(await client.call_tool("live_read", {"space_id": SPACE, "limit": 10}))
    assert done["imported"] == 1
    assert "1000-01-01" in json.dumps(listed)
