"""Tokens: authentication of a bearer secret, and the admin use cases on tokens."""

from __future__ import annotations

import builtins
import hmac
from collections.abc import Callable, Sequence
from datetime import timedelta

import attrs

from application.ports import Clock, IdGenerator, TokenRepository
from domain import (
    ALL_SPACES,
    AgentName,
    AlreadyExists,
    AuthenticationFailed,
    Identity,
    InvalidInput,
    NotFound,
    Permission,
    SpaceId,
    TokenRecord,
    check_bootstrap_key,
    hash_secret,
)

__all__ = ["BOOTSTRAP_AGENT", "HASH_PREFIX_MIN", "AuthService", "IssuedToken"]

BOOTSTRAP_AGENT = AgentName("bootstrap-admin")
HASH_PREFIX_MIN = 16
"""The shortest token hash prefix the token tools accept."""
_MAX_EXPIRY_DAYS = 3650


@attrs.frozen
class IssuedToken:
    """A token just created: its record and its secret, shown this once."""

    record: TokenRecord
    secret: str


class AuthService:
    """Authenticate bearer secrets and manage tokens (admin only).

    Args:
        tokens: where records live.
        clock, ids: time and randomness.
        bootstrap_key: the ``ADMIN_BOOTSTRAP_KEY``, or None to disable it.

    Raises:
        InvalidInput: at construction, for a short or placeholder bootstrap key.
    """

    def __init__(
        self, tokens: TokenRepository, clock: Clock, ids: IdGenerator, bootstrap_key: str | None
    ) -> None:
        self._tokens = tokens
        self._clock = clock
        self._ids = ids
        self._bootstrap_hash = hash_secret(check_bootstrap_key(bootstrap_key)) if bootstrap_key else None

    async def authenticate(self, secret: str | None) -> Identity:
        """The identity a bearer secret gives.

        Raises:
            AuthenticationFailed: no secret, an unknown one, or a revoked or expired token.
        """
        if not secret:
            raise AuthenticationFailed("a bearer token is required")
        digest = hash_secret(secret)
        if self._bootstrap_hash is not None and hmac.compare_digest(digest, self._bootstrap_hash):
            return Identity(BOOTSTRAP_AGENT, Permission.ADMIN, (ALL_SPACES,))
        record = await self._tokens.find_by_hash(digest)
        if record is None:
            raise AuthenticationFailed("unknown token")
        if record.revoked:
            raise AuthenticationFailed("token is revoked")
        if not record.is_active(self._clock.now()):
            raise AuthenticationFailed("token is expired")
        return record.identity()

    async def create(
        self,
        caller: Identity,
        name: str,
        permission: str,
        spaces: Sequence[str] | None,
        expires_in_days: int | None = None,
    ) -> IssuedToken:
        """Create a token (admin). The secret is returned once and never stored. A name
        is an agent's identity: no two active tokens share one, and ``bootstrap-admin``
        (the bootstrap key's identity) is reserved. ``spaces`` None means the caller's
        own spaces; the new token's rights must be within the caller's
        (:meth:`Identity.require_within`).

        Raises:
            PermissionDenied (not admin, or rights beyond the caller's), InvalidInput,
            AlreadyExists (an active token has the name).
        """
        caller.require(Permission.ADMIN)
        if AgentName(name) == BOOTSTRAP_AGENT:
            raise InvalidInput(f"the name {BOOTSTRAP_AGENT} is reserved for the bootstrap key")
        now = self._clock.now()
        expires = None
        if expires_in_days is not None:
            if not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= _MAX_EXPIRY_DAYS:
                raise InvalidInput(f"expires_in_days must be between 1 and {_MAX_EXPIRY_DAYS}")
            expires = now + timedelta(days=expires_in_days)
        granted = Permission.parse(permission)
        wanted = caller.spaces if spaces is None else _spaces(spaces)
        secret = self._ids.new_secret()
        record = TokenRecord(
            token_id=self._ids.new_id(),
            name=AgentName(name),
            token_hash=hash_secret(secret),
            permission=granted,
            spaces=wanted,
            created_at=now,
            expires_at=expires,
        )
        caller.require_within(record.permission, record.spaces)

        def add(records: list[TokenRecord]) -> list[TokenRecord]:
            if any(r.name == record.name and r.is_active(now) for r in records):
                raise AlreadyExists(
                    f"an active token is already named {record.name}: names are agent identities; "
                    "revoke that token first or choose another name"
                )
            return [*records, record]

        await self._tokens.update(add)
        return IssuedToken(record=record, secret=secret)

    async def add_space(self, caller: Identity, space: SpaceId) -> None:
        """Add ``space``, which ``caller`` just created, to the caller's own active token
        (the one named as the caller); the bootstrap key and tokens for every space
        need nothing. Only :class:`SpaceService` calls this, after a successful create."""
        if caller.can_use(space):
            return
        now = self._clock.now()

        def grant(records: builtins.list[TokenRecord]) -> builtins.list[TokenRecord]:
            return [
                attrs.evolve(r, spaces=(*r.spaces, space.value))
                if r.name == caller.name and r.is_active(now) and space.value not in r.spaces
                else r
                for r in records
            ]

        await self._tokens.update(grant)

    async def list(self, caller: Identity) -> list[TokenRecord]:
        """Every token record (admin)."""
        caller.require(Permission.ADMIN)
        return await self._tokens.all()

    async def update(
        self,
        caller: Identity,
        token_id: str,
        permission: str | None = None,
        spaces: Sequence[str] | None = None,
    ) -> TokenRecord:
        """Change a token's permission and/or spaces (admin). The token, before and
        after, must be within the caller's rights (:meth:`Identity.require_within`): an
        admin limited to some spaces can neither widen a token (itself included) nor
        change one that reaches beyond its own spaces.

        Raises:
            PermissionDenied, InvalidInput, NotFound.
        """
        caller.require(Permission.ADMIN)
        return await self._change(token_id, _rights_change(caller, permission, spaces))

    async def bulk_update(
        self,
        caller: Identity,
        references: Sequence[str],
        permission: str | None = None,
        spaces: Sequence[str] | None = None,
    ) -> builtins.list[TokenRecord]:
        """Change the permission and/or spaces of several tokens at once (admin), all or
        none: every reference (id, hash or hash prefix, see :meth:`resolve`) is checked
        before anything is written, and the change is one write of the token store.

        Raises:
            PermissionDenied, InvalidInput, NotFound (one reference names no token).
        """
        caller.require(Permission.ADMIN)
        if isinstance(references, str) or not references:
            raise InvalidInput("give the tokens to change: a list of ids or hashes")
        change = _rights_change(caller, permission, spaces)
        ids = {await self.resolve(caller, reference) for reference in references}
        changed: builtins.list[TokenRecord] = []

        def apply(records: builtins.list[TokenRecord]) -> builtins.list[TokenRecord]:
            changed.clear()
            out = []
            for record in records:
                if record.token_id in ids:
                    record = change(record)  # noqa: PLW2901
                    changed.append(record)
                out.append(record)
            if len(changed) != len(ids):
                raise NotFound("a token was deleted meanwhile; nothing was changed")
            return out

        await self._tokens.update(apply)
        return list(changed)

    async def purge(self, caller: Identity) -> builtins.list[TokenRecord]:
        """Delete the records of every revoked or expired token within the caller's
        rights (admin); return them."""
        caller.require(Permission.ADMIN)
        now = self._clock.now()
        purged: builtins.list[TokenRecord] = []

        def drop(records: builtins.list[TokenRecord]) -> builtins.list[TokenRecord]:
            purged[:] = [r for r in records if not r.is_active(now) and caller.covers(r.permission, r.spaces)]
            return [r for r in records if r not in purged]

        await self._tokens.update(drop)
        return purged

    async def resolve(self, caller: Identity, reference: str) -> str:
        """The id of the token ``reference`` names (admin): its id, its SHA-256 hash, or
        a prefix of the hash of at least ``HASH_PREFIX_MIN`` hex digits, as the public
        live-memory server accepts.

        Raises:
            PermissionDenied; NotFound (no such token); InvalidInput (a prefix shorter
            than 16 digits, or one that several tokens share).
        """
        caller.require(Permission.ADMIN)
        if not isinstance(reference, str) or not reference:
            raise InvalidInput("give a token id or hash (see admin_list_tokens)")
        records = await self._tokens.all()
        exact = [r for r in records if reference in (r.token_id, r.token_hash)]
        if exact:
            return exact[0].token_id
        if len(reference) < HASH_PREFIX_MIN:
            raise NotFound(
                f"no token with id {reference[:40]!r} (a hash prefix needs {HASH_PREFIX_MIN} digits)"
            )
        matching = [r for r in records if r.token_hash.startswith(reference.lower())]
        if len(matching) > 1:
            raise InvalidInput(
                f"{len(matching)} tokens share the hash prefix {reference[:64]!r}: give more digits"
            )
        if not matching:
            raise NotFound(f"no token whose hash starts with {reference[:64]!r}")
        return matching[0].token_id

    async def revoke(self, caller: Identity, token_id: str) -> TokenRecord:
        """Revoke a token (admin, within its rights): it authenticates nothing from now on."""
        caller.require(Permission.ADMIN)

        def revoke(record: TokenRecord) -> TokenRecord:
            caller.require_within(record.permission, record.spaces)
            return attrs.evolve(record, revoked=True)

        return await self._change(token_id, revoke)

    async def delete(self, caller: Identity, token_id: str) -> None:
        """Delete a token record (admin, within its rights). Raises ``NotFound``,
        ``PermissionDenied``."""
        caller.require(Permission.ADMIN)

        def drop(records: list[TokenRecord]) -> list[TokenRecord]:
            for record in records:
                if record.token_id == token_id:
                    caller.require_within(record.permission, record.spaces)
            kept = [r for r in records if r.token_id != token_id]
            if len(kept) == len(records):
                raise NotFound(f"no token with id {str(token_id)[:40]!r}")
            return kept

        await self._tokens.update(drop)

    async def _change(self, token_id: str, change: Callable[[TokenRecord], TokenRecord]) -> TokenRecord:
        found: list[TokenRecord] = []

        def apply(records: list[TokenRecord]) -> list[TokenRecord]:
            out = []
            for record in records:
                if record.token_id == token_id:
                    record = change(record)  # noqa: PLW2901
                    found.append(record)
                out.append(record)
            if not found:
                raise NotFound(f"no token with id {str(token_id)[:40]!r}")
            return out

        await self._tokens.update(apply)
        return found[-1]


def _rights_change(
    caller: Identity, permission: str | None, spaces: Sequence[str] | None
) -> Callable[[TokenRecord], TokenRecord]:
    """The change that gives a token ``permission`` and/or ``spaces`` (None: unchanged),
    refused for a token outside the caller's rights before or after it
    (:meth:`Identity.require_within`).

    Raises:
        InvalidInput: neither is given, or one is not valid (at once); the change
            raises PermissionDenied for a token it may not touch.
    """
    if permission is None and spaces is None:
        raise InvalidInput("give a permission, spaces, or both")
    new_permission = None if permission is None else Permission.parse(permission)
    new_spaces = None if spaces is None else _spaces(spaces)

    def change(record: TokenRecord) -> TokenRecord:
        caller.require_within(record.permission, record.spaces)
        changed = attrs.evolve(
            record,
            permission=new_permission or record.permission,
            spaces=new_spaces if new_spaces is not None else record.spaces,
        )
        caller.require_within(changed.permission, changed.spaces)
        return changed

    return change


def _spaces(spaces: Sequence[str]) -> tuple[str, ...]:
    if isinstance(spaces, str) or not isinstance(spaces, list | tuple):
        raise InvalidInput("spaces must be a list of space ids, or ['*'] for all")
    if not spaces:
        raise InvalidInput("spaces must name at least one space, or ['*'] for all")
    return tuple(spaces)
