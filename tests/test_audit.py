"""The audit log (review item 9): every state-changing call, allowed or refused, and the
end of every consolidation is recorded without a secret; only admins read it."""

from __future__ import annotations

from datetime import timedelta

from application.audit import REFUSALS_PER_MINUTE, AuditService
from application.store import StoredObject
from domain import AgentName, Identity, Permission
from infrastructure.repositories.audit import StoreAuditLog
from infrastructure.settings import Settings
from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import FakeClock
from tests.mcp_support import BOOTSTRAP_KEY, SPACE, connect, deploy, error_text, payload


async def test_changes_and_refusals_are_recorded_and_only_admins_read_them() -> None:
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        created = payload(
            await admin.call_tool("admin_create_token", {"name": "audited", "permissions": "read"})
        )
        job = payload(await admin.call_tool("bank_consolidate", {"space_id": SPACE}))
    await d.services.jobs.drain()
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


class _CountingStore(MemoryObjectStore):
    """Counts the objects read, to check what a read of the audit log costs."""

    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    async def get(self, key: str) -> StoredObject:
        self.gets += 1
        return await super().get(key)


def _audit_objects(store: MemoryObjectStore) -> int:
    return sum(1 for key in store._objects if key.startswith("_system/audit/"))


async def test_a_flood_of_refused_calls_is_counted_not_written_one_by_one() -> None:
    """Second review, M4: a token's refusals past REFUSALS_PER_MINUTE are counted and
    written as one record, so one token cannot fill the store."""
    d = await deploy()
    before = _audit_objects(d.store)
    async with connect(d.services, d.tokens["read"]) as reader:
        for _ in range(REFUSALS_PER_MINUTE + 80):
            await reader.call_tool("space_delete", {"space_id": SPACE, "confirm": True})
    assert _audit_objects(d.store) - before == REFUSALS_PER_MINUTE
    await d.services.audit.close()  # at shutdown the count is written
    assert _audit_objects(d.store) - before == REFUSALS_PER_MINUTE + 1
    admin = await d.services.auth.authenticate(BOOTSTRAP_KEY)
    newest = (await d.services.audit.read(admin, limit=1))[0]
    assert (newest.action, newest.count, newest.agent) == ("refusals_suppressed", 80, "read-agent")


async def test_the_next_minute_writes_the_count_and_records_again() -> None:
    clock = FakeClock()
    store = MemoryObjectStore()
    audit = AuditService(StoreAuditLog(store), clock, retention_days=Settings().audit_retention_days)
    for _ in range(REFUSALS_PER_MINUTE + 5):
        await audit.record(token="a" * 64, agent="mallory", action="space_delete", outcome="PermissionDenied")
    clock.advance(61)
    await audit.record(token="a" * 64, agent="mallory", action="space_delete", outcome="PermissionDenied")
    clock.advance(1)
    await audit.record(token="b" * 64, agent="bob", action="space_update")
    records = await StoreAuditLog(store).read("", clock.now() - timedelta(days=1), clock.now(), 100)
    assert [(r.action, r.count) for r in records[:3]] == [
        ("space_update", 1),
        ("space_delete", 1),
        ("refusals_suppressed", 5),
    ]
    assert len(records) == REFUSALS_PER_MINUTE + 3


async def test_records_past_the_retention_are_deleted() -> None:
    clock = FakeClock()
    store = MemoryObjectStore()
    audit = AuditService(StoreAuditLog(store), clock, retention_days=30)
    await audit.record(token="", agent="a", action="space_update", space="alpha")
    clock.advance(31 * 86_400)
    await audit.record(token="", agent="a", action="space_update", space="alpha")
    assert _audit_objects(store) == 1


async def test_a_read_by_time_and_space_costs_what_it_returns() -> None:
    clock = FakeClock()
    store = _CountingStore()
    audit = AuditService(StoreAuditLog(store), clock, retention_days=Settings().audit_retention_days)
    for n in range(150):
        await audit.record(token="", agent="a", action="space_update", space="beta", target=str(n))
    clock.advance(5 * 86_400)
    for n in range(3):
        clock.advance(1)
        await audit.record(token="", agent="a", action="space_update", space="alpha", target=str(n))
        await audit.record(token="", agent="a", action="space_update", space="beta", target=str(n))
    admin = Identity(AgentName("root"), Permission.ADMIN, ("*",))
    store.gets = 0
    recent = await audit.read(admin, "alpha", since=(clock.now() - timedelta(days=1)).isoformat())
    assert [r.target for r in recent] == ["2", "1", "0"]
    assert store.gets == 3  # the other space's and the older days' records are never read


async def test_destructive_calls_record_their_target_mode_and_effect() -> None:
    """Second review, M10."""
    d = await deploy()
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        await admin.call_tool("admin_gc_notes", {"space_id": SPACE, "older_than_days": 0})
        await admin.call_tool("admin_break_lease", {"space_id": SPACE})
        await admin.call_tool(
            "admin_bulk_update_tokens", {"token_hashes": [d.victim_token_id], "permissions": "write"}
        )
        await admin.call_tool(
            "bank_write", {"space_id": SPACE, "filename": "progress.md", "content": "# P\n"}
        )
        await admin.call_tool("admin_revoke_token", {"token_hash": d.victim_token_id})
        await admin.call_tool("admin_purge_tokens", {})
        await admin.call_tool("space_export", {"space_id": SPACE})
        log = payload(await admin.call_tool("admin_audit_log", {"limit": 50}))
    by_action = {r["action"]: r for r in reversed(log["records"])}
    assert "dry_run=True" in by_action["admin_gc_notes"]["detail"]
    assert "older_than_days=0" in by_action["admin_gc_notes"]["detail"]
    assert "confirm=False" in by_action["admin_break_lease"]["detail"]
    assert "broken=False" in by_action["admin_break_lease"]["detail"]
    assert by_action["admin_bulk_update_tokens"]["target"] == d.victim_token_id
    assert "permissions=write" in by_action["admin_bulk_update_tokens"]["detail"]
    assert by_action["bank_write"]["target"] == "progress.md"
    assert "content_chars=4" in by_action["bank_write"]["detail"]
    assert "purged=3" in by_action["admin_purge_tokens"]["detail"]  # revoked, expired, victim
    assert d.victim_token_id in by_action["admin_purge_tokens"]["detail"]
    assert by_action["space_export"]["space"] == SPACE


async def test_a_manager_breaking_another_agents_claim_is_audited() -> None:
    """Issue 'the team's work': release of another agent's claim: manage may break it, audited."""
    d = await deploy()
    async with connect(d.services, d.tokens["write"]) as writer:
        payload(await writer.call_tool("work_claim", {"space_id": SPACE, "resource": "file:ci.yml"}))
    async with connect(d.services, d.tokens["manage"]) as manager:
        broken = payload(
            await manager.call_tool(
                "work_release", {"space_id": SPACE, "resource": "file:ci.yml", "force": True}
            )
        )
    async with connect(d.services, BOOTSTRAP_KEY) as admin:
        log = payload(await admin.call_tool("admin_audit_log", {"space_id": SPACE}))
    assert broken["status"] == "released"
    assert broken["holder"] == "write-agent"
    (record,) = [r for r in log["records"] if r["action"] == "work_release"]
    assert (record["agent"], record["outcome"]) == ("manage-agent", "ok")
    assert "force=True" in record["detail"]
