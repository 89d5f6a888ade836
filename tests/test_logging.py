"""Logs: each tool call is logged with request id, tool, agent and space; no token secret
ever appears in a log event."""

from __future__ import annotations

from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from tests.mcp_support import SPACE, connect, deploy, payload


async def test_tool_calls_are_logged_with_context_and_without_secrets() -> None:
    d = await deploy()
    secret = d.tokens["write"]
    assert secret is not None
    with capture_logs(processors=[merge_contextvars]) as logs:
        async with connect(d.services, secret) as client:
            payload(
                await client.call_tool("live_note", {"space_id": SPACE, "category": "todo", "content": "x"})
            )
            await client.call_tool("live_note", {"space_id": "beta", "category": "todo", "content": "y"})
    calls = [e for e in logs if e["event"] == "tool_call"]
    assert [(e["tool"], e["outcome"]) for e in calls] == [
        ("live_note", "ok"),
        ("live_note", "PermissionDenied"),
    ]
    assert all(e["agent"] == "write-agent" and len(e["request_id"]) == 12 for e in calls)
    assert [e["space"] for e in calls] == [SPACE, "beta"]
    assert all(secret not in repr(e) for e in logs)
