"""Hand edits of a memory bank: ``bank_write``, ``bank_delete`` (an admin's escape hatch)
and ``bank_repair`` (manage). Each goes through a journal under the space's lease, like a
consolidation batch, so that a crash mid-edit is rolled forward and every edit shows in
``bank_history``. The archive is append-only and never edited here."""

from __future__ import annotations

import attrs

from application.access import require_space_access
from application.consolidation.service import ConsolidationService
from application.ports import BankRepository, IdGenerator, SpaceRepository
from domain import BankFile, BankFileName, Identity, InvalidInput, Permission
from domain.consolidation import ARCHIVE_FOLDER
from domain.consolidation.repair import merge_duplicate_sections

__all__ = ["BankEdit", "BankEditService", "BankRepair", "SectionsMerged"]


@attrs.frozen
class BankEdit:
    """A hand edit's journal (``run_id``) and the file it wrote (``size`` in bytes) or
    deleted (``size`` None)."""

    run_id: str
    filename: str
    size: int | None = None


@attrs.frozen
class SectionsMerged:
    """A file whose duplicate sections were (or, on a dry run, would be) merged."""

    filename: str
    merged_sections: tuple[str, ...]


@attrs.frozen
class BankRepair:
    """What ``bank_repair`` found and, unless ``dry_run``, fixed: files with duplicate
    sections, files the rules do not declare, and the journal (``run_id``) when
    something was written."""

    dry_run: bool
    repairs: tuple[SectionsMerged, ...]
    undeclared: tuple[str, ...]
    run_id: str | None = None


def _hot(name: str) -> BankFileName:
    file = BankFileName(name)
    if file.value.startswith(f"{ARCHIVE_FOLDER}/"):
        raise InvalidInput("the archive is append-only: bank_write and bank_delete edit hot bank files only")
    return file


@attrs.define(eq=False)
class BankEditService:
    """Write, delete and repair bank files by hand (module docstring)."""

    _spaces: SpaceRepository
    _bank: BankRepository
    _consolidation: ConsolidationService
    _ids: IdGenerator

    async def write(self, caller: Identity, space_id: str, filename: str, content: str) -> BankEdit:
        """Create or replace a hot bank file (admin). Returns the run id and size.

        Raises:
            PermissionDenied, InvalidInput (bad name, an archive file, content over
            256 KiB), NotFound, Conflict (the space's lease is held).
        """
        space = require_space_access(caller, Permission.ADMIN, space_id)
        file = BankFile(_hot(filename), content)
        journal = await self._consolidation.edit(
            space, f"w{self._ids.new_id()}", {file.name.value: file.content}, (), "manual (bank_write)"
        )
        return BankEdit(journal.run_id, file.name.value, file.size)

    async def delete(self, caller: Identity, space_id: str, filename: str) -> BankEdit:
        """Delete a hot bank file (admin); the archive keeps every consolidated note.

        Raises:
            PermissionDenied, InvalidInput, NotFound (no such space or file), Conflict.
        """
        space = require_space_access(caller, Permission.ADMIN, space_id)
        name = _hot(filename)
        await self._bank.get(space, name)  # NotFound before anything is written
        journal = await self._consolidation.edit(
            space, f"d{self._ids.new_id()}", {}, (name.value,), "manual (bank_delete)"
        )
        return BankEdit(journal.run_id, name.value)

    async def repair(self, caller: Identity, space_id: str, *, dry_run: bool = True) -> BankRepair:
        """Find (and unless ``dry_run`` fix) what hand edits leave in a bank (manage):
        duplicate sections in a file are merged into the first one
        (:func:`~domain.consolidation.repair.merge_duplicate_sections`); files the rules
        do not declare are flagged, never deleted (``bank_delete`` does that).

        Raises:
            PermissionDenied, InvalidInput, NotFound, Conflict.
        """
        space = require_space_access(caller, Permission.MANAGE, space_id)
        if not isinstance(dry_run, bool):
            raise InvalidInput("dry_run must be true or false")
        declared = {n.value for n in (await self._spaces.rules(space)).file_names()}
        files = await self._bank.get_all(space)
        fixed: dict[str, str] = {}
        repairs = []
        for file in files:
            text, merged = merge_duplicate_sections(file.content)
            if merged:
                fixed[file.name.value] = text
                repairs.append(SectionsMerged(file.name.value, tuple(merged)))
        undeclared = sorted(f.name.value for f in files if f.name.value not in declared)
        answer = BankRepair(dry_run, tuple(repairs), tuple(undeclared))
        if fixed and not dry_run:
            journal = await self._consolidation.edit(
                space, f"r{self._ids.new_id()}", fixed, (), "manual (bank_repair)"
            )
            answer = attrs.evolve(answer, run_id=journal.run_id)
        return answer
