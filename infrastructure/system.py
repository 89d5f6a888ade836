"""Clock and id generator adapters."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from domain import TOKEN_PREFIX

__all__ = ["RandomIds", "SystemClock"]


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)


class RandomIds:
    """Ids and secrets from the operating system's CSPRNG (:mod:`secrets`)."""

    def new_id(self) -> str:
        """16 lowercase hex digits (64 random bits)."""
        return secrets.token_hex(8)

    def new_secret(self) -> str:
        """``lm_`` + 32 random bytes, url-safe base64 (43 characters)."""
        return TOKEN_PREFIX + secrets.token_urlsafe(32)
