"""Reading a space's journals at the cost of what is asked, not of what the space holds.

Journal keys sort by time (a run id begins with its UTC stamp), so one listing of keys
(no object read) tells which journals a question needs: the history reads the newest
ones and stops; retention deletes the old ones by their keys alone. Roll-forward reads
only the prepared journals (:meth:`JournalRepository.pending`).
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from application.consolidation.ports import JournalRepository
from application.store import CorruptObject
from domain import NotFound, SpaceId
from domain.consolidation import Journal, JournalState

__all__ = ["newest_committed", "prune_journals", "read_journals"]

log = structlog.get_logger("live_mem.consolidation")


async def read_journals(journals: JournalRepository, space: SpaceId, run_ids: Iterable[str]) -> list[Journal]:
    """The journals of ``run_ids`` in that order; one gone or unreadable is skipped
    (and logged: ``journal_unreadable``)."""
    found = []
    for run_id in run_ids:
        try:
            found.append(await journals.get(space, run_id))
        except NotFound:
            continue
        except CorruptObject as exc:
            log.warning("journal_unreadable", space=space.value, run_id=run_id, error=str(exc)[:200])
    return found


async def newest_committed(
    journals: JournalRepository, space: SpaceId, limit: int, *, before: str = ""
) -> list[Journal]:
    """The newest ``limit`` committed journals (of those whose run id sorts before
    ``before``, when given), newest first, read newest first until there are enough."""
    found: list[Journal] = []
    for run_id in reversed(await journals.run_ids(space)):
        if before and run_id >= before:
            continue
        found.extend(
            j for j in await read_journals(journals, space, [run_id]) if j.state is JournalState.COMMITTED
        )
        if len(found) >= limit:
            break
    return found


async def prune_journals(journals: JournalRepository, space: SpaceId, before_stamp: str) -> int:
    """Delete the journals whose run id sorts before ``before_stamp`` (a UTC stamp
    ``%Y%m%dT%H%M%S%fZ``), except prepared ones; return how many went. Keys alone
    decide, but for the prepared journals, which are read through their markers."""
    keep = {j.run_id for j in await journals.pending(space)}
    old = [i for i in await journals.run_ids(space) if i < before_stamp and i not in keep]
    for run_id in old:
        await journals.delete(space, run_id)
    return len(old)
