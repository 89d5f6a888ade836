"""Tokens and identities: who may do what in which space.

A token's secret is ``lm_`` followed by 32 random bytes in url-safe base64; only its
SHA-256 digest (hex) is ever stored. The domain holds the records and the rules
(:meth:`Identity.require`); generating secrets and hashing live in infrastructure.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Final

import attrs

from domain.errors import InvalidInput, PermissionDenied
from domain.values import AgentName, Permission, SpaceId

__all__ = [
    "TOKEN_PREFIX",
    "ALL_SPACES",
    "BOOTSTRAP_KEY_MIN",
    "TokenRecord",
    "Identity",
    "hash_secret",
    "check_bootstrap_key",
]

TOKEN_PREFIX: Final = "lm_"  # noqa: S105 - a prefix, not a secret
ALL_SPACES: Final = "*"
BOOTSTRAP_KEY_MIN: Final = 32
_PLACEHOLDERS: Final = (
    "change",
    "example",
    "placeholder",
    "secret",
    "password",
    "admin",
    "xxxx",
    "todo",
    "your",
)
_HASH_RE: Final = re.compile(r"[0-9a-f]{64}")


def hash_secret(secret: str) -> str:
    """SHA-256 (FIPS 180-4) hex digest of a token secret: what is stored instead of it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_bootstrap_key(key: str) -> str:
    """Refuse a bootstrap admin key that is short or a known placeholder.

    Raises:
        InvalidInput: shorter than 32 characters, a placeholder word ("change-me",
            "example", "secret", ...), or fewer than 10 distinct characters.
    """
    lowered = key.lower()
    if len(key) < BOOTSTRAP_KEY_MIN:
        raise InvalidInput(f"ADMIN_BOOTSTRAP_KEY must be at least {BOOTSTRAP_KEY_MIN} characters")
    if any(word in lowered for word in _PLACEHOLDERS) or len(set(key)) < 10:
        raise InvalidInput(
            "ADMIN_BOOTSTRAP_KEY looks like a placeholder; generate one with: openssl rand -hex 32"
        )
    return key


_TOKEN_ID_RE: Final = re.compile(r"[0-9a-f]{8,32}")


def _check_hash(_i: object, _a: object, value: str) -> None:
    if not _HASH_RE.fullmatch(value):
        raise InvalidInput("token hash must be 64 lowercase hex digits (SHA-256)")


def _check_token_id(_i: object, _a: object, value: str) -> None:
    if not _TOKEN_ID_RE.fullmatch(value):
        raise InvalidInput("token id must be 8-32 lowercase hex digits")


def _spaces(value: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("spaces must be a list of space ids or ['*']")
    out: list[str] = []
    for item in value:
        text = item.value if isinstance(item, SpaceId) else item
        if text != ALL_SPACES:
            text = SpaceId(text).value
        out.append(text)
    return tuple(dict.fromkeys(out))


@attrs.frozen
class TokenRecord:
    """A stored token: everything but the secret.

    Attributes:
        token_id: short public id used to update, revoke or delete the token.
        name: the agent identity this token gives.
        token_hash: SHA-256 hex digest of the secret.
        permission: the highest permission granted (the ladder includes lower ones).
        spaces: space ids this token may use, or ``("*",)`` for all.
        created_at: timezone-aware creation time.
        expires_at: optional timezone-aware expiry.
        revoked: a revoked token authenticates nothing.
    """

    token_id: str = attrs.field(validator=_check_token_id)
    name: AgentName
    token_hash: str = attrs.field(validator=_check_hash)
    permission: Permission
    spaces: tuple[str, ...] = attrs.field(converter=_spaces)
    created_at: datetime
    expires_at: datetime | None = None
    revoked: bool = False

    def is_active(self, now: datetime) -> bool:
        """True when not revoked and not expired at ``now``."""
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    def identity(self) -> Identity:
        """The identity a caller presenting this token acts as."""
        return Identity(name=self.name, permission=self.permission, spaces=self.spaces)


@attrs.frozen
class Identity:
    """Who is calling: a name, a permission level and the spaces they may use."""

    name: AgentName
    permission: Permission
    spaces: tuple[str, ...] = attrs.field(converter=_spaces)

    def can_use(self, space_id: SpaceId) -> bool:
        """True when the identity's spaces include ``space_id`` or are ``*``. An admin
        token is bound by its list too: an admin token for ``beta`` cannot read ``alpha``
        (token administration itself is not about a space)."""
        return ALL_SPACES in self.spaces or space_id.value in self.spaces

    def require(self, permission: Permission, space_id: SpaceId | None = None) -> None:
        """Check that this identity holds ``permission`` (and may use ``space_id``).

        Raises:
            PermissionDenied: with a message that names what is missing.
        """
        if self.permission < permission:
            raise PermissionDenied(
                f"this operation needs the {permission.label} permission; "
                f"token {self.name} has {self.permission.label}"
            )
        if space_id is not None and not self.can_use(space_id):
            raise PermissionDenied(f"token {self.name} has no access to space {space_id}")

    def covers(self, permission: Permission, spaces: tuple[str, ...]) -> bool:
        """True when rights ``(permission, spaces)`` are within this identity's own."""
        if permission > self.permission:
            return False
        return ALL_SPACES in self.spaces or all(s in self.spaces for s in spaces)

    def require_within(self, permission: Permission, spaces: tuple[str, ...]) -> None:
        """Check that rights ``(permission, spaces)`` are within this identity's own: a
        token never grants more than it holds (to a token it creates, or by changing
        one, itself included).

        Raises:
            PermissionDenied: the permission is higher, or a space (``*`` included) is
                outside this identity's spaces; the message names what is missing.
        """
        if permission > self.permission:
            raise PermissionDenied(
                f"token {self.name} has {self.permission.label}: it cannot grant {permission.label}"
            )
        if ALL_SPACES in self.spaces:
            return
        outside = [s for s in spaces if s not in self.spaces]
        if outside:
            shown = ", ".join("every space (*)" if s == ALL_SPACES else s for s in outside[:5])
            raise PermissionDenied(
                f"token {self.name} may use only {', '.join(self.spaces)}: it cannot grant {shown}"
            )
