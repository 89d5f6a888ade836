"""The audit log (review item 9): every state-changing call, allowed or refused, and the
end of every consolidation is recorded without a secret; only admins read it."""

from __future__ import annotations

from tests.mcp_support import BOOTSTRAP_KEY, SPACE, connect, deploy, error_text, payload


async def test_changes_and_refusals_are_recorded_and_only_admins_read_them() -> None:
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        created = payload(
            await admin.call_tool("admin_create_token", {"name": "audited", "permissions": "read"})
        )
        job = payload(await admin.call_tool("bank_consolidate", {"space_id": SPACE}))
    await d.services.consolidation.drain()
    async with connect(d.services, d.tokens["read"]) as reader:
        refused = await reader.call_tool("space_delete", {"space_id": SPACE, "confirm": True})
        not_admin = await reader.call_tool("admin_audit_log", {})
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        log = payload(await admin.call_tool("admin_audit_log", {"limit": 20}))
        only = payload(await admin.call_tool("admin_audit_log", {"space_id": SPACE}))
    assert "PermissionDenied" in error_text(refused)
    assert "PermissionDenied" in error_text(not_admin)
    actions = [(r["action"], r["outcome"], r["agent"]) for r in log["records"]]
    assert ("space_delete", "PermissionDenied", "read-agent") in actions
    assert ("admin_create_token", "ok", "bootstrap-admin") in actions
    assert ("bank_consolidate", "ok", "bootstrap-admin") in actions
    ends = [r for r in log["records"] if r["action"] == "consolidation_end"]
    assert (job["job_id"], "succeeded") in [(r["target"], r["outcome"]) for r in ends]
    assert all(len(r["token"]) in (0, 16) for r in log["records"])
    assert created["token"] not in repr(log)  # never a secret
    assert BOOTSTRAP_KEY not in repr(log)
    assert log["records"] == sorted(log["records"], key=lambda r: r["at"], reverse=True)
    assert {r["space"] for r in only["records"]} == {SPACE}
