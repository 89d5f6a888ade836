"""What the work tools, the work CLI and the page's work endpoints answer: JSON-ready
dicts of work items, claims and presence (one shape for all three; no MCP import, so the
CLI stays light)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.work.listing import ItemView
from application.work.presence import AgentActivity
from domain.work import Claim

__all__ = ["activity_dict", "claim_dict", "item_dict"]


def item_dict(view: ItemView, now: datetime) -> dict[str, Any]:
    """A work item: its id, category, author, title, state (open, claimed, done,
    answered, dropped), its claim and how it was settled."""
    item, claim = view.item, view.claim
    return {
        "item_id": item.item_id,
        "category": item.category.value,
        "agent": item.agent.value,
        "title": item.title,
        "state": view.state,
        "created_at": item.created_at.isoformat(),
        "age_seconds": int((now - item.created_at).total_seconds()),
        "claimed_by": claim.holder.value if claim is not None else None,
        "claimed_until": claim.until.isoformat() if claim is not None else None,
        "settled_by": item.settled_by.value if item.settled_by is not None else None,
        "settled_at": item.settled_at.isoformat() if item.settled_at is not None else None,
        "outcome": item.outcome,
        "settled_note": item.settled_note or None,
    }


def claim_dict(claim: Claim) -> dict[str, Any]:
    """A claim: resource, holder, since, until, released, and the item it is on."""
    return {
        "resource": claim.resource,
        "holder": claim.holder.value,
        "since": claim.since.isoformat(),
        "until": claim.until.isoformat(),
        "released": claim.released,
        "item_id": claim.item_id,
    }


def activity_dict(activity: AgentActivity) -> dict[str, Any]:
    """An agent's presence in a space."""
    return {
        "agent": activity.agent.value,
        "active": activity.active,
        "last_activity_at": activity.last_activity_at.isoformat(),
        "last_note_at": activity.last_note_at.isoformat() if activity.last_note_at else None,
        "last_note_category": activity.last_note_category.value if activity.last_note_category else None,
        "items": list(activity.items),
        "resources": list(activity.resources),
    }
