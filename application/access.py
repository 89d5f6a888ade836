"""The authorization check every space-scoped use case starts with."""

from __future__ import annotations

from domain import Identity, Permission, SpaceId

__all__ = ["require_space_access"]


def require_space_access(caller: Identity, permission: Permission, space_id: str) -> SpaceId:
    """Parse ``space_id`` and check that ``caller`` holds ``permission`` on it. Runs before
    any I/O, so a denied call reveals nothing (not even whether the space exists) and
    changes nothing.

    Raises:
        InvalidInput: a malformed space id.
        PermissionDenied: a missing permission or no access to the space.
    """
    space = SpaceId(space_id)
    caller.require(permission, space)
    return space
