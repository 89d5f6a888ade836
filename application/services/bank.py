"""Reading the memory bank (only consolidation writes it)."""

from __future__ import annotations

import attrs

from application.access import require_space_access
from application.ports import BankFileInfo, BankRepository, SpaceRepository
from domain import BankFile, BankFileName, Identity, Permission

__all__ = ["BankService"]


@attrs.define(eq=False)
class BankService:
    """Read bank files of a space (read permission)."""

    _spaces: SpaceRepository
    _bank: BankRepository

    async def read(self, caller: Identity, space_id: str, file_name: str) -> BankFile:
        """One bank file. Raises ``PermissionDenied``, ``InvalidInput``, ``NotFound``."""
        space = require_space_access(caller, Permission.READ, space_id)
        name = BankFileName(file_name)
        await self._spaces.get(space)
        return await self._bank.get(space, name)

    async def read_all(self, caller: Identity, space_id: str) -> list[BankFile]:
        """Every bank file, sorted by name (one LIST, then the GETs concurrently)."""
        space = require_space_access(caller, Permission.READ, space_id)
        await self._spaces.get(space)
        return await self._bank.get_all(space)

    async def list(self, caller: Identity, space_id: str) -> list[BankFileInfo]:
        """Bank file names and sizes, sorted by name."""
        space = require_space_access(caller, Permission.READ, space_id)
        await self._spaces.get(space)
        return await self._bank.list(space)
