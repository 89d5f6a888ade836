"""``live-mem serve --quickstart``: two tokens that survive restarts, and a banner.

Quickstart gives the person an admin token (``quickstart-admin``) and the coding agents
a write token for every space (``quickstart-agent``), so that the client configurations
it prints never hand an agent admin rights. Their secrets are kept, readable by the
owner only (mode 0600), in a file beside the data directory (``data.quickstart.json``
for ``./data``; ``.live-mem-quickstart.json`` in the working directory on S3), so that
each run prints the same tokens and pasted configurations keep working. A token that no
longer authenticates (revoked, expired, deleted) is replaced, and the banner says so.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Final

import attrs

from application.services import Services
from domain import AuthenticationFailed, Identity
from interfaces.bootstrap import Settings
from interfaces.client_configs import client_configs

__all__ = [
    "QUICKSTART_ADMIN",
    "QUICKSTART_AGENT",
    "QuickstartTokens",
    "banner",
    "quickstart_tokens",
    "secrets_path",
]

QUICKSTART_ADMIN: Final = "quickstart-admin"
QUICKSTART_AGENT: Final = "quickstart-agent"


@attrs.frozen
class QuickstartTokens:
    """The two secrets, and the names of those made new by this run (replaced ones too)."""

    admin: str
    agent: str
    new: tuple[str, ...] = ()


def secrets_path(settings: Settings) -> Path:
    """Where quickstart keeps its secrets (module docstring)."""
    if settings.s3 is not None:
        return Path(".live-mem-quickstart.json")
    data = settings.data_dir.resolve()
    return data.with_name(f"{data.name}.quickstart.json")


def _load(path: Path) -> dict[str, str]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return (
        {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
        if isinstance(raw, dict)
        else {}
    )


def _save(path: Path, secrets: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(secrets, file)
    path.chmod(0o600)


async def _still_valid(services: Services, secret: str | None, name: str) -> bool:
    if not secret:
        return False
    try:
        identity = await services.auth.authenticate(secret)
    except AuthenticationFailed:
        return False
    return identity.name.value == name


async def quickstart_tokens(services: Services, admin: Identity, path: Path) -> QuickstartTokens:
    """The admin and agent tokens: those kept at ``path`` while they still work, else
    new ones (the records of earlier quickstart tokens of that name are deleted first,
    so that runs do not pile up tokens that never expire)."""
    kept = _load(path)
    secrets: dict[str, str] = {}
    new: list[str] = []
    for name, permission in ((QUICKSTART_ADMIN, "admin"), (QUICKSTART_AGENT, "write")):
        if await _still_valid(services, kept.get(name), name):
            secrets[name] = kept[name]
            continue
        for record in await services.auth.list(admin):
            if record.name.value == name:
                await services.auth.delete(admin, record.token_id)
        secrets[name] = (await services.auth.create(admin, name, permission, ["*"])).secret
        new.append(name)
    if new:
        _save(path, secrets)
    return QuickstartTokens(secrets[QUICKSTART_ADMIN], secrets[QUICKSTART_AGENT], tuple(new))


def _cli_path() -> str:
    """How to call this CLI from the working directory (``.venv/bin/live-mem`` after
    ``make run``; ``live-mem`` when it is not a script path)."""
    script = Path(sys.argv[0])
    if script.name != "live-mem" or not script.exists():
        return "live-mem"
    try:
        return shlex.quote(os.path.relpath(script))
    except ValueError:
        return shlex.quote(str(script))


def banner(
    settings: Settings, store: str, tokens: QuickstartTokens, path: Path, *, fresh_install: bool
) -> str:
    """What quickstart prints: the URLs, the store, both tokens (said whether kept or
    new), first steps, and client configurations with the agent token."""
    url = f"{settings.base_url}/mcp"
    cli = _cli_path()

    def said(name: str) -> str:
        if name not in tokens.new:
            return "kept from the last run"
        return "new" if fresh_install else "new: the previous one stopped working and was replaced"

    lines = [
        "",
        "live-mem is running",
        f"  web page:                  {settings.base_url}/ui   (sign in with the admin token)",
        f"  MCP URL (streamable HTTP): {url}",
        f"  legacy SSE:                {settings.base_url}/sse",
        f"  store:                     {store}",
        f"  admin token, for you:      {tokens.admin}   ({said(QUICKSTART_ADMIN)})",
        f"  write token, for agents:   {tokens.agent}   ({said(QUICKSTART_AGENT)})",
        f"  both kept in {path} (mode 0600); delete it to get new ones",
        "",
        "First steps:",
        f"  1. create a space:  LIVE_MEM_TOKEN={tokens.admin} {cli} spaces create my-project",
        "     (or in the web page's Admin tab; agents can also call space_create)",
        "  2. give each agent its own token (notes are signed with the token's name):",
        f"     LIVE_MEM_TOKEN={tokens.admin} {cli} tokens create claude --permission write",
        "  3. paste a configuration below into each agent; tell it the space to use, and to",
        "     call memory_context at the start of a task (README: what to put in its rules)",
        "",
    ]
    for client, snippet in client_configs(url, tokens.agent).items():
        lines += [f"--- {client}", snippet, ""]
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)
