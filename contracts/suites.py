"""Every store-backed contract suite, bound to a backend in one line.

A backend's test module defines the ``open_backend`` fixture and binds the suites with
``globals().update(bind_suites("Moto"))``: one ``Test{backend}{suite}`` class per suite
(``TestMotoNotes``, ...), each a plain subclass that pytest collects, so a suite added
here runs on every backend and none can be forgotten (the idea of zarr's store tests:
one suite, each store a subclass)."""

from __future__ import annotations

from typing import Final

from contracts.audit import AuditLogContract
from contracts.backups import BackupRepositoryContract
from contracts.journals import JournalRepositoryContract
from contracts.object_store import ObjectStoreContract
from contracts.repositories import (
    BankRepositoryContract,
    JobRepositoryContract,
    LeaseRepositoryContract,
    NoteRepositoryContract,
    SpaceRepositoryContract,
    TokenRepositoryContract,
)
from contracts.work import ClaimRepositoryContract, ItemRepositoryContract, PresenceRepositoryContract

__all__ = ["SUITES", "bind_suites"]

SUITES: Final[dict[str, type]] = {
    "ObjectStore": ObjectStoreContract,
    "Spaces": SpaceRepositoryContract,
    "Notes": NoteRepositoryContract,
    "Bank": BankRepositoryContract,
    "Tokens": TokenRepositoryContract,
    "Jobs": JobRepositoryContract,
    "Leases": LeaseRepositoryContract,
    "Audit": AuditLogContract,
    "WorkItems": ItemRepositoryContract,
    "Claims": ClaimRepositoryContract,
    "Presence": PresenceRepositoryContract,
    "Journals": JournalRepositoryContract,
    "Backups": BackupRepositoryContract,
}
"""Suite name -> the suite's class, in the order they run."""


def bind_suites(backend: str) -> dict[str, type]:
    """``{"Test{backend}{name}": subclass}`` for every suite in :data:`SUITES`, for a
    backend module's globals (pytest collects ``Test*`` classes from them)."""
    return {
        f"Test{backend}{name}": type(f"Test{backend}{name}", (suite,), {}) for name, suite in SUITES.items()
    }
