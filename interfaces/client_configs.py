"""Ready-to-paste MCP client configurations for a running server."""

from __future__ import annotations

import json

__all__ = ["client_configs"]


def client_configs(url: str, token: str) -> dict[str, str]:
    """Configuration snippets by client name (Claude Code, Cline, Codex, generic).

    Args:
        url: the streamable HTTP endpoint, ending in ``/mcp``.
        token: a bearer token secret.
    """
    header = {"Authorization": f"Bearer {token}"}
    return {
        "Claude Code (shell)": (
            f'claude mcp add --transport http live-mem {url} --header "Authorization: Bearer {token}"'
        ),
        "Cline (cline_mcp_settings.json)": json.dumps(
            {"mcpServers": {"live-mem": {"type": "streamableHttp", "url": url, "headers": header}}}, indent=2
        ),
        "Codex (~/.codex/config.toml; export LIVE_MEM_TOKEN first)": (
            f'[mcp_servers.live-mem]\nurl = "{url}"\nbearer_token_env_var = "LIVE_MEM_TOKEN"'
        ),
        "Generic MCP client (streamable HTTP)": json.dumps({"url": url, "headers": header}, indent=2),
    }
