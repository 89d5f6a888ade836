"""Reading the memory bank (only consolidation writes it)."""

from __future__ import annotations

import asyncio

from application.access import require_space_access
from application.ports import BankFileInfo, BankRepository, SpaceRepository
from domain import BankFile, BankFileName, Identity, Permission

__all__ = ["BankService"]


class BankService:
    """Read bank files of a space (read permission)."""

    def __init__(self, spaces: SpaceRepository, bank: BankRepository) -> None:
        self._spaces = spaces
        self._bank = bank

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

        async def read(name: BankFileName) -> BankFile | None:
            try:
                return await self._bank.get(space, name)
            except LookupError:
                return None  # removed between LIST and GET

        found = await asyncio.gather(*(read(info.name) for info in await self._bank.list(space)))
        return [f for f in found if f is not None]

    async def list(self, caller: Identity, space_id: str) -> list[BankFileInfo]:
        """Bank file names and sizes, sorted by name."""
        space = require_space_access(caller, Permission.READ, space_id)
        await self._spaces.get(space)
        return await self._bank.list(space)
