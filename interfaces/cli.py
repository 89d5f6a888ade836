"""The ``live-mem`` command line (click): serve, and the same use cases as the MCP tools
for operators, with human output or ``--json``.

Commands act with ``--token``, else ``LIVE_MEM_TOKEN``, else ``ADMIN_BOOTSTRAP_KEY``.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import sys
from pathlib import Path
from typing import Any

import attrs
import click

from application.consolidation import JobRecord
from application.services import Services
from application.services.system import ping_within
from application.store import StoreError
from domain import DomainError, Identity, check_bootstrap_key
from interfaces import bootstrap
from interfaces.cli_bank import bank
from interfaces.cli_common import emit as _emit
from interfaces.cli_common import json_option, token_option
from interfaces.cli_common import run_as as _run
from interfaces.cli_common import settings as _settings
from interfaces.cli_export import export
from interfaces.cli_migrate import migrate
from interfaces.cli_tokens import tokens
from interfaces.cli_work import work
from interfaces.edge.shapes import job_dict

__all__ = ["main"]


@click.group()
@click.version_option(package_name="live-mem")
@click.pass_context
def main(context: click.Context) -> None:
    """live-mem: shared working memory for AI agents (an MCP server)."""
    # The server logs its work; a one-shot command prints its answer and logs only trouble.
    bootstrap.configure_logging("INFO" if context.invoked_subcommand == "serve" else "WARNING")


@main.command()
@click.option("--stdio", is_flag=True, help="Serve MCP over stdin/stdout for one local client.")
@click.option("--host", help="Bind address (LIVE_MEM_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port (MCP_SERVER_PORT, default 8080).")
@click.option("--quickstart", is_flag=True, help="Create an admin token and print client configurations.")
def serve(stdio: bool, host: str | None, port: int | None, quickstart: bool) -> None:
    """Run the server: MCP at /mcp (streamable HTTP) and /sse, plus /health and /metrics."""
    from interfaces.serve import run_http, run_stdio  # noqa: PLC0415 - the server stack, for serve only

    settings = _settings(host=host, port=port)
    if stdio:
        if not settings.local_token:
            raise click.ClickException(
                "serve --stdio acts with the token in LIVE_MEM_TOKEN, which is not set: create one with "
                "'live-mem tokens create NAME' and pass it in the client's env"
            )
        try:
            asyncio.run(run_stdio(settings))
        except (DomainError, StoreError, bootstrap.SettingsError) as exc:
            raise click.ClickException(str(exc)) from None
        return
    if quickstart and not settings.admin_bootstrap_key:
        settings = attrs.evolve(settings, admin_bootstrap_key=secrets.token_urlsafe(32))
    if settings.admin_bootstrap_key:
        try:  # before the port probe: a bad key is the first thing to fix
            check_bootstrap_key(settings.admin_bootstrap_key)
        except DomainError as exc:
            raise click.ClickException(str(exc)) from exc
    _require_free_port(settings.host, settings.port)  # before anything is minted or printed

    async def announce(services: Services) -> None:
        if not quickstart:
            return
        from interfaces import quickstart as qs  # noqa: PLC0415 - only for --quickstart

        path = qs.secrets_path(settings)
        fresh = not path.exists()
        admin = await services.auth.authenticate(settings.admin_bootstrap_key or "")
        tokens = await qs.quickstart_tokens(services, admin, path)
        click.echo(qs.banner(settings, bootstrap.describe_store(settings), tokens, path, fresh_install=fresh))

    try:
        asyncio.run(run_http(settings, on_ready=announce))
    except (DomainError, StoreError, bootstrap.SettingsError) as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def store() -> None:
    """Inspect the configured object store."""


@store.command("check")
@json_option
def store_check(as_json: bool) -> None:
    """Check that the configured store answers and accepts our credentials, within
    HEALTH_TIMEOUT_SECONDS (progress on stderr; with --json, errors as JSON too)."""
    settings = _settings()
    where = bootstrap.describe_store(settings)
    click.echo(f"checking {where} (at most {settings.health_timeout:g} s) ...", err=True)

    async def check() -> str | None:
        try:
            opened = await bootstrap.open_store(settings)
        except StoreError as exc:
            return str(exc)
        try:
            return await ping_within(opened, settings.health_timeout)
        finally:
            await opened.close()

    error = asyncio.run(check())
    _emit(
        as_json,
        {"store": where, "ok": error is None, "error": error},
        lambda d: f"{d['store']}: {'ok' if d['ok'] else d['error']}",
    )
    sys.exit(0 if error is None else 1)


def _require_free_port(host: str, port: int) -> None:
    """Exit in one line when the port is taken (instead of a traceback after start-up)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # as the server binds (asyncio sets SO_REUSEADDR on POSIX): a port left in
        # TIME_WAIT by the last run is free, one that something listens on is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"cannot listen on {host}:{port}: {exc.strerror}; stop what uses it or set MCP_SERVER_PORT"
            ) from None


@main.group()
def spaces() -> None:
    """Create, list and export spaces."""


@spaces.command("list")
@token_option
@json_option
def spaces_list(token: str | None, as_json: bool) -> None:
    """List the spaces the token may use."""
    metas = _run(lambda s, me: s.spaces.list(me), token)
    data = [
        {"space_id": m.space_id.value, "description": m.description, "owner": m.owner.value} for m in metas
    ]
    _emit(
        as_json,
        data,
        lambda d: "\n".join(f"{m['space_id']:<24} {m['description']}" for m in d) or "no spaces",
    )


@spaces.command("create")
@click.argument("space_id")
@click.option("--description", default="")
@click.option("--rules", "rules_file", type=click.File("r", encoding="utf-8"), help="Markdown rules file.")
@token_option
@json_option
def spaces_create(space_id: str, description: str, rules_file: Any, token: str | None, as_json: bool) -> None:
    """Create a space (with rules from a file, or the default rules)."""
    rules = rules_file.read() if rules_file else ""
    meta = _run(lambda s, me: s.spaces.create(me, space_id, description, rules), token)
    data = {"space_id": meta.space_id.value, "owner": meta.owner.value, "created_at": meta.created_at}
    _emit(as_json, data, lambda d: f"created space {d['space_id']}")


@main.group()
def notes() -> None:
    """Write and read live notes."""


@notes.command("write")
@click.argument("space_id")
@click.argument("category")
@click.argument("content")
@click.option("--tags", default="", help="Comma-separated tags, e.g. --tags api,auth.")
@token_option
@json_option
def notes_write(
    space_id: str, category: str, content: str, tags: str, token: str | None, as_json: bool
) -> None:
    """Append a note as the token's agent."""
    listed = [t.strip() for t in tags.split(",") if t.strip()]
    note = _run(lambda s, me: s.notes.write(me, space_id, category, content, listed), token)
    data = {
        "note_id": note.note_id,
        "agent": note.agent.value,
        "category": note.category.value,
        "tags": list(note.tags),
    }
    _emit(as_json, data, lambda d: f"wrote note {d['note_id']}")


@notes.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--space", "space_id", required=True, help="The space to import into.")
@token_option
@json_option
def notes_import(file: Path, space_id: str, token: str | None, as_json: bool) -> None:
    """Import notes from a JSON Lines FILE with their own timestamps and authors (admin).
    Idempotent: notes the space already holds are skipped; a bad line imports nothing."""
    text = file.read_text(encoding="utf-8")
    report = _run(lambda s, me: s.imports.import_notes(me, space_id, text), token)
    data = attrs.asdict(report)
    _emit(
        as_json,
        data,
        lambda d: f"imported {d['imported']} notes into {space_id}; {d['skipped']} already there",
    )


@notes.command("read")
@click.argument("space_id")
@click.option("--limit", type=int, default=20)
@click.option("--category")
@click.option("--agent")
@token_option
@json_option
def notes_read(
    space_id: str, limit: int, category: str | None, agent: str | None, token: str | None, as_json: bool
) -> None:
    """Show live notes, newest first."""
    page = _run(lambda s, me: s.notes.read(me, space_id, category=category, agent=agent, limit=limit), token)
    data = [
        {
            "timestamp": n.created_at.isoformat(),
            "agent": n.agent.value,
            "category": n.category.value,
            "content": n.content,
        }
        for n in page.notes
    ]
    _emit(
        as_json,
        data,
        lambda d: (
            "\n".join(f"{n['timestamp'][:19]} {n['agent']:<20} {n['category']:<11} {n['content']}" for n in d)
            or "no notes"
        ),
    )


@main.command()
@click.argument("space_id")
@click.option("--agent", default="", help="Only this agent's notes (manage needed for another agent).")
@token_option
@json_option
def consolidate(space_id: str, agent: str, token: str | None, as_json: bool) -> None:
    """Consolidate a space's live notes into its memory bank now, and print the report."""

    async def work(s: Services, me: Identity) -> JobRecord:
        job = await s.jobs.submit(me, space_id, agent)
        await s.jobs.drain()
        job = await s.jobs.status(me, job.job_id)
        if job.state.value in ("queued", "running"):  # joined a job another server runs
            click.echo(f"waiting for job {job.job_id}, run by {job.runner or 'another server'}", err=True)
        while job.state.value in ("queued", "running"):
            await asyncio.sleep(1.0)
            await s.jobs.submit(me, space_id, agent)  # takes it over if its runner died
            await s.jobs.drain()
            job = await s.jobs.status(me, job.job_id)
        return job

    job = _run(work, token)
    shaped = job_dict(job)
    data = {key: shaped[key] for key in ("job_id", "state", "runner", "error", "report")}
    _emit(as_json, data, _describe_job)
    sys.exit(0 if job.state.value == "succeeded" else 1)


def _describe_job(data: dict[str, Any]) -> str:
    report = data["report"] or {}
    lines = [f"job {data['job_id']}: {data['state']}"]
    if data["error"]:
        lines.append(f"error: {data['error']}")
    if report:
        lines.append(
            f"{report['notes_consumed']} notes in {report['batches']} batches, "
            f"{len(report['files_changed'])} files changed ({', '.join(report['files_changed'])}), "
            f"{report['tokens_in']} tokens in / {report['tokens_out']} out, {report['duration_s']} s, "
            f"mode {report['mode']}"
        )
    return "\n".join(lines)


@main.command()
@click.argument("space_id")
@click.argument("query")
@click.option("--scope", type=click.Choice(["all", "live", "bank", "archive"]), default="all")
@click.option("--limit", type=int, default=10)
@token_option
@json_option
def search(space_id: str, query: str, scope: str, limit: int, token: str | None, as_json: bool) -> None:
    """Ranked search over a space's notes, bank and archive."""
    found = _run(lambda s, me: s.search.search(me, space_id, query, scope=scope, limit=limit), token)
    data = [
        {"kind": h.doc.kind.value, "ref": h.doc.ref, "score": h.score, "snippet": h.snippet}
        for h in found.hits
    ]
    _emit(
        as_json,
        data,
        lambda d: (
            "\n".join(f"{r['score']:>7.2f}  {r['kind']:<7} {r['ref']}\n         {r['snippet']}" for r in d)
            or "no match"
        ),
    )


@main.command()
@click.option("--space", "space_id", default="", help="One space's records (default: all).")
@click.option("--limit", type=int, default=50)
@token_option
@json_option
def audit(space_id: str, limit: int, token: str | None, as_json: bool) -> None:
    """Show the audit log, newest first (admin)."""
    records = _run(lambda s, me: s.audit.read(me, space_id, "", limit), token)
    data = [{**attrs.asdict(r), "at": r.at.isoformat()} for r in records]
    _emit(
        as_json,
        data,
        lambda d: (
            "\n".join(
                f"{r['at'][:19]} {r['agent']:<20} {r['action']:<20} {r['space'] or '-':<16} {r['outcome']}"
                for r in d
            )
            or "no records"
        ),
    )


spaces.add_command(export)
main.add_command(bank)
main.add_command(tokens)
main.add_command(migrate)
main.add_command(work)

if __name__ == "__main__":  # python -m interfaces.cli
    main()
