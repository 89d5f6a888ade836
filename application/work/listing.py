"""What listing the work returns: items with their claims, pages, a note's effects."""

from __future__ import annotations

from datetime import datetime
from typing import Final

import attrs

from domain import InvalidInput
from domain.work import Claim, ItemState, WorkItem

__all__ = ["STATES", "ItemPage", "ItemView", "NoteEffects", "states"]

STATES: Final = ("open", "claimed", "done", "answered", "dropped")


@attrs.frozen
class ItemView:
    """A work item with its live claim, if any; ``state`` is ``claimed`` for an open
    item that a live claim holds."""

    item: WorkItem
    claim: Claim | None = None

    @property
    def state(self) -> str:
        """open, claimed, done, answered or dropped."""
        if self.item.state is ItemState.OPEN and self.claim is not None:
            return "claimed"
        return self.item.state.value


@attrs.frozen
class ItemPage:
    """One page of work items, newest first; ``next_cursor`` None on the last page;
    ``now``: the time it was read at (ages count to it)."""

    items: list[ItemView]
    next_cursor: str | None
    total_matching: int
    now: datetime


@attrs.frozen
class NoteEffects:
    """What a note did to the work: the items it settled, and the references it made
    that settled nothing (``id: why``)."""

    settled: list[str] = attrs.Factory(list)
    not_settled: list[str] = attrs.Factory(list)


def states(value: str) -> set[str]:
    """The states a filter names (comma-separated, or ``all``). Raises ``InvalidInput``."""
    if not isinstance(value, str):
        raise InvalidInput("state must be a comma-separated list of states, or all")
    if value.strip() == "all":
        return set(STATES)
    wanted = {s.strip() for s in value.split(",") if s.strip()}
    if not wanted or wanted - set(STATES):
        raise InvalidInput(f"state must be 'all' or a comma-separated list of {', '.join(sorted(STATES))}")
    return wanted
