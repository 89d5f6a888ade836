"""``live-mem tokens create|list|revoke``: token administration from the command line,
through the same :class:`AuthService` as the admin tools."""

from __future__ import annotations

import click

from interfaces.cli_common import emit as _emit
from interfaces.cli_common import json_option, token_option
from interfaces.cli_common import run_as as _run

__all__ = ["tokens"]


@click.group()
def tokens() -> None:
    """Create, list and revoke tokens (admin)."""


@tokens.command("create")
@click.argument("name")
@click.option("--permission", type=click.Choice(["read", "write", "manage", "admin"]), default="write")
@click.option("--space", "spaces", multiple=True, help="A space the token may use (repeat); none means all.")
@click.option("--expires-in-days", type=int)
@token_option
@json_option
def tokens_create(
    name: str,
    permission: str,
    spaces: tuple[str, ...],
    expires_in_days: int | None,
    token: str | None,
    as_json: bool,
) -> None:
    """Create a token; its secret is printed once."""
    issued = _run(
        lambda s, me: s.auth.create(me, name, permission, list(spaces) or None, expires_in_days), token
    )
    data = {
        "token_id": issued.record.token_id,
        "name": name,
        "permission": permission,
        "spaces": list(issued.record.spaces),
        "token": issued.secret,
    }
    _emit(as_json, data, lambda d: f"created token {d['token_id']} for {d['name']}: {d['token']}")


@tokens.command("list")
@token_option
@json_option
def tokens_list(token: str | None, as_json: bool) -> None:
    """List token metadata (never secrets)."""
    records = _run(lambda s, me: s.auth.list(me), token)
    data = [
        {
            "token_id": r.token_id,
            "name": r.name.value,
            "permission": r.permission.label,
            "spaces": list(r.spaces),
            "revoked": r.revoked,
        }
        for r in records
    ]
    _emit(
        as_json,
        data,
        lambda d: (
            "\n".join(
                f"{r['token_id']}  {r['name']:<24} {r['permission']:<7} {','.join(r['spaces'])}"
                f"{'  (revoked)' if r['revoked'] else ''}"
                for r in d
            )
            or "no tokens"
        ),
    )


@tokens.command("revoke")
@click.argument("token_id")
@token_option
@json_option
def tokens_revoke(token_id: str, token: str | None, as_json: bool) -> None:
    """Revoke a token by id."""
    record = _run(lambda s, me: s.auth.revoke(me, token_id), token)
    _emit(
        as_json,
        {"token_id": record.token_id, "name": record.name.value, "revoked": True},
        lambda d: f"revoked {d['token_id']}",
    )
