"""Importing notes written elsewhere, with their own timestamps and authors.

The format is JSON Lines, one note an object (the shared dataset's format)::

    {"timestamp": "2025-05-13T04:58:24-04:00", "agent": "mo", "category": "progress",
     "content": "Create `ClientSessionGroup` ... (#639)", "tags": []}

``timestamp``, ``agent``, ``category`` and ``content`` are required; ``tags`` is optional;
other keys (``space_id``, ``source``) are ignored. A timestamp without a timezone is UTC.
An agent name with characters a name may not hold has them replaced by ``-`` (an empty
one becomes ``anonymous``). A note's id is derived from its timestamp, agent and content
(the first 32 hex digits of their SHA-256), so importing the same line twice yields the
same note, which the importer skips.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any, Final

from domain.errors import DomainError, InvalidInput
from domain.model import Note
from domain.values import AgentName, NoteCategory, SpaceId

__all__ = ["IMPORT_MAX_LINES", "import_agent_name", "imported_note_id", "parse_import"]

IMPORT_MAX_LINES: Final = 100_000
_MAX_ERRORS_SHOWN: Final = 10


def import_agent_name(raw: object) -> AgentName:
    """A legal agent name for ``raw`` (module docstring). Raises ``InvalidInput`` for a
    value that is not a string."""
    if not isinstance(raw, str):
        raise InvalidInput("agent must be a string")
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", raw.strip())[:64].strip("-._")
    return AgentName(cleaned or "anonymous")


def imported_note_id(timestamp: datetime, agent: AgentName, content: str) -> str:
    """32 hex digits of SHA-256 over the UTC timestamp, agent and content."""
    key = f"{timestamp.astimezone(UTC).isoformat()}\n{agent}\n{content}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _timestamp(value: object, latest: datetime | None) -> datetime:
    """The UTC time of an import line: a year from 1000 to 9999 (a note's key holds it
    in four digits) and, when ``latest`` is given, not after it."""
    if not isinstance(value, str):
        raise InvalidInput("timestamp must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip())
        parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        at = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"timestamp {value[:40]!r} is not an ISO 8601 time from year 1000 to 9999"
        ) from None
    if not 1000 <= at.year <= 9999:
        raise InvalidInput(f"timestamp {value[:40]!r} is not an ISO 8601 time from year 1000 to 9999")
    if latest is not None and at > latest:
        raise InvalidInput(f"timestamp {value[:40]!r} is in the future (after {latest.isoformat()})")
    return parsed


def _note(space_id: SpaceId, row: Any, latest: datetime | None = None) -> Note:
    if not isinstance(row, dict):
        raise InvalidInput("a line must hold a JSON object")
    missing = [k for k in ("timestamp", "agent", "category", "content") if k not in row]
    if missing:
        raise InvalidInput(f"missing {', '.join(missing)}")
    at = _timestamp(row["timestamp"], latest)
    agent = import_agent_name(row["agent"])
    content = row["content"]
    if not isinstance(content, str):
        raise InvalidInput("content must be a string")
    return Note(
        space_id=space_id,
        note_id=imported_note_id(at, agent, content),
        agent=agent,
        category=NoteCategory.parse(row["category"]),
        content=content,
        created_at=at,
        tags=row.get("tags") or [],
    )


def parse_import(space_id: SpaceId, text: str, latest: datetime | None = None) -> list[Note]:
    """Every note of a JSON Lines text, in line order; blank lines are skipped; a line
    repeating an earlier one (same derived id) is kept once. A timestamp must fall in
    the years 1000-9999 (UTC) and not after ``latest`` (the importer passes its clock
    plus a small skew: a note stamped in the future would sort after every note written
    until then, and the replicas' incremental listings would not see those).

    Raises:
        InvalidInput: one message naming every bad line by number (the first ten shown)
            and why, or too many lines; nothing is returned then, so nothing is written.
    """
    if not isinstance(text, str):
        raise InvalidInput("the import must be JSON Lines text")
    lines = text.splitlines()
    if len(lines) > IMPORT_MAX_LINES:
        raise InvalidInput(f"{len(lines)} lines: an import takes at most {IMPORT_MAX_LINES}; split the file")
    notes: dict[str, Note] = {}
    errors: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            note = _note(space_id, json.loads(line), latest)
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not JSON ({exc.msg})")
        except DomainError as exc:
            errors.append(f"line {number}: {exc}")
        else:
            notes.setdefault(note.note_id, note)
    if errors:
        shown = "; ".join(errors[:_MAX_ERRORS_SHOWN])
        more = f"; and {len(errors) - _MAX_ERRORS_SHOWN} more" if len(errors) > _MAX_ERRORS_SHOWN else ""
        raise InvalidInput(f"{len(errors)} bad line(s), nothing imported: {shown}{more}")
    return list(notes.values())
