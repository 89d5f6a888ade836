"""The state of the work as use cases: list work items, claim and release resources,
finish or drop items, and the follow-ups of a note (its item, the items it settles).

Every change is a compare-and-swap on one record (see :mod:`domain.work`); a lost race
is read again and decided again, so the loser of two agents claiming one resource is told
who won and until when.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

import structlog

from application.access import require_space_access
from application.paging import check_limit, decode_cursor, encode_cursor
from application.ports import Clock, IdGenerator, NoteRepository, SpaceRepository
from application.store import StoreError
from application.work.claims import RACE_ROUNDS, ClaimBook
from application.work.listing import ItemPage, ItemView, NoteEffects, states
from application.work.ports import ClaimRepository, ItemRepository, PresenceRepository
from domain import (
    AgentName,
    Conflict,
    Identity,
    InvalidInput,
    Note,
    NoteCategory,
    NotFound,
    Permission,
    PermissionDenied,
    SpaceId,
)
from domain.work import (
    CLAIM_TTL_DEFAULT,
    ITEM_CATEGORIES,
    Claim,
    ItemState,
    WorkItem,
    check_item_id,
    check_outcome,
    check_resource,
    check_ttl,
    item_of,
    item_resource,
    settle,
    settling_refs,
    title_of,
)

__all__ = ["ITEMS_LIMIT_MAX", "PRESENCE_EVERY", "WorkService"]

log = structlog.get_logger("live_mem.work")
ITEMS_LIMIT_MAX: Final = 200
PRESENCE_EVERY: Final = timedelta(seconds=30)
"""A process records an agent's activity in a space at most this often (the store's
record may trail the agent's last write by this much; its last live note is exact)."""


class WorkService:
    """Work items, claims and presence of the spaces a caller may use."""

    def __init__(
        self,
        *,
        spaces: SpaceRepository,
        notes: NoteRepository,
        items: ItemRepository,
        claims: ClaimRepository,
        presence: PresenceRepository,
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._spaces = spaces
        self._notes = notes
        self._items = items
        self._book = ClaimBook(claims, clock)
        self._presence = presence
        self._clock = clock
        self._ids = ids
        self._touched: dict[tuple[SpaceId, AgentName], datetime] = {}

    # -- reading ---------------------------------------------------------------------

    async def all_items(self, space_id: SpaceId) -> list[WorkItem]:
        """Every item of the space: the stored records, and live notes of an item
        category whose record is missing (a writer stopped between the two writes)."""
        items = {i.item_id: i for i in await self._items.list(space_id)}
        missing = [
            r
            for r in await self._notes.refs(space_id)
            if r.category in ITEM_CATEGORIES and r.note_id not in items
        ]
        for note in await self._notes.get_many(missing):
            item = item_of(note)
            if item is not None:
                items[item.item_id] = item
        return list(items.values())

    async def live_claims(self, space_id: SpaceId) -> list[Claim]:
        """The space's claims that bind now."""
        return await self._book.live(space_id)

    async def held_by(self, caller: Identity, space_id: str) -> list[Claim]:
        """The caller's live claims in a space (read). Raises ``PermissionDenied``,
        ``NotFound``."""
        space = require_space_access(caller, Permission.READ, space_id)
        await self._spaces.get(space)
        return [c for c in await self.live_claims(space) if c.holder == caller.name]

    async def snapshot(self, space_id: SpaceId) -> list[ItemView]:
        """Every item with its live claim (for consolidation's views; no authorization)."""
        claims = {c.item_id: c for c in await self.live_claims(space_id) if c.item_id}
        return [ItemView(i, claims.get(i.item_id)) for i in await self.all_items(space_id)]

    async def list_items(
        self,
        caller: Identity,
        space_id: str,
        *,
        state: str = "open,claimed",
        category: str | None = None,
        agent: str | None = None,
        claimant: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> ItemPage:
        """Work items newest first, filtered by state (comma-separated, or ``all``),
        category, author and claimant; ``limit`` 1-200 a page, ``next_cursor`` back for
        the next. Raises ``PermissionDenied``, ``InvalidInput``, ``NotFound``."""
        space = require_space_access(caller, Permission.READ, space_id)
        wanted = states(state)
        limit = check_limit(limit, ITEMS_LIMIT_MAX)
        wanted_category = NoteCategory.parse(category) if category else None
        if wanted_category is not None and wanted_category not in ITEM_CATEGORIES:
            raise InvalidInput("category must be todo, issue or question: the categories that are work items")
        author = AgentName(agent) if agent else None
        holder = AgentName(claimant) if claimant else None
        after = decode_cursor(cursor) if cursor else None
        await self._spaces.get(space)
        views = [
            v
            for v in await self.snapshot(space)
            if v.state in wanted
            and (wanted_category is None or v.item.category is wanted_category)
            and (author is None or v.item.agent == author)
            and (holder is None or (v.claim is not None and v.claim.holder == holder))
        ]
        views.sort(key=lambda v: (v.item.created_at, v.item.item_id), reverse=True)
        rest = [v for v in views if after is None or (v.item.created_at, v.item.item_id) < after]
        page = rest[:limit]
        next_cursor = (
            encode_cursor(page[-1].item.created_at, page[-1].item.item_id) if len(rest) > limit else None
        )
        return ItemPage(page, next_cursor, len(views), self._clock.now())

    # -- items -----------------------------------------------------------------------

    async def _load(self, space: SpaceId, item_id: str) -> tuple[WorkItem, str]:
        """The item's record and ETag; a live note of an item category without a record
        gets its record first. Raises ``NotFound``."""
        try:
            return await self._items.get(space, item_id)
        except NotFound:
            refs = [r for r in await self._notes.refs(space) if r.note_id == item_id]
            notes = await self._notes.get_many(refs)
            item = item_of(notes[0]) if notes else None
            if item is None:
                if refs and refs[0].category not in ITEM_CATEGORIES:
                    raise InvalidInput(
                        f"note {item_id} is a {refs[0].category.value}: only todo, issue and question "
                        "notes are work items"
                    ) from None
                raise
            await self._items.add(item)
            return await self._items.get(space, item_id)

    async def _settle(
        self,
        space: SpaceId,
        item_id: str,
        *,
        state: ItemState | None,
        by: AgentName,
        outcome: str,
        note_id: str,
    ) -> WorkItem:
        """Settle by compare-and-swap, read again after a lost race (``state`` None:
        the item's own done state). Raises ``NotFound``, ``Conflict``, ``InvalidInput``."""
        for _ in range(RACE_ROUNDS):
            item, etag = await self._load(space, item_id)
            settled = settle(
                item, state or item.done_state, by=by, at=self._clock.now(), outcome=outcome, note_id=note_id
            )
            try:
                await self._items.replace(settled, etag)
            except Conflict:
                continue
            return settled
        raise Conflict(f"work item {item_id} keeps changing; try again")

    async def _record_note(self, settled: WorkItem, verb: str, text: str) -> None:
        """The progress note that records a settling (its id was chosen beforehand). The
        item's record is the truth and already holds the outcome: a note that cannot be
        written is logged, and the settling still stands (``work_items`` shows it)."""
        content = f"{verb}: {settled.title}\n\n{text}\n\nresolves:{settled.item_id}"
        note = Note(
            settled.space_id,
            settled.settled_note,
            settled.settled_by or AgentName("unknown"),
            NoteCategory.PROGRESS,
            content,
            settled.settled_at or self._clock.now(),
        )
        try:
            await self._notes.add(note)
        except StoreError as exc:
            log.warning("settling_note_not_written", item=settled.item_id, error=str(exc)[:200])

    async def finish(self, caller: Identity, space_id: str, item_id: str, outcome: str) -> WorkItem:
        """Mark an item done (todo, issue) or answered (question) with its outcome, write
        the progress note that records it, and release the caller's claim on it.

        Raises:
            PermissionDenied, InvalidInput (bad id or outcome), NotFound (no such item),
            Conflict (already settled, or claimed by another agent).
        """
        space = require_space_access(caller, Permission.WRITE, space_id)
        ident = check_item_id(item_id)
        text = check_outcome(outcome, "outcome")
        await self._spaces.get(space)
        await self._book.guard(caller, space, ident)
        settled = await self._settle(
            space, ident, state=None, by=caller.name, outcome=text, note_id=self._ids.new_id()
        )
        verb = "Answered" if settled.state is ItemState.ANSWERED else "Done"
        await self._record_note(settled, verb, text)
        await self._book.release_own(caller.name, space, item_resource(ident))
        await self._touch(space, caller.name, note=True)
        return settled

    async def drop(self, caller: Identity, space_id: str, item_id: str, reason: str) -> WorkItem:
        """Drop an item with a reason (its author, or a manager) and record it in a
        progress note. Raises as :meth:`finish`; ``PermissionDenied`` for another's item."""
        space = require_space_access(caller, Permission.WRITE, space_id)
        ident = check_item_id(item_id)
        text = check_outcome(reason, "reason")
        await self._spaces.get(space)
        item, _ = await self._load(space, ident)
        if item.agent != caller.name and caller.permission < Permission.MANAGE:
            raise PermissionDenied(
                f"work item {ident} is {item.agent}'s: only its author or a manager drops it"
            )
        settled = await self._settle(
            space, ident, state=ItemState.DROPPED, by=caller.name, outcome=text, note_id=self._ids.new_id()
        )
        await self._record_note(settled, "Dropped", text)
        await self._book.release_own(caller.name, space, item_resource(ident))
        await self._touch(space, caller.name, note=True)
        return settled

    # -- claims ----------------------------------------------------------------------

    async def claim(
        self, caller: Identity, space_id: str, resource: str, ttl_seconds: int = CLAIM_TTL_DEFAULT
    ) -> Claim:
        """Claim a resource (a work item id, or a name like ``file:src/app.py``) for
        ``ttl_seconds``; claiming it again renews it.

        Raises:
            PermissionDenied, InvalidInput (bad name or TTL, or a settled item),
            NotFound (no such space or item), Conflict (another agent holds it: the
            message names it and the expiry).
        """
        space = require_space_access(caller, Permission.WRITE, space_id)
        name, item_id = check_resource(resource)
        ttl = check_ttl(ttl_seconds)
        await self._spaces.get(space)
        if item_id is not None:
            item, _ = await self._load(space, item_id)
            if item.state.settled:
                raise InvalidInput(
                    f"work item {item_id} is {item.state.value}: there is nothing left to claim"
                )
        claim = await self._book.take(space, name, caller.name, ttl)
        await self._touch(space, caller.name, note=False)
        return claim

    async def release(
        self, caller: Identity, space_id: str, resource: str, *, force: bool = False
    ) -> Claim | None:
        """Release a claim; None when nothing held it. Another agent's claim needs
        ``force`` and manage permission.

        Raises:
            PermissionDenied (another's claim), InvalidInput, NotFound (no such space).
        """
        space = require_space_access(caller, Permission.WRITE, space_id)
        name, _ = check_resource(resource)
        await self._spaces.get(space)
        released = await self._book.give_back(space, name, caller, force=force)
        if released is not None:
            await self._touch(space, caller.name, note=False)
        return released

    # -- notes' follow-ups -----------------------------------------------------------

    async def note_written(self, note: Note) -> NoteEffects:
        """After a note is stored: its work item (for a todo, issue or question), the
        items it names with ``resolves:``/``closes:``/``answers:``, the writer's
        presence. A store failure here is logged and reported, never raised: the note
        is stored, and its item is also found from the live note itself."""
        effects = NoteEffects()
        item = item_of(note)
        try:
            if item is not None:
                await self._items.add(item)
            for _verb, ident in settling_refs(note):
                if ident == note.note_id:
                    continue
                try:
                    await self._settle(
                        note.space_id,
                        ident,
                        state=None,
                        by=note.agent,
                        outcome=title_of(note.content),
                        note_id=note.note_id,
                    )
                    effects.settled.append(ident)
                except (NotFound, Conflict, InvalidInput) as exc:
                    effects.not_settled.append(f"{ident}: {exc}")
            await self._touch(note.space_id, note.agent, note=True)
        except StoreError as exc:
            log.warning(
                "note_follow_up_failed", space=str(note.space_id), note=note.note_id, error=str(exc)[:200]
            )
            effects.not_settled.append(f"the store failed: {type(exc).__name__}")
        return effects

    async def before_consolidation(
        self, space_id: SpaceId, notes: Sequence[Note]
    ) -> list[tuple[WorkItem, Claim | None]]:
        """Give every todo/issue/question note of a run its record before the notes
        leave ``live/`` (so no item is lost with its note); return every item of the
        space with its live claim, for the views and the model's prompt."""
        recorded = {i.item_id for i in await self._items.list(space_id)}
        for note in notes:  # only the records missing (a writer stopped between its writes)
            item = item_of(note)
            if item is not None and item.item_id not in recorded:
                await self._items.add(item)
        return [(v.item, v.claim) for v in await self.snapshot(space_id)]

    async def _touch(self, space: SpaceId, agent: AgentName, *, note: bool) -> None:
        """Record the agent's activity (at most every ``PRESENCE_EVERY`` per process).
        Presence is a courtesy: its failure is logged and never fails the write that
        caused it (the note, claim or change is already stored)."""
        now = self._clock.now()
        last = self._touched.get((space, agent))
        if last is not None and now - last < PRESENCE_EVERY:
            return
        self._touched[(space, agent)] = now
        try:
            await self._presence.record(space, agent, now, note=note)
        except (StoreError, Conflict) as exc:
            self._touched.pop((space, agent), None)  # try again with the next write
            log.warning("presence_not_recorded", space=space.value, agent=agent.value, error=str(exc)[:200])
