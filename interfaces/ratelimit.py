"""Per-token rate limits by tool family, on the ``limits`` library (moving window, in
memory: each replica counts the calls it serves).

Families and their default limits (settings ``RATE_LIMIT_{FAMILY}``, in ``limits``
notation such as ``600/minute``): ``notes`` (``live_note`` and the ``work_*`` tools that
write: claim, release, done, drop), ``reads`` (every read
tool), ``consolidate`` (``bank_consolidate``, ``bank_compact``), ``export``
(``space_export``, ``backup_*``), ``admin`` (``admin_*`` and space changes). A refused
call is ``RateLimited: ... retry after N s``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Final

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from domain import RateLimited

__all__ = ["DEFAULT_LIMITS", "ToolRateLimiter", "family"]

DEFAULT_LIMITS: Final = {
    "notes": "600/minute",
    "reads": "1200/minute",
    "consolidate": "20/minute",
    "export": "6/minute",
    "admin": "120/minute",
}
_CONSOLIDATE: Final = frozenset({"bank_consolidate", "bank_compact", "bank_repair", "admin_gc_notes"})
_EXPORT: Final = frozenset(
    {"space_export", "backup_create", "backup_restore", "backup_download", "backup_delete"}
)
_ADMIN_SPACE: Final = frozenset(
    {"space_create", "space_update", "space_update_rules", "space_delete", "bank_write", "bank_delete"}
)


_WRITES: Final = frozenset({"live_note", "work_claim", "work_release", "work_done", "work_drop"})


def family(tool: str) -> str:
    """The family a tool's calls are counted in."""
    if tool in _WRITES:
        return "notes"
    if tool in _CONSOLIDATE:
        return "consolidate"
    if tool in _EXPORT:
        return "export"
    if tool.startswith("admin_") or tool in _ADMIN_SPACE:
        return "admin"
    return "reads"


class ToolRateLimiter:
    """Counts each token's calls per family and refuses those over the limit.

    Args:
        limits: family -> limit (``limits`` notation); families left out use the defaults.

    Raises:
        ValueError: a limit that ``limits`` cannot parse.
    """

    def __init__(self, limits: Mapping[str, str] | None = None) -> None:
        merged = {**DEFAULT_LIMITS, **(limits or {})}
        self._items: dict[str, RateLimitItem] = {name: parse(value) for name, value in merged.items()}
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, tool: str, token_key: str) -> None:
        """Count one call of ``tool`` by the token; raise ``RateLimited`` when over."""
        name = family(tool)
        item = self._items[name]
        if self._limiter.hit(item, name, token_key):
            return
        stats = self._limiter.get_window_stats(item, name, token_key)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(f"too many {name} calls for this token ({item}); retry after {wait} s", wait)
