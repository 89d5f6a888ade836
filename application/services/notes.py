"""Live notes: write, read (filtered, newest first, paginated) and search."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from application.access import require_space_access
from application.paging import check_limit, decode_cursor, encode_cursor
from application.ports import Clock, IdGenerator, NoteRepository, SpaceRepository
from application.times import parse_since
from application.work.listing import NoteEffects
from application.work.service import WorkService
from domain import (
    AgentName,
    Identity,
    Note,
    NoteCategory,
    Permission,
    SpaceId,
)

__all__ = ["READ_LIMIT_MAX", "NotePage", "NoteService", "Posted"]

READ_LIMIT_MAX: Final = 200


@attrs.frozen
class NotePage:
    """One page of notes, newest first; ``next_cursor`` is None on the last page."""

    notes: list[Note]
    next_cursor: str | None
    total_matching: int


@attrs.frozen
class Posted:
    """A stored note and what it did to the work (its item, the items it settled)."""

    note: Note
    effects: NoteEffects


@attrs.define(eq=False)
class NoteService:
    """Write and read a space's live notes. ``written`` is told of every stored note's
    space (the search service embeds it in the background)."""

    _spaces: SpaceRepository
    _notes: NoteRepository
    _clock: Clock
    _ids: IdGenerator
    _work: WorkService | None = None
    _written: Callable[[SpaceId], None] | None = attrs.field(kw_only=True, default=None)

    async def write(
        self, caller: Identity, space_id: str, category: str, content: str, tags: Sequence[str] | None = None
    ) -> Note:
        """Append a note as the caller (write): :meth:`post`'s note."""
        return (await self.post(caller, space_id, category, content, tags)).note

    async def post(
        self, caller: Identity, space_id: str, category: str, content: str, tags: Sequence[str] | None = None
    ) -> Posted:
        """Append a note as the caller (write). The note is stored before this returns;
        then a todo, issue or question becomes a work item, and the items it names with
        ``resolves:``/``closes:``/``answers:`` are settled (see
        :meth:`application.work.service.WorkService.note_written`).

        Raises:
            PermissionDenied, InvalidInput, LimitExceeded, NotFound (no such space).
        """
        space = require_space_access(caller, Permission.WRITE, space_id)
        note = Note(
            space_id=space,
            note_id=self._ids.new_id(),
            agent=caller.name,
            category=NoteCategory.parse(category),
            content=content,
            created_at=self._clock.now(),
            tags=tags if tags is not None else (),
        )
        await self._spaces.get(space)  # NotFound before anything is written
        await self._notes.add(note)
        if self._written is not None:
            self._written(space)
        effects = await self._work.note_written(note) if self._work is not None else NoteEffects()
        return Posted(note, effects)

    async def read(
        self,
        caller: Identity,
        space_id: str,
        *,
        category: str | None = None,
        agent: str | None = None,
        since: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> NotePage:
        """Live notes newest first, filtered by category, agent and ``since`` (ISO 8601,
        inclusive; UTC when it names no zone), ``limit`` (1-200) a page; pass
        ``next_cursor`` back for the next page. Filters work on keys alone; only the
        page's notes are read."""
        space = require_space_access(caller, Permission.READ, space_id)
        limit = check_limit(limit, READ_LIMIT_MAX)
        wanted_category = NoteCategory.parse(category) if category else None
        wanted_agent = AgentName(agent) if agent else None
        since_at = parse_since(since) if since else None
        await self._spaces.get(space)
        matching = await self._notes.refs(space)  # oldest first
        if wanted_category or wanted_agent or since_at:
            matching = [
                r
                for r in matching
                if (wanted_category is None or r.category is wanted_category)
                and (wanted_agent is None or r.agent == wanted_agent)
                and (since_at is None or r.created_at >= since_at)
            ]
        before = matching
        if cursor:
            after = decode_cursor(cursor)
            before = matching[: bisect.bisect_left(matching, after, key=lambda r: (r.created_at, r.key))]
        page = before[-limit:][::-1]  # newest first
        notes = await self._notes.get_many(page)
        next_cursor = encode_cursor(page[-1].created_at, page[-1].key) if len(before) > limit else None
        return NotePage(notes=notes, next_cursor=next_cursor, total_matching=len(matching))
