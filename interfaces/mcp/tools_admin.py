"""MCP tools of the backup and admin families."""

from __future__ import annotations

from typing import Any, Final

import attrs

from domain import InvalidInput, Permission
from interfaces.edge.shapes import (
    backup_dict,
    comma_list,
    gc_dict,
    highest_permission,
    lease_dict,
    split_backup_id,
    token_dict,
)
from interfaces.mcp.context import Call, Tool, audit_fact, tool

__all__ = ["ADMIN_TOOLS"]


@tool(Permission.MANAGE, audited=True)
async def backup_create(call: Call, space_id: str, description: str = "") -> dict[str, Any]:
    """Copy the whole space into a backup kept in the same store (needs manage). A
    consolidation under way is waited for (up to 45 s; then Conflict). Older backups
    beyond the retention count are deleted."""
    me, s = call.me, call.services
    return {
        "status": "created",
        **backup_dict(await s.backups.create(me, space_id)),
        "description": description,
    }


@tool(Permission.READ)
async def backup_list(call: Call, space_id: str = "") -> dict[str, Any]:
    """Backups of one space, or of every space you can use when space_id is empty
    (for an admin of every space, deleted spaces' backups too). Only the backups of
    the space as it now exists are listed: those of an earlier, deleted space with
    the same id are an admin's to see (their generation differs from space_info's)
    and to restore."""
    me, s = call.me, call.services
    listed = await s.backups.list(me, space_id) if space_id else await s.backups.list_everywhere(me)
    found = [backup_dict(b) for b in listed]
    return {"status": "ok", "backups": found, "total": len(found)}


@tool(Permission.MANAGE, audited=True)
async def backup_restore(
    call: Call, backup_id: str, confirm: bool = False, target_space_id: str = ""
) -> dict[str, Any]:
    """Recreate a backup as a space that does not exist (needs manage): the original
    space id (delete it first) or target_space_id. Pass confirm=true."""
    me, s = call.me, call.services
    if confirm is not True:
        raise InvalidInput("restoring writes a whole space: call again with confirm=true")
    space, backup = split_backup_id(backup_id)
    target = target_space_id or space
    restored = await s.backups.restore(me, space, backup, target)
    return {"status": "ok", "backup_id": backup_id, "space_id": target, "objects_restored": restored}


@tool(Permission.READ, audited=True)
async def backup_download(call: Call, backup_id: str) -> dict[str, Any]:
    """A backup as a tar.gz archive (needs read; at most 50 MiB of objects): over HTTP
    a download_url to GET once before expires_at (no token needed: the link is
    the secret), over stdio the archive in archive_base64. Errors: NotFound,
    LimitExceeded, RateLimited (too many archives being built or waiting)."""
    me, s = call.me, call.services
    space, backup = split_backup_id(backup_id)
    return await call.deliver(await s.backups.download(me, space, backup))


@tool(Permission.MANAGE, audited=True)
async def backup_delete(call: Call, backup_id: str, confirm: bool = False) -> dict[str, Any]:
    """Delete a backup for good (needs manage). backup_id as given by backup_list;
    pass confirm=true. Errors: NotFound, InvalidInput."""
    me, s = call.me, call.services
    if confirm is not True:
        raise InvalidInput("deleting a backup cannot be undone: call again with confirm=true")
    space, backup = split_backup_id(backup_id)
    await s.backups.delete(me, space, backup)
    return {"status": "deleted", "backup_id": backup_id}


@tool(Permission.ADMIN, audited=True)
async def admin_create_token(
    call: Call, name: str, permissions: str, space_ids: str | list[str] = "", expires_in_days: int = 0
) -> dict[str, Any]:
    """Create a token (needs admin). name: the agent's identity. permissions: read,
    write, manage or admin (the highest one listed counts), at most your own.
    space_ids: comma-separated, within your own; empty for all of yours. The secret
    is shown in this answer only, never again."""
    me, s = call.me, call.services
    issued = await s.auth.create(
        me, name, highest_permission(permissions), comma_list(space_ids) or None, expires_in_days or None
    )
    return {
        "status": "created",
        **token_dict(issued.record),
        "token": issued.secret,
        "warning": "this token is shown once: store it now",
    }


@tool(Permission.ADMIN)
async def admin_list_tokens(call: Call) -> dict[str, Any]:
    """Every token's metadata: id, hash, name, permission, spaces, expiry, revoked.
    Secrets are never stored, so never shown (needs admin)."""
    me, s = call.me, call.services
    tokens = [token_dict(r) for r in await s.auth.list(me)]
    return {"status": "ok", "tokens": tokens, "total": len(tokens)}


@tool(Permission.ADMIN, audited=True)
async def admin_update_token(
    call: Call, token_hash: str, space_ids: str | list[str] = "", permissions: str = ""
) -> dict[str, Any]:
    """Change a token's spaces and/or permission (needs admin); empty means unchanged.
    token_hash: the token's id, hash, or hash prefix (16 digits or more) from
    admin_list_tokens."""
    me, s = call.me, call.services
    record = await s.auth.update(
        me,
        await s.auth.resolve(me, token_hash),
        highest_permission(permissions) if permissions else None,
        comma_list(space_ids) or None,
    )
    return {"status": "ok", **token_dict(record)}


@tool(Permission.ADMIN, audited=True)
async def admin_revoke_token(call: Call, token_hash: str) -> dict[str, Any]:
    """Revoke a token: it stops working at once, on every replica (needs admin).
    token_hash: the token's id, hash, or hash prefix (16 digits or more) from
    admin_list_tokens. Errors: NotFound."""
    me, s = call.me, call.services
    return {"status": "ok", **token_dict(await s.auth.revoke(me, await s.auth.resolve(me, token_hash)))}


@tool(Permission.ADMIN, audited=True)
async def admin_delete_token(call: Call, token_hash: str) -> dict[str, Any]:
    """Delete a token's record for good (needs admin); revoke first to keep an audit trail.
    token_hash: the token's id, hash, or hash prefix (16 digits or more) from
    admin_list_tokens. Errors: NotFound."""
    me, s = call.me, call.services
    token_id = await s.auth.resolve(me, token_hash)
    await s.auth.delete(me, token_id)
    return {"status": "deleted", "token_id": token_id}


@tool(Permission.ADMIN, audited=True)
async def admin_purge_tokens(call: Call) -> dict[str, Any]:
    """Delete the records of every revoked or expired token (needs admin)."""
    me, s = call.me, call.services
    purged = await s.auth.purge(me)
    audit_fact(purged=len(purged), purged_ids=",".join(r.token_id for r in purged)[:300])
    return {"status": "ok", "purged": len(purged), "tokens": [token_dict(r) for r in purged]}


@tool(Permission.ADMIN, audited=True)
async def admin_bulk_update_tokens(
    call: Call, token_hashes: str | list[str], space_ids: str | list[str] = "", permissions: str = ""
) -> dict[str, Any]:
    """Change the spaces and/or permission of several tokens at once (needs admin),
    all or none. token_hashes: ids, hashes or hash prefixes (16 digits or more),
    comma-separated or a list; empty space_ids or permissions mean unchanged."""
    me, s = call.me, call.services
    records = await s.auth.bulk_update(
        me,
        comma_list(token_hashes),
        highest_permission(permissions) if permissions else None,
        comma_list(space_ids) or None,
    )
    audit_fact(updated_ids=",".join(r.token_id for r in records)[:300])
    return {"status": "ok", "updated": len(records), "tokens": [token_dict(r) for r in records]}


@tool(Permission.ADMIN, audited=True)
async def admin_gc_notes(
    call: Call, space_id: str = "", older_than_days: int = 7, delete_only: bool = False, dry_run: bool = True
) -> dict[str, Any]:
    """Live notes older than older_than_days (needs admin). dry_run (the default)
    counts them per space; otherwise each space holding some is consolidated (every
    live note goes into the bank and the archive), or with delete_only the old notes
    are deleted unconsolidated (lost). space_id: one space, or every one."""
    me, s = call.me, call.services
    report = gc_dict(
        await s.supervision.gc_notes(me, space_id, older_than_days, delete_only=delete_only, dry_run=dry_run)
    )
    audit_fact(**{k: v for k, v in report.items() if isinstance(v, int | str | bool)})
    return {"status": "ok", **report}


@tool(Permission.ADMIN, audited=True)
async def admin_break_lease(
    call: Call, space_id: str, confirm: bool = False, discard_journal: str = ""
) -> dict[str, Any]:
    """The space's consolidation lease (needs admin): state free, held or expired,
    holder (a job id, backup-..., delete-..., or unreadable), expires_at, and
    unfinished_journals (prepared, rolled forward by every run). With confirm=true
    the lease is removed, for a holder that died or hangs: a consolidation still
    running stops before its next batch; nothing it committed is lost. With
    confirm=true and discard_journal (a run id from unfinished_journals) that
    journal is abandoned, for one that can never commit: its live notes stay live."""
    me, s = call.me, call.services
    lease = await s.supervision.lease(me, space_id, break_it=confirm is True, discard_journal=discard_journal)
    audit_fact(state=lease.state, holder=lease.holder or "", broken=lease.broken)
    return {"status": "ok", **lease_dict(lease)}


@tool(Permission.ADMIN, audited=True)
async def admin_import_notes(call: Call, space_id: str, jsonl: str) -> dict[str, Any]:
    """Import notes with their own timestamps and authors (needs admin). jsonl: JSON
    Lines, one object a line with timestamp (ISO 8601; UTC when no zone), agent,
    category, content and optional tags. Idempotent: notes the space already holds
    are skipped. Errors: InvalidInput naming every bad line (nothing is written then)."""
    me, s = call.me, call.services
    report = await s.imports.import_notes(me, space_id, jsonl)
    return {"status": "ok", "space_id": space_id, **attrs.asdict(report)}


@tool(Permission.ADMIN)
async def admin_audit_log(
    call: Call, space_id: str = "", since: str = "", limit: int = 100, until: str = ""
) -> dict[str, Any]:
    """The audit log, newest first (needs admin): every state-changing call (spaces,
    tokens, backups and restores, imports, consolidation requests, compactions) and
    the end of every consolidation run, with time, token (hash prefix) and name,
    action, space, target, outcome, request id, detail (mode and effect) and count.
    Never a secret. space_id: one space, or all; since, until: ISO 8601 (UTC
    without a zone); limit: 1-1000."""
    me, s = call.me, call.services
    records = await s.audit.read(me, space_id, since, limit, until)
    entries = [{**attrs.asdict(r), "at": r.at.isoformat()} for r in records]
    return {"status": "ok", "records": entries, "count": len(entries)}


ADMIN_TOOLS: Final[tuple[Tool, ...]] = (
    backup_create,
    backup_list,
    backup_restore,
    backup_download,
    backup_delete,
    admin_create_token,
    admin_list_tokens,
    admin_update_token,
    admin_revoke_token,
    admin_delete_token,
    admin_purge_tokens,
    admin_bulk_update_tokens,
    admin_gc_notes,
    admin_break_lease,
    admin_import_notes,
    admin_audit_log,
)
