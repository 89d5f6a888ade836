"""The MCP edge: tools over the use-case services."""

from interfaces.mcp.server import build_mcp_server

__all__ = ["build_mcp_server"]
