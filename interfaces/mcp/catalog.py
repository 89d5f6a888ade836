"""Every MCP tool, in the order ``tools/list`` gives them, and the permission each is
offered to. Each tool declares its permission where it is defined
(:func:`interfaces.mcp.context.tool`); the services still decide every call (a tool
outside a token's permission stays refused, with the same error): the permission only
keeps a token from paying, in its context, for tools it can never use.
``tests/test_mcp_authorization.py`` checks it against the authorization matrix, tool by
tool."""

from __future__ import annotations

from typing import Final

from domain import Permission
from interfaces.mcp.context import Tool
from interfaces.mcp.tools_admin import ADMIN_TOOLS
from interfaces.mcp.tools_bank import BANK_TOOLS
from interfaces.mcp.tools_context import CONTEXT_TOOLS
from interfaces.mcp.tools_core import CORE_TOOLS
from interfaces.mcp.tools_work import WORK_TOOLS

__all__ = ["TOOLS", "TOOL_PERMISSIONS"]

TOOLS: Final[tuple[Tool, ...]] = (*CORE_TOOLS, *BANK_TOOLS, *ADMIN_TOOLS, *WORK_TOOLS, *CONTEXT_TOOLS)
TOOL_PERMISSIONS: Final[dict[str, Permission]] = {t.name: t.permission for t in TOOLS}
