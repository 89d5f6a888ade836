"""``live-mem migrate``: convert a bucket the public live-memory server wrote (see
:mod:`infrastructure.migration`). A dry run by default; ``--apply`` changes the bucket.
Like ``store check`` it works on the configured store directly, as the operator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from application.store import StoreError
from interfaces import bootstrap

__all__ = ["migrate"]


def _describe(report: dict[str, Any]) -> str:
    if report["nothing_to_do"]:
        left = "".join(f"\n  left in place: {s}" for s in report["skipped"])
        return f"nothing to convert: the bucket is in live-mem's layout{left}"
    verb = "converted" if report["applied"] else "would convert (dry run; --apply to do it)"
    lines = [
        f"{verb}: tokens file {'yes' if report['tokens'] else 'no'}, "
        f"{len(report['spaces'])} spaces, {report['notes']} notes, {report['syntheses']} syntheses, "
        f"{report['sentinels']} .keep sentinels",
    ]
    lines += [f"  space {s}" for s in report["spaces"]]
    lines += [
        f"  warning: token {name} will be an admin token for every space (its space_ids were empty)"
        for name in report.get("admin_everywhere", [])
    ]
    lines += [f"  left in place: {s}" for s in report["skipped"]]
    return "\n".join(lines)


@click.command("migrate")
@click.option("--apply", "apply_changes", is_flag=True, help="Change the bucket (default: a dry run).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def migrate(apply_changes: bool, as_json: bool) -> None:
    """Convert a bucket written by the public live-memory server, in place."""
    try:
        settings = bootstrap.load_settings()
    except bootstrap.SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        report = asyncio.run(bootstrap.migrate_public_bucket(settings, apply_changes=apply_changes))
    except StoreError as exc:
        raise click.ClickException(f"the store refused: {exc}") from None
    click.echo(json.dumps(report, indent=2) if as_json else _describe(report))
