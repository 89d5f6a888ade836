"""``live-mem work items|claim|release|done|drop|presence``: the state of the work from
the command line, through the same :class:`WorkService` and :class:`PresenceService` as
the ``work_*`` MCP tools (same shapes with ``--json``)."""

from __future__ import annotations

from typing import Any

import click

from domain.work import CLAIM_TTL_DEFAULT
from interfaces.cli_common import emit as _emit
from interfaces.cli_common import json_option, token_option
from interfaces.cli_common import run_as as _run
from interfaces.edge.shapes import activity_dict, claim_dict, item_dict, settled_dict

__all__ = ["work"]

space_option = click.option("--space", "space_id", required=True, help="The space.")


@click.group()
def work() -> None:
    """Work items, claims and who is active in a space."""


def _item_line(d: dict[str, Any]) -> str:
    held = f"  [{d['state']} by {d['claimed_by']}]" if d["claimed_by"] else f"  [{d['state']}]"
    return f"{d['item_id']}  {d['created_at'][:10]}  {d['agent']:<16} {d['category']:<8} {d['title']}{held}"


def _said_settled(d: dict[str, Any]) -> str:
    return f"{d['item_id']} {d['status']} (progress note {d['note_id']})"


@work.command("items")
@space_option
@click.option("--state", default="open,claimed", show_default=True, help="States, comma-separated, or all.")
@click.option("--category", default="", help="todo, issue or question.")
@click.option("--agent", default="", help="Only items this agent wrote.")
@click.option("--claimant", default="", help="Only items this agent has claimed.")
@click.option("--limit", type=int, default=50, show_default=True)
@token_option
@json_option
def work_items(
    space_id: str,
    state: str,
    category: str,
    agent: str,
    claimant: str,
    limit: int,
    token: str | None,
    as_json: bool,
) -> None:
    """List work items, newest first."""
    page = _run(
        lambda s, me: s.work.list_items(
            me, space_id, state=state, category=category, agent=agent, claimant=claimant, limit=limit
        ),
        token,
    )
    data = {"items": [item_dict(v, page.now) for v in page.items], "total": page.total_matching}
    _emit(as_json, data, lambda d: "\n".join(_item_line(i) for i in d["items"]) or "no work items")


@work.command("claim")
@click.argument("resource")
@space_option
@click.option("--ttl", "ttl_seconds", type=int, default=CLAIM_TTL_DEFAULT, show_default=True, help="Seconds.")
@token_option
@json_option
def work_claim(resource: str, space_id: str, ttl_seconds: int, token: str | None, as_json: bool) -> None:
    """Claim RESOURCE (a work item id, or a name like file:docs/setup.md); again to renew."""
    claim = _run(lambda s, me: s.work.claim(me, space_id, resource, ttl_seconds), token)
    _emit(as_json, claim_dict(claim), lambda d: f"claimed {d['resource']} until {d['until']}")


@work.command("release")
@click.argument("resource")
@space_option
@click.option("--force", is_flag=True, help="Release another agent's claim (manage).")
@token_option
@json_option
def work_release(resource: str, space_id: str, force: bool, token: str | None, as_json: bool) -> None:
    """Release a claim on RESOURCE."""
    released = _run(lambda s, me: s.work.release(me, space_id, resource, force=force), token)
    data = claim_dict(released) if released is not None else {"resource": resource, "released": False}
    _emit(as_json, data, lambda d: f"released {resource}" if d["released"] else f"{resource} was not held")


@work.command("done")
@click.argument("item_id")
@space_option
@click.option("--outcome", required=True, help="What was done, or the answer.")
@token_option
@json_option
def work_done(item_id: str, space_id: str, outcome: str, token: str | None, as_json: bool) -> None:
    """Mark ITEM_ID done (or answered, for a question)."""
    item = _run(lambda s, me: s.work.finish(me, space_id, item_id, outcome), token)
    _emit(as_json, settled_dict(item), _said_settled)


@work.command("drop")
@click.argument("item_id")
@space_option
@click.option("--reason", required=True, help="Why it will not be done.")
@token_option
@json_option
def work_drop(item_id: str, space_id: str, reason: str, token: str | None, as_json: bool) -> None:
    """Drop ITEM_ID (its author, or manage)."""
    item = _run(lambda s, me: s.work.drop(me, space_id, item_id, reason), token)
    _emit(as_json, settled_dict(item), _said_settled)


@work.command("presence")
@space_option
@token_option
@json_option
def work_presence(space_id: str, token: str | None, as_json: bool) -> None:
    """Who works in the space, most recent first."""
    team = _run(lambda s, me: s.presence.team(me, space_id), token)
    data = [activity_dict(a) for a in team]

    def line(a: dict[str, Any]) -> str:
        held = a["items"] + a["resources"]
        holds = f"  holds {', '.join(held)}" if held else ""
        return f"{'*' if a['active'] else ' '} {a['agent']:<20} last {a['last_activity_at'][:19]}{holds}"

    def human(d: list[dict[str, Any]]) -> str:
        return "\n".join(line(a) for a in d) or "nobody yet"

    _emit(as_json, data, human)
