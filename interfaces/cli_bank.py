"""``live-mem bank``: list and read the memory bank, and apply its budgets, through the
same use cases as the bank tools."""

from __future__ import annotations

import click

from interfaces.cli_common import emit, json_option, run_as, token_option
from interfaces.edge.shapes import bank_info_dict, report_dict

__all__ = ["bank"]


@click.group()
def bank() -> None:
    """Read the memory bank and apply its budgets."""


@bank.command("list")
@click.argument("space_id")
@token_option
@json_option
def bank_list(space_id: str, token: str | None, as_json: bool) -> None:
    """List bank files with sizes."""
    infos = run_as(lambda s, me: s.bank.list(me, space_id), token)
    data = [bank_info_dict(i) for i in infos]
    emit(as_json, data, lambda d: "\n".join(f"{f['size']:>8}  {f['filename']}" for f in d) or "empty bank")


@bank.command("compact")
@click.argument("space_id")
@token_option
@json_option
def bank_compact(space_id: str, token: str | None, as_json: bool) -> None:
    """Apply the bank's token budgets now, archiving what passes them (manage)."""
    report = report_dict(run_as(lambda s, me: s.jobs.compact(me, space_id), token))
    emit(
        as_json,
        report,
        lambda r: (
            f"hot bank {r['hot_tokens']} tokens; {len(r['archive_files'])} archive files written"
            if r["batches"]
            else "the bank already fits its budgets"
        ),
    )


@bank.command("read")
@click.argument("space_id")
@click.argument("filename")
@token_option
@json_option
def bank_read(space_id: str, filename: str, token: str | None, as_json: bool) -> None:
    """Print one bank file."""
    file = run_as(lambda s, me: s.bank.read(me, space_id, filename), token)
    emit(as_json, {"filename": file.name.value, "content": file.content}, lambda d: str(d["content"]))
