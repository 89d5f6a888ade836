"""Who is active in a space: each agent's last note, last activity, and what it holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import attrs

from application.access import require_space_access
from application.ports import Clock, NoteRepository, SpaceRepository
from application.work.ports import PresenceRepository
from application.work.service import WorkService
from domain import AgentName, Identity, NoteCategory, Permission

__all__ = ["ACTIVE_WITHIN", "AgentActivity", "PresenceService"]

ACTIVE_WITHIN: Final = timedelta(minutes=30)
"""An agent whose last activity is this recent is listed as active."""


@attrs.frozen
class AgentActivity:
    """One agent's activity in a space.

    Attributes:
        agent: the agent (its token's name).
        last_activity_at: its last write: a note, a claim, a work item change.
        last_note_at, last_note_category: its last note (None when none is known).
        active: whether ``last_activity_at`` is within :data:`ACTIVE_WITHIN` of now.
        items: ids of the open work items it has claimed.
        resources: the other resources it holds claims on.
    """

    agent: AgentName
    last_activity_at: datetime
    last_note_at: datetime | None
    last_note_category: NoteCategory | None
    active: bool
    items: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()


@attrs.define
class _Acc:
    last_activity_at: datetime
    last_note_at: datetime | None = None
    last_note_category: NoteCategory | None = None
    items: list[str] = attrs.Factory(list)
    resources: list[str] = attrs.Factory(list)

    def saw(self, at: datetime) -> None:
        self.last_activity_at = max(self.last_activity_at, at)

    def noted(self, at: datetime, category: NoteCategory | None) -> None:
        self.saw(at)
        if self.last_note_at is None or at >= self.last_note_at:
            self.last_note_at, self.last_note_category = at, category or self.last_note_category


@attrs.define(eq=False)
class PresenceService:
    """Presence from what the store holds: the live notes (exact), the presence records
    (kept after notes are consolidated; they may trail by ``PRESENCE_EVERY``) and the
    live claims."""

    _spaces: SpaceRepository = attrs.field(kw_only=True)
    _notes: NoteRepository = attrs.field(kw_only=True)
    _presence: PresenceRepository = attrs.field(kw_only=True)
    _work: WorkService = attrs.field(kw_only=True)
    _clock: Clock = attrs.field(kw_only=True)

    async def team(self, caller: Identity, space_id: str) -> list[AgentActivity]:
        """The space's agents, the most recently active first.

        Raises:
            PermissionDenied, InvalidInput, NotFound (no such space).
        """
        space = require_space_access(caller, Permission.READ, space_id)
        await self._spaces.get(space)
        seen: dict[AgentName, _Acc] = {}

        def acc(agent: AgentName, at: datetime) -> _Acc:
            return seen.setdefault(agent, _Acc(at))

        for record in await self._presence.list(space):
            one = acc(record.agent, record.last_activity_at)
            one.saw(record.last_activity_at)
            if record.last_note_at is not None:
                one.noted(record.last_note_at, None)
        for ref in await self._notes.refs(space):
            acc(ref.agent, ref.created_at).noted(ref.created_at, ref.category)
        for claim in await self._work.live_claims(space):
            one = acc(claim.holder, claim.since)
            (one.items if claim.item_id else one.resources).append(claim.item_id or claim.resource)
        now = self._clock.now()
        found = [
            AgentActivity(
                agent=agent,
                last_activity_at=a.last_activity_at,
                last_note_at=a.last_note_at,
                last_note_category=a.last_note_category,
                active=now - a.last_activity_at <= ACTIVE_WITHIN,
                items=tuple(sorted(a.items)),
                resources=tuple(sorted(a.resources)),
            )
            for agent, a in seen.items()
        ]
        return sorted(found, key=lambda a: (a.last_activity_at, a.agent.value), reverse=True)
