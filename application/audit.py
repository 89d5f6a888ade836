"""The audit log: one append-only record per state-changing call, kept in the object
store, readable by admins (``admin_audit_log``). A record never holds a secret: the
token appears as the first 16 hex digits of its SHA-256 and its name.

Bounded against a flood: a token's refused calls are recorded at most
``REFUSALS_PER_MINUTE`` times a minute; the rest of that minute's refusals are counted
and written as one ``refusals_suppressed`` record (``count``) with the token's next
recorded refusal or when the server stops. Records older than the retention
(``AUDIT_RETENTION_DAYS``) are deleted a day at a time, at most once a day per replica.
Reads go by day, newest first, and stop at ``since``: a read costs what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, Protocol

import attrs
import structlog

from application.ports import Clock
from application.store import StoreError
from application.times import parse_since
from domain import Identity, InvalidInput, Permission, SpaceId

__all__ = ["AUDIT_READ_MAX", "REFUSALS_PER_MINUTE", "AuditLog", "AuditRecord", "AuditService"]

log = structlog.get_logger("live_mem.audit")

AUDIT_READ_MAX = 1000
REFUSALS_PER_MINUTE: Final = 20
"""Refused calls of one token recorded one by one each minute; the rest are counted."""
_WINDOW: Final = timedelta(minutes=1)
_TRACKED_MAX: Final = 10_000


@attrs.frozen
class AuditRecord:
    """One state-changing call.

    Attributes:
        at: when it ended (timezone-aware).
        token: the first 16 hex digits of the caller's token hash ("" for a server task).
        agent: the token's name.
        action: the tool (``space_delete``) or event (``consolidation_end``).
        space: the space it acted on ("" for none).
        target: what else it named (a token, a backup, a file, a job), "" for none.
        outcome: ``ok`` or the error's kind (``PermissionDenied``, ...).
        request_id: the request's id in the logs.
        detail: the call's mode and effect, ``key=value`` pairs (``dry_run=True``,
            ``confirm=False``, ``purged=3``), never a secret or a content body.
        count: how many calls the record stands for (more than 1 only for
            ``refusals_suppressed``).
    """

    at: datetime
    token: str
    agent: str
    action: str
    space: str
    target: str
    outcome: str
    request_id: str
    detail: str = ""
    count: int = 1


class AuditLog(Protocol):
    """Append-only audit records."""

    async def append(self, record: AuditRecord) -> None:
        """Store one record (never overwrites another)."""
        ...

    async def read(self, space: str, since: datetime, until: datetime, limit: int) -> list[AuditRecord]:
        """The newest ``limit`` records, newest first, of one space ("" for all) from
        ``since`` to ``until``, reading no record outside that range or of another
        space when the storage can tell without reading it."""
        ...

    async def prune(self, before: datetime) -> int:
        """Delete the records of the days that end before ``before``; return how many
        records went."""
        ...


@attrs.define
class _Refusals:
    """One token's refusals in the current minute."""

    started: datetime
    agent: str
    recorded: int = 0
    suppressed: int = 0


class AuditService:
    """Writes and reads the audit log; reading needs admin.

    Args:
        log: where records go.
        clock: the time source.
        retention_days: records older than this are deleted (``AUDIT_RETENTION_DAYS``).
    """

    def __init__(self, log: AuditLog, clock: Clock, *, retention_days: int) -> None:
        self._log = log
        self._clock = clock
        self._retention = timedelta(days=retention_days)
        self._refusals: dict[str, _Refusals] = {}
        self._pruned_on: str = ""

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
        detail: str = "",
    ) -> None:
        """Append a record stamped now (called by the interfaces and the job runner);
        ``token`` is the token's hash, of which 16 hex digits are kept. A refusal past
        the token's ``REFUSALS_PER_MINUTE`` is counted instead (module docstring)."""
        now = self._clock.now()
        short = token[:16]
        if outcome != "ok" and not await self._admit_refusal(short, agent, now):
            return
        await self._log.append(
            AuditRecord(now, short, agent, action, space, target, outcome, request_id, detail[:500])
        )
        await self._prune(now)

    async def close(self) -> None:
        """Write the pending ``refusals_suppressed`` records (at shutdown)."""
        for token, window in list(self._refusals.items()):
            await self._flush(token, window, self._clock.now())
        self._refusals.clear()

    async def _admit_refusal(self, token: str, agent: str, now: datetime) -> bool:
        window = self._refusals.get(token)
        if window is not None and now - window.started >= _WINDOW:
            await self._flush(token, window, now)
            window = None
        if window is None:
            if len(self._refusals) >= _TRACKED_MAX:
                for old, stale in list(self._refusals.items()):
                    if now - stale.started >= _WINDOW:
                        await self._flush(old, stale, now)
                        del self._refusals[old]
            window = self._refusals[token] = _Refusals(now, agent)
        if window.recorded < REFUSALS_PER_MINUTE:
            window.recorded += 1
            return True
        window.suppressed += 1
        return False

    async def _flush(self, token: str, window: _Refusals, now: datetime) -> None:
        if window.suppressed:
            suppressed, window.suppressed = window.suppressed, 0
            await self._log.append(
                AuditRecord(
                    min(now, window.started + _WINDOW),  # stamped at the minute's end
                    token,
                    window.agent,
                    "refusals_suppressed",
                    "",
                    "",
                    "RateLimited",
                    "",
                    f"since={window.started.isoformat()} limit={REFUSALS_PER_MINUTE}/min",
                    suppressed,
                )
            )

    async def _prune(self, now: datetime) -> None:
        """Delete expired days, at most once a day (a failure waits for the next day)."""
        today = f"{now:%Y%m%d}"
        if self._pruned_on == today:
            return
        self._pruned_on = today
        try:
            removed = await self._log.prune(now - self._retention)
        except StoreError as exc:
            log.warning("audit_prune_failed", error=type(exc).__name__)
            return
        if removed:
            log.info("audit_pruned", records=removed, retention_days=self._retention.days)

    async def read(
        self, caller: Identity, space_id: str = "", since: str = "", limit: int = 100, until: str = ""
    ) -> Sequence[AuditRecord]:
        """Records newest first, from ``since`` (default: the retention's start) to
        ``until`` (default: now) (admin; an admin token limited to some spaces reads
        only theirs).

        Raises:
            PermissionDenied, InvalidInput (limit outside 1-1000, bad space id, ``since``
            or ``until`` not ISO 8601; without a zone it is UTC).
        """
        caller.require(Permission.ADMIN, SpaceId(space_id) if space_id else None)
        if not isinstance(limit, int) or not 1 <= limit <= AUDIT_READ_MAX:
            raise InvalidInput(f"limit must be 1-{AUDIT_READ_MAX}")
        now = self._clock.now()
        start = parse_since(since) or now - self._retention - timedelta(days=1)
        end = parse_since(until) or now
        wide = not space_id and "*" not in caller.spaces  # filtered below to the caller's spaces
        records = await self._log.read(space_id, start, end, AUDIT_READ_MAX if wide else limit)
        if wide:
            records = [r for r in records if r.space in caller.spaces]
        return records[:limit]
