"""The audit log: one append-only record per state-changing call, kept in the object
store, readable by admins (``admin_audit_log``). A record never holds a secret: the
token appears as the first 16 hex digits of its SHA-256 and its name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from application.ports import Clock
from application.times import parse_since
from domain import Identity, InvalidInput, Permission, SpaceId

__all__ = ["AUDIT_READ_MAX", "AuditLog", "AuditRecord", "AuditService"]

AUDIT_READ_MAX = 1000


@attrs.frozen
class AuditRecord:
    """One state-changing call.

    Attributes:
        at: when it ended (timezone-aware).
        token: the first 16 hex digits of the caller's token hash ("" for a server task).
        agent: the token's name.
        action: the tool (``space_delete``) or event (``consolidation_end``).
        space: the space it acted on ("" for none).
        target: what else it named (a token, a backup, a job), "" for none.
        outcome: ``ok`` or the error's kind (``PermissionDenied``, ...).
        request_id: the request's id in the logs.
    """

    at: datetime
    token: str
    agent: str
    action: str
    space: str
    target: str
    outcome: str
    request_id: str


class AuditLog(Protocol):
    """Append-only audit records."""

    async def append(self, record: AuditRecord) -> None:
        """Store one record (never overwrites another)."""
        ...

    async def read(self, space: str, since: datetime | None, limit: int) -> list[AuditRecord]:
        """The newest ``limit`` records, newest first, of one space ("" for all) at or
        after ``since``."""
        ...


class AuditService:
    """Writes and reads the audit log; reading needs admin."""

    def __init__(self, log: AuditLog, clock: Clock) -> None:
        self._log = log
        self._clock = clock

    async def record(
        self,
        *,
        token: str,
        agent: str,
        action: str,
        space: str = "",
        target: str = "",
        outcome: str = "ok",
        request_id: str = "",
    ) -> None:
        """Append a record stamped now (called by the interfaces and the job runner);
        ``token`` is the token's hash, of which 16 hex digits are kept."""
        await self._log.append(
            AuditRecord(self._clock.now(), token[:16], agent, action, space, target, outcome, request_id)
        )

    async def read(
        self, caller: Identity, space_id: str = "", since: str = "", limit: int = 100
    ) -> Sequence[AuditRecord]:
        """Records newest first (admin; an admin token limited to some spaces reads only theirs).

        Raises:
            PermissionDenied, InvalidInput (limit outside 1-1000, bad space id, ``since``
            not ISO 8601; without a zone it is UTC).
        """
        caller.require(Permission.ADMIN, SpaceId(space_id) if space_id else None)
        if not isinstance(limit, int) or not 1 <= limit <= AUDIT_READ_MAX:
            raise InvalidInput(f"limit must be 1-{AUDIT_READ_MAX}")
        wide = not space_id and "*" not in caller.spaces  # filtered below to the caller's spaces
        records = await self._log.read(space_id, parse_since(since), AUDIT_READ_MAX if wide else limit)
        if wide:
            records = [r for r in records if r.space in caller.spaces]
        return records[:limit]
