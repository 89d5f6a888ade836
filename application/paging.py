"""Pages of a listing, newest first: the one cursor format and the one limit check that
every paged read (live notes, work items) uses. A cursor is opaque to callers: the
position of the last entry of a page (its time and a tie-breaking name), base64url."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from domain import InvalidInput

__all__ = ["check_limit", "decode_cursor", "encode_cursor"]


def encode_cursor(at: datetime, name: str) -> str:
    """The cursor after the entry written at ``at`` and named ``name`` (a key or an id)."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}\n{name}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The ``(time, name)`` position a cursor names.

    Raises:
        InvalidInput: not a cursor this server made.
    """
    try:
        stamp, name = base64.urlsafe_b64decode(cursor.encode("ascii")).decode().split("\n", 1)
        return datetime.fromisoformat(stamp), name
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput("invalid cursor: pass back the next_cursor of a previous page") from None


def check_limit(limit: object, high: int) -> int:
    """A page size from 1 to ``high``.

    Raises:
        InvalidInput: anything else (a bool included).
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= high:
        raise InvalidInput(f"limit must be between 1 and {high}")
    return limit
