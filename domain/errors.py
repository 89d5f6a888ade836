"""The domain error family.

Every error a use case may raise for a reason the caller can act on derives from
:class:`DomainError`. Interfaces map these classes (never their messages' wording)
to MCP tool errors, HTTP status codes and CLI exit codes.
"""

from __future__ import annotations

__all__ = [
    "DomainError",
    "InvalidInput",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "AuthenticationFailed",
    "Conflict",
    "LimitExceeded",
    "PlanRejected",
    "RateLimited",
]


class DomainError(Exception):
    """Base class of every error that a caller may see and act on."""


class InvalidInput(DomainError, ValueError):
    """A value breaks a domain rule (bad space id, file name, category, ...)."""


class NotFound(DomainError, LookupError):
    """The named space, note, bank file, backup, job or token does not exist."""


class AlreadyExists(DomainError):
    """Creating something whose identity is already taken."""


class AuthenticationFailed(DomainError):
    """No token, an unknown token, or a revoked or expired one."""


class PermissionDenied(DomainError):
    """The caller is known but lacks the permission or the space access."""


class Conflict(DomainError):
    """A concurrent change won (compare-and-swap lost too many times, lease held)."""


class LimitExceeded(InvalidInput):
    """A size or count limit is exceeded; the message names the limit."""


class RateLimited(DomainError):
    """Too many calls of one kind by one token, or no room now; the message says when to
    retry, and ``retry_after`` (seconds, None when unknown) says it to code (HTTP's
    ``Retry-After``, RFC 9110 section 10.2.3), so that nobody parses the message."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PlanRejected(DomainError):
    """A consolidation edit plan failed validation; nothing was written."""
