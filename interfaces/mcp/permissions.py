"""The permission each MCP tool needs: what ``tools/list`` offers a token. The services
still decide every call (a tool outside a token's permission stays refused, with the
same error); this table only keeps a token from paying, in its context, for tools it
can never use. ``tests/test_mcp_authorization.py`` checks it against the authorization
matrix, tool by tool."""

from __future__ import annotations

from typing import Final

from domain import Permission

__all__ = ["TOOL_PERMISSIONS"]

TOOL_PERMISSIONS: Final[dict[str, Permission]] = {
    "backup_download": Permission.READ,
    "backup_list": Permission.READ,
    "bank_consolidation_queues": Permission.READ,
    "bank_consolidation_status": Permission.READ,
    "bank_history": Permission.READ,
    "bank_list": Permission.READ,
    "bank_read": Permission.READ,
    "bank_read_all": Permission.READ,
    "bank_stale_spaces": Permission.READ,
    "live_read": Permission.READ,
    "live_search": Permission.READ,
    "memory_context": Permission.READ,
    "memory_search": Permission.READ,
    "space_export": Permission.READ,
    "space_info": Permission.READ,
    "space_list": Permission.READ,
    "space_rules": Permission.READ,
    "space_summary": Permission.READ,
    "system_about": Permission.READ,
    "system_health": Permission.READ,
    "system_whoami": Permission.READ,
    "work_items": Permission.READ,
    "work_presence": Permission.READ,
    "bank_consolidate": Permission.WRITE,
    "live_note": Permission.WRITE,
    "work_claim": Permission.WRITE,
    "work_done": Permission.WRITE,
    "work_drop": Permission.WRITE,
    "work_release": Permission.WRITE,
    "backup_create": Permission.MANAGE,
    "backup_delete": Permission.MANAGE,
    "backup_restore": Permission.MANAGE,
    "bank_compact": Permission.MANAGE,
    "bank_repair": Permission.MANAGE,
    "space_create": Permission.MANAGE,
    "space_delete": Permission.MANAGE,
    "space_update": Permission.MANAGE,
    "space_update_rules": Permission.MANAGE,
    "admin_audit_log": Permission.ADMIN,
    "admin_break_lease": Permission.ADMIN,
    "admin_bulk_update_tokens": Permission.ADMIN,
    "admin_create_token": Permission.ADMIN,
    "admin_delete_token": Permission.ADMIN,
    "admin_gc_notes": Permission.ADMIN,
    "admin_import_notes": Permission.ADMIN,
    "admin_list_tokens": Permission.ADMIN,
    "admin_purge_tokens": Permission.ADMIN,
    "admin_revoke_token": Permission.ADMIN,
    "admin_update_token": Permission.ADMIN,
    "bank_delete": Permission.ADMIN,
    "bank_write": Permission.ADMIN,
}
"""Tool name -> the lowest permission that can use it."""
