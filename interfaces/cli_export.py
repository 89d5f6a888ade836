"""``live-mem spaces export SPACE FILE``: the whole space as a tar.gz written to a local
file, through the same use case as the ``space_export`` tool (read permission on the
space), without the bound on an archive handed out over MCP (``EXPORT_MAX_BYTES``):
the operator's machine receives it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from application.services import Services
from domain import Identity
from interfaces.cli_common import emit, json_option, run_as, token_option

__all__ = ["export"]


@click.command("export")
@click.argument("space_id")
@click.argument("output", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@token_option
@json_option
def export(space_id: str, output: Path, token: str | None, as_json: bool) -> None:
    """Write the whole space as a tar.gz archive to OUTPUT (which must not exist)."""
    if output.exists():
        raise click.ClickException(f"{output} exists; name a new file")

    async def work(services: Services, me: Identity) -> dict[str, object]:
        download = await services.spaces.export(me, space_id, bounded=False)
        _, chunks = await services.downloads.claim(download.ticket)
        with output.open("xb") as file:
            async for chunk in chunks:
                await asyncio.to_thread(file.write, chunk)
        return {
            "space_id": space_id,
            "file": str(output),
            "size": download.size,
            "files_count": download.files,
            "sha256": download.sha256,
        }

    written = run_as(work, token)
    emit(
        as_json,
        written,
        lambda d: f"wrote {d['file']}: {d['size']} bytes, {d['files_count']} files, sha256 {d['sha256']}",
    )
