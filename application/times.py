"""Times given by callers as text."""

from __future__ import annotations

from datetime import UTC, datetime

from domain import InvalidInput

__all__ = ["parse_since"]


def parse_since(value: str) -> datetime | None:
    """An ISO 8601 time, read as UTC when it names no zone; None for "".

    Raises:
        InvalidInput: text that is not ISO 8601.
    """
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (TypeError, ValueError):
        raise InvalidInput("since must be an ISO 8601 time, e.g. 2026-01-31T12:00:00Z") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
