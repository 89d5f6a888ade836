"""Claims on named resources, one mechanism for work items and any other name: the
compare-and-swap loops of taking, renewing, taking over and releasing a claim
(decisions in :func:`domain.work.next_claim`). Authorization and input checks are the
caller's (:class:`application.work.service.WorkService`)."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Final

import attrs

from application.ports import Clock
from application.work.ports import ClaimRepository
from domain import AgentName, Conflict, Identity, Permission, PermissionDenied, SpaceId
from domain.work import Claim, item_resource, next_claim

__all__ = ["RACE_ROUNDS", "ClaimBook"]

RACE_ROUNDS: Final = 8
"""How many times a writer that lost a compare-and-swap reads again and decides again."""


@attrs.define(eq=False)
class ClaimBook:
    """Takes and gives back claims over a :class:`ClaimRepository`."""

    _claims: ClaimRepository
    _clock: Clock

    async def live(self, space: SpaceId) -> list[Claim]:
        """The space's claims that bind now."""
        now = self._clock.now()
        return [c for c in await self._claims.list(space) if c.live(now)]

    async def take(self, space: SpaceId, name: str, holder: AgentName, ttl: timedelta) -> Claim:
        """Claim, renew, or take over after expiry; a lost race is read and decided again.

        Raises:
            Conflict: another agent holds it (who and until when), or it kept changing.
        """
        for _ in range(RACE_ROUNDS):
            found = await self._claims.get(space, name)
            claim = next_claim(
                found[0] if found else None,
                space_id=space,
                resource=name,
                holder=holder,
                now=self._clock.now(),
                ttl=ttl,
            )
            try:
                if found is None:
                    await self._claims.create(claim)
                else:
                    await self._claims.replace(claim, found[1])
            except Conflict:
                continue  # another writer won this round: decide again on what it wrote
            return claim
        raise Conflict(f"{name} keeps changing; try again")

    async def give_back(self, space: SpaceId, name: str, caller: Identity, *, force: bool) -> Claim | None:
        """Release a live claim (another agent's only with ``force`` and manage); None
        when nothing holds it.

        Raises:
            PermissionDenied: another agent's claim without both.
            Conflict: it kept changing.
        """
        for _ in range(RACE_ROUNDS):
            found = await self._claims.get(space, name)
            now = self._clock.now()
            if found is None or not found[0].live(now):
                return None
            current, etag = found
            if current.holder != caller.name and not (force and caller.permission >= Permission.MANAGE):
                raise PermissionDenied(
                    f"{name} is claimed by {current.holder}: only its holder releases it "
                    "(a manager may, with force)"
                )
            released = attrs.evolve(current, released=True, until=now)
            try:
                await self._claims.replace(released, etag)
            except Conflict:
                continue
            return released
        raise Conflict(f"{name} keeps changing; try again")

    async def release_own(self, holder: AgentName, space: SpaceId, name: str) -> None:
        """Release ``holder``'s live claim on ``name`` if it has one (quietly)."""
        found = await self._claims.get(space, name)
        if found is not None and found[0].holder == holder and found[0].live(self._clock.now()):
            released = attrs.evolve(found[0], released=True, until=self._clock.now())
            with contextlib.suppress(Conflict):  # it changed: no longer ours to release
                await self._claims.replace(released, found[1])

    async def guard(self, caller: Identity, space: SpaceId, item_id: str) -> None:
        """Refuse to settle an item another agent holds, unless the caller manages.

        Raises:
            Conflict: naming the claimant and the expiry.
        """
        found = await self._claims.get(space, item_resource(item_id))
        now = self._clock.now()
        if found is None or not found[0].live(now) or found[0].holder == caller.name:
            return
        if caller.permission >= Permission.MANAGE:
            return
        raise Conflict(
            f"work item {item_id} is claimed by {found[0].holder} until "
            f"{found[0].until.isoformat(timespec='seconds')}; its claimant settles it (or a manager)"
        )
