"""The state of the work: work items, claims on named resources, and the settling
references a note can carry.

- A **work item** is a note of category todo, issue or question, from the moment it is
  written; its id is the note's id. Its state is ``open``, then ``done`` (todo, issue) or
  ``answered`` (question), or ``dropped`` with a reason. An open item with a live claim on
  it is shown as ``claimed``: claims expire, so "claimed" is derived, never stored, and an
  item whose claimant went away is open again without anyone writing anything.
- A **claim** (a lease) on a named resource: a work item (``item:{id}``) or any string
  such as ``file:src/app.py`` or ``area:billing``. It has a holder, a start and an end;
  the holder renews it by claiming again; another agent may take it over only once it has
  expired. Stores change claims and items by compare-and-swap only, so two agents racing
  for one claim cannot both win (see :func:`next_claim`).

Nothing here does I/O: the service reads the current record, asks these functions what
the next one is, and writes it conditionally.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

import attrs

from domain.errors import Conflict, InvalidInput
from domain.model import Note
from domain.values import AgentName, NoteCategory, SpaceId, check_text

__all__ = [
    "ITEM_CATEGORIES",
    "TITLE_CHARS",
    "OUTCOME_MAX_CHARS",
    "RESOURCE_MAX_BYTES",
    "CLAIM_TTL_DEFAULT",
    "CLAIM_TTL_MIN",
    "CLAIM_TTL_MAX",
    "ItemState",
    "WorkItem",
    "Claim",
    "check_resource",
    "check_item_id",
    "check_ttl",
    "check_outcome",
    "ordered_open",
    "ITEM_PREFIX",
    "Presence",
    "item_resource",
    "item_of",
    "settling_refs",
    "next_claim",
    "settle",
    "title_of",
]

ITEM_CATEGORIES: Final = frozenset({NoteCategory.TODO, NoteCategory.ISSUE, NoteCategory.QUESTION})
TITLE_CHARS: Final = 160
OUTCOME_MAX_CHARS: Final = 4000
RESOURCE_MAX_BYTES: Final = 256
CLAIM_TTL_DEFAULT: Final = 900
"""Seconds a claim lasts when the caller names no TTL (15 minutes)."""
CLAIM_TTL_MIN: Final = 10
CLAIM_TTL_MAX: Final = 24 * 3600
ITEM_PREFIX: Final = "item:"
_ITEM_ID_RE: Final = re.compile(r"[0-9a-f]{8,32}")
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]")
_SETTLES_RE: Final = re.compile(r"\b(resolves|closes|answers):\s*([0-9a-f]{8,32})\b", re.IGNORECASE)


class ItemState(enum.StrEnum):
    """A work item's stored state (``claimed`` is derived from a live claim, see the
    module docstring)."""

    OPEN = "open"
    DONE = "done"
    ANSWERED = "answered"
    DROPPED = "dropped"

    @property
    def settled(self) -> bool:
        """True once the item is done, answered or dropped."""
        return self is not ItemState.OPEN


def title_of(content: str) -> str:
    """An item's title: the first non-empty line of its note (Markdown heading marks and
    list bullets removed), cut to :data:`TITLE_CHARS` characters."""
    for raw in content.splitlines():
        line = raw.strip().lstrip("#").strip().removeprefix("- ").strip()
        if line:
            return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1].rstrip() + "…"
    return ""


@attrs.frozen
class WorkItem:
    """One work item and its stored state (``{space}/_items/{id}.json``).

    Attributes:
        space_id, item_id: the space and the note's id.
        category: todo, issue or question.
        agent: who wrote the note.
        created_at: when the note was written.
        title: the note's first line (:func:`title_of`).
        state: the stored state.
        settled_by, settled_at: who settled it and when (None while open).
        outcome: what was done or answered, or why it was dropped.
        settled_note: the id of the note that settled it or records its settling.
    """

    space_id: SpaceId
    item_id: str
    category: NoteCategory
    agent: AgentName
    created_at: datetime
    title: str
    state: ItemState = ItemState.OPEN
    settled_by: AgentName | None = None
    settled_at: datetime | None = None
    outcome: str = ""
    settled_note: str = ""

    @property
    def blocker(self) -> bool:
        """An issue: listed before the other open items."""
        return self.category is NoteCategory.ISSUE

    @property
    def done_state(self) -> ItemState:
        """The state that finishing it gives: answered for a question, else done."""
        return ItemState.ANSWERED if self.category is NoteCategory.QUESTION else ItemState.DONE


def item_of(note: Note) -> WorkItem | None:
    """The open work item a note starts, or None for a note of another category."""
    if note.category not in ITEM_CATEGORIES:
        return None
    return WorkItem(
        note.space_id, note.note_id, note.category, note.agent, note.created_at, title_of(note.content)
    )


def check_item_id(value: object) -> str:
    """A work item id (a note id: 8-32 lowercase hex digits), ``item:`` prefix allowed.

    Raises:
        InvalidInput: anything else.
    """
    text = value.removeprefix(ITEM_PREFIX).strip() if isinstance(value, str) else ""
    if not _ITEM_ID_RE.fullmatch(text):
        raise InvalidInput("item_id must be a work item's id: 8-32 lowercase hex digits (a note id)")
    return text


def item_resource(item_id: str) -> str:
    """The resource name of a claim on a work item: ``item:{id}``."""
    return ITEM_PREFIX + item_id


def check_resource(value: object) -> tuple[str, str | None]:
    """Normalise a claim's resource name; return it and the work item id it names
    (a bare item id or ``item:{id}``), or None for any other resource.

    Raises:
        InvalidInput: not a string, empty, over 256 UTF-8 bytes, or holding a control
            character.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(
            "resource must be a non-empty name, such as file:docs/setup.md, area:billing or a work item id"
        )
    text = value.strip()
    if len(text.encode("utf-8", "surrogatepass")) > RESOURCE_MAX_BYTES:
        raise InvalidInput(f"resource is longer than {RESOURCE_MAX_BYTES} bytes")
    if _CONTROL_RE.search(text):
        raise InvalidInput("resource must not hold control characters")
    if _ITEM_ID_RE.fullmatch(text) or text.startswith(ITEM_PREFIX):
        item_id = check_item_id(text)
        return item_resource(item_id), item_id
    return text, None


def check_ttl(value: object) -> timedelta:
    """A claim's time to live from seconds.

    Raises:
        InvalidInput: not a whole number from :data:`CLAIM_TTL_MIN` to :data:`CLAIM_TTL_MAX`.
    """
    if isinstance(value, bool) or not isinstance(value, int) or not CLAIM_TTL_MIN <= value <= CLAIM_TTL_MAX:
        raise InvalidInput(f"ttl_seconds must be a whole number from {CLAIM_TTL_MIN} to {CLAIM_TTL_MAX}")
    return timedelta(seconds=value)


def check_outcome(value: object, what: str) -> str:
    """An outcome or a reason: 1 to :data:`OUTCOME_MAX_CHARS` characters of text.

    Raises:
        InvalidInput: empty, too long, or with control characters.
    """
    text = check_text(value, what, OUTCOME_MAX_CHARS * 4).strip()
    if not text:
        raise InvalidInput(f"{what} must not be empty")
    if len(text) > OUTCOME_MAX_CHARS:
        raise InvalidInput(f"{what} is over {OUTCOME_MAX_CHARS} characters")
    return text


@attrs.frozen
class Claim:
    """A claim on a resource (``{space}/_claims/{hash}.json``).

    Attributes:
        space_id: the space.
        resource: the normalised resource name (:func:`check_resource`).
        holder: the agent holding it.
        since: when the holder first claimed it (kept across renewals).
        until: when it expires; a released claim has ``until`` at its release.
        released: True once its holder (or a manager) let it go.
    """

    space_id: SpaceId
    resource: str
    holder: AgentName
    since: datetime
    until: datetime
    released: bool = False

    def live(self, now: datetime) -> bool:
        """True while it binds: not released and not expired."""
        return not self.released and self.until > now

    @property
    def item_id(self) -> str | None:
        """The work item it is on, or None."""
        return self.resource.removeprefix(ITEM_PREFIX) if self.resource.startswith(ITEM_PREFIX) else None


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="seconds").replace("+00:00", "Z")


def next_claim(
    current: Claim | None,
    *,
    space_id: SpaceId,
    resource: str,
    holder: AgentName,
    now: datetime,
    ttl: timedelta,
) -> Claim:
    """The claim to write for ``holder``: a new one, a renewal of its own (``since``
    kept), or a takeover of a released or expired one.

    Raises:
        Conflict: another agent holds it; the message names the holder and the expiry.
    """
    if current is not None and current.live(now) and current.holder != holder:
        raise Conflict(
            f"{resource} is claimed by {current.holder} until {_stamp(current.until)}; "
            "it can be taken over once that claim expires or is released"
        )
    since = current.since if current is not None and current.live(now) else now
    return Claim(space_id, resource, holder, since, now + ttl)


def settling_refs(note: Note) -> list[tuple[str, str]]:
    """The work items a note settles by naming them: ``resolves:ID``, ``closes:ID`` or
    ``answers:ID`` in its text or as a tag; ``(verb, id)`` pairs, duplicates removed.
    A ticket number (``#123``) is never a settling reference: the views may suggest it."""
    found = [(verb.lower(), ident) for verb, ident in _SETTLES_RE.findall(note.content)]
    for tag in note.tags:
        verb, _, ident = tag.partition(":")
        if verb.lower() in ("resolves", "closes", "answers") and _ITEM_ID_RE.fullmatch(ident):
            found.append((verb.lower(), ident))
    return list(dict.fromkeys(found))


def settle(
    item: WorkItem, state: ItemState, *, by: AgentName, at: datetime, outcome: str, note_id: str
) -> WorkItem:
    """The item settled as ``state`` (done/answered/dropped).

    Raises:
        Conflict: it is already settled (the message says how, by whom and when).
        InvalidInput: ``state`` is ``open``, or ``answered`` for an item that is not a
            question, or ``done`` for a question.
    """
    if item.state.settled:
        when = _stamp(item.settled_at) if item.settled_at else "earlier"
        raise Conflict(
            f"work item {item.item_id} is already {item.state.value} (by {item.settled_by}, {when})"
        )
    if state is ItemState.OPEN:
        raise InvalidInput("a work item is settled as done, answered or dropped")
    if state is not ItemState.DROPPED and state is not item.done_state:
        raise InvalidInput(f"a {item.category.value} is {item.done_state.value}, not {state.value}")
    return attrs.evolve(
        item, state=state, settled_by=by, settled_at=at, outcome=outcome, settled_note=note_id
    )


def ordered_open(items: Iterable[WorkItem]) -> list[WorkItem]:
    """Open items as activeContext lists them: blockers (issues) first, then oldest first;
    ties by id, so the order never changes between runs."""
    return sorted(
        (i for i in items if i.state is ItemState.OPEN),
        key=lambda i: (not i.blocker, i.created_at, i.item_id),
    )


@attrs.frozen
class Presence:
    """What the store remembers of an agent's activity in a space
    (``{space}/_presence/{agent}.json``), kept even after its notes were consolidated.

    Attributes:
        space_id, agent: whose.
        last_activity_at: its last write in the space (a note, a claim, an item change).
        last_note_at: its last note, or None.
    """

    space_id: SpaceId
    agent: AgentName
    last_activity_at: datetime
    last_note_at: datetime | None = None

    def merged(self, at: datetime, *, note: bool) -> Presence:
        """This record advanced to ``at`` (never moved back: replicas write it in any order)."""
        last_note = self.last_note_at
        if note:
            last_note = at if last_note is None else max(last_note, at)
        return attrs.evolve(self, last_activity_at=max(self.last_activity_at, at), last_note_at=last_note)
