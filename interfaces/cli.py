"""The ``live-mem`` command line (click)."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from application.store import StoreError
from interfaces import bootstrap

__all__ = ["main"]


@click.group()
@click.version_option(package_name="live-mem")
def main() -> None:
    """live-mem: shared working memory for AI agents (an MCP server)."""


@main.group()
def store() -> None:
    """Inspect the configured object store."""


@store.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def store_check(as_json: bool) -> None:
    """Check that the configured store answers and accepts our credentials."""
    try:
        settings = bootstrap.load_settings()
    except bootstrap.SettingsError as exc:
        raise click.ClickException(str(exc)) from exc

    async def check() -> str | None:
        opened = await bootstrap.open_store(settings)
        try:
            await opened.ping()
        except StoreError as exc:
            return str(exc)
        finally:
            await opened.close()
        return None

    error = asyncio.run(check())
    where = bootstrap.describe_store(settings)
    if as_json:
        click.echo(json.dumps({"store": where, "ok": error is None, "error": error}))
    else:
        click.echo(f"{where}: {'ok' if error is None else error}")
    sys.exit(0 if error is None else 1)
