"""Ports the use cases need besides the object store: repositories, clock, ids.

Repositories speak domain types and raise domain errors (``NotFound``,
``AlreadyExists``, ``Conflict``) for outcomes a caller can act on, and
:class:`application.store.StoreError` subclasses when the store itself fails.
Each port has a contract suite in ``contracts/`` that every adapter passes.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

import attrs

from domain import (
    AgentName,
    BankFile,
    BankFileName,
    Note,
    NoteCategory,
    SpaceId,
    SpaceMeta,
    SpaceRules,
    Synthesis,
    TokenRecord,
)

__all__ = [
    "Clock",
    "IdGenerator",
    "Retrier",
    "NoteRef",
    "BankFileInfo",
    "SpaceRepository",
    "NoteRepository",
    "BankRepository",
    "TokenRepository",
    "BackupInfo",
    "BackupRepository",
    "ArchiveSink",
    "ArchiveSpool",
    "SpooledArchive",
]


T = TypeVar("T")


class Clock(Protocol):
    """The time source (injected so tests control time)."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class Retrier(Protocol):
    """Calls an operation again, with growing waits, while it fails with one kind of
    error, for at most a time."""

    async def call(self, operation: Callable[[], Awaitable[T]], *, on: type[Exception], within: float) -> T:
        """``operation()``'s result; retried while it raises ``on``, for at most
        ``within`` seconds, after which its last ``on`` error propagates."""
        ...


class IdGenerator(Protocol):
    """Source of unique ids and token secrets."""

    def new_id(self) -> str:
        """A fresh id: 16 lowercase hex digits (64 random bits)."""
        ...

    def new_secret(self) -> str:
        """A fresh token secret: ``lm_`` + 32 random bytes, url-safe base64."""
        ...


@attrs.frozen(order=True)
class NoteRef:
    """What a note's key tells without reading it: enough to filter, sort and select.

    Ordering is by ``(created_at, key)``: the order notes were written in.
    """

    created_at: datetime
    key: str
    space_id: SpaceId = attrs.field(order=False)
    agent: AgentName = attrs.field(order=False)
    category: NoteCategory = attrs.field(order=False)
    note_id: str = attrs.field(order=False)


@attrs.frozen
class BankFileInfo:
    """A bank file's name, size in bytes and ETag (its version), from a listing."""

    name: BankFileName
    size: int
    etag: str = ""

    @property
    def archived(self) -> bool:
        """True for a file of the archive (``archive/...``)."""
        return self.name.value.startswith("archive/")


class SpaceRepository(Protocol):
    """Spaces: their metadata, rules and synthesis (``{space}/_meta.json``,
    ``_rules.md``, ``_synthesis.md``)."""

    async def create(self, meta: SpaceMeta, rules: SpaceRules) -> None:
        """Create the space. Raises ``AlreadyExists`` if its id is taken."""
        ...

    async def get(self, space_id: SpaceId) -> SpaceMeta:
        """The space's metadata. Raises ``NotFound``."""
        ...

    async def update(self, space_id: SpaceId, change: Callable[[SpaceMeta], SpaceMeta]) -> SpaceMeta:
        """Apply ``change`` to the metadata with compare-and-swap, retrying when a
        concurrent writer wins; return the stored result. Raises ``NotFound``, or
        ``Conflict`` after repeated lost races."""
        ...

    async def rules(self, space_id: SpaceId) -> SpaceRules:
        """The space's rules. Raises ``NotFound``."""
        ...

    async def synthesis(self, space_id: SpaceId) -> Synthesis:
        """The last synthesis (empty when none). Raises ``NotFound`` for no space."""
        ...

    async def put_synthesis(self, space_id: SpaceId, synthesis: Synthesis) -> None:
        """Replace the synthesis."""
        ...

    async def replace_rules(self, space_id: SpaceId, rules: SpaceRules, stamp: str) -> SpaceRules:
        """Replace the space's rules, first keeping the current ones in the space's
        rules history under ``stamp`` (a sortable UTC time); return the previous rules.
        Raises ``NotFound``."""
        ...

    async def list_ids(self) -> list[SpaceId]:
        """Every space id, sorted."""
        ...

    async def delete(self, space_id: SpaceId) -> int:
        """Delete every object of the space; return how many. Raises ``NotFound``."""
        ...


class NoteRepository(Protocol):
    """A space's live notes: one immutable object per note under ``{space}/live/``."""

    async def add(self, note: Note) -> NoteRef:
        """Store a new note (put-if-absent: a note is never overwritten)."""
        ...

    async def refs(self, space_id: SpaceId, *, since: datetime | None = None) -> list[NoteRef]:
        """Refs of every live note, oldest first, read from keys only (one LIST); with
        ``since``, only notes stamped at or after it (a LIST that starts after the keys
        before it: note keys begin with their UTC timestamp)."""
        ...

    async def get(self, ref: NoteRef) -> Note:
        """Read one note. Raises ``NotFound`` when it was consumed meanwhile."""
        ...

    async def get_many(self, refs: Sequence[NoteRef]) -> list[Note]:
        """Read notes concurrently, in the order of ``refs``, skipping any consumed
        meanwhile and any that cannot be decoded (corrupt: logged with its key and left
        in place, so one bad object never stops the space's reads or consolidation)."""
        ...

    async def delete(self, ref: NoteRef) -> None:
        """Delete a note (idempotent). A ref whose key is not a note of ``ref.space_id``
        deletes nothing: a journal's consumed keys are never trusted to name another
        space's note."""
        ...

    def forget(self, space_id: SpaceId) -> None:
        """Drop whatever this replica keeps in memory about the space's notes (it was
        deleted, created or restored); a repository that keeps nothing does nothing."""
        ...


class BankRepository(Protocol):
    """A space's memory bank: Markdown files under ``{space}/bank/``."""

    async def get(self, space_id: SpaceId, name: BankFileName) -> BankFile:
        """Read one bank file. Raises ``NotFound``."""
        ...

    async def put(self, space_id: SpaceId, file: BankFile) -> None:
        """Create or replace a bank file."""
        ...

    async def get_all(self, space_id: SpaceId) -> list[BankFile]:
        """Every hot bank file (the archive, ``archive/...``, left out), sorted by name
        (one listing, then the reads concurrently); a file removed between the two is
        left out."""
        ...

    async def get_archive(self, space_id: SpaceId) -> list[BankFile]:
        """Every archive file (``archive/...``), sorted by name, read like :meth:`get_all`."""
        ...

    async def list(self, space_id: SpaceId) -> list[BankFileInfo]:
        """Every bank file, archive included, with its size, sorted by name."""
        ...

    async def delete(self, space_id: SpaceId, name: BankFileName) -> None:
        """Delete a bank file (idempotent)."""
        ...


class TokenRepository(Protocol):
    """Token records (hashes only) in ``_system/tokens.json``."""

    async def all(self) -> list[TokenRecord]:
        """Every token record, in creation order."""
        ...

    async def find_by_hash(self, token_hash: str) -> TokenRecord | None:
        """The record whose hash is ``token_hash``, or None."""
        ...

    async def update(self, change: Callable[[list[TokenRecord]], list[TokenRecord]]) -> list[TokenRecord]:
        """Apply ``change`` to the whole list with compare-and-swap, retrying when a
        concurrent writer wins, so no update is lost across replicas. ``change`` may
        raise a domain error to abort; nothing is written then. Raises ``Conflict``
        after repeated lost races."""
        ...


@attrs.frozen
class BackupInfo:
    """A finished backup of one space.

    Attributes:
        space_id: the space that was copied.
        backup_id: ``YYYYMMDDTHHMMSSZ-xxxxxxxx``, sortable by time.
        created_at: when the copy started.
        objects: how many objects were copied.
        size: their total size in bytes.
    """

    space_id: SpaceId
    backup_id: str
    created_at: datetime
    objects: int
    size: int
    generation: str = ""


class ArchiveSink(Protocol):
    """Where the members of an archive being built go, one at a time."""

    async def add(self, name: str, data: bytes) -> None:
        """Append one member (a regular file named ``name``, a POSIX path)."""
        ...


@attrs.frozen
class SpooledArchive:
    """A gzip-compressed tar archive built into an :class:`ArchiveSpool`.

    Attributes:
        handle: the spool's reference to it (opaque to callers).
        size: its length in bytes.
        sha256: the SHA-256 of those bytes, 64 lowercase hex digits.
        members: how many files it holds.
    """

    handle: str
    size: int
    sha256: str
    members: int


class ArchiveSpool(Protocol):
    """Scratch storage for archives between their building and their download: never
    the source of truth, emptied by :meth:`close` (and by a restart)."""

    async def build(self, fill: Callable[[ArchiveSink], Awaitable[int]]) -> SpooledArchive:
        """Create a tar.gz archive and let ``fill`` add its members through the sink
        (``fill`` returns how many it added). Memory stays bounded by one member: the
        archive is written out as it grows. If ``fill`` raises, what was written is
        removed and the error propagates."""
        ...

    def chunks(self, archive: SpooledArchive) -> AsyncIterator[bytes]:
        """The archive's bytes in order, in chunks of at most 64 KiB. Raises
        ``NotFound`` (on iteration) for an archive discarded meanwhile."""
        ...

    async def discard(self, archive: SpooledArchive) -> None:
        """Remove the archive; removing one already gone does nothing."""
        ...

    async def close(self) -> None:
        """Remove every archive the spool holds."""
        ...


class BackupRepository(Protocol):
    """Copies of whole spaces under ``_backups/{space}/{backup_id}/`` and archives."""

    async def create(
        self, space_id: SpaceId, backup_id: str, created_at: datetime, generation: str = ""
    ) -> BackupInfo:
        """Copy every object of the space, then write the manifest last (a backup
        without a manifest is incomplete and never listed); the manifest records the
        space's ``generation``. Raises ``NotFound``."""
        ...

    async def list(self, space_id: SpaceId) -> list[BackupInfo]:
        """Finished backups of the space, oldest first."""
        ...

    async def space_ids(self) -> builtins.list[SpaceId]:
        """The ids that backups are kept under, those of deleted spaces included, sorted."""
        ...

    async def restore(self, space_id: SpaceId, backup_id: str, target: SpaceId, generation: str) -> int:
        """Recreate the backup as space ``target``, which must not exist, with
        ``generation`` as its incarnation; return the number of objects written. A
        restore that fails part-way removes what it wrote. Raises ``NotFound`` or
        ``AlreadyExists``."""
        ...

    async def archive(
        self, space_id: SpaceId, backup_id: str, sink: ArchiveSink, max_bytes: int | None = None
    ) -> int:
        """Add the backup's objects to ``sink`` (members named ``{space}/{key}``), one
        object read at a time; return how many. Raises ``NotFound``, or
        ``LimitExceeded`` before reading any object when the objects add up to more
        than ``max_bytes``."""
        ...

    async def delete(self, space_id: SpaceId, backup_id: str) -> None:
        """Delete a backup. Raises ``NotFound``."""
        ...

    async def export_space(self, space_id: SpaceId, sink: ArchiveSink, max_bytes: int | None = None) -> int:
        """Add the live space's objects to ``sink`` (members named by their keys), one
        object read at a time; return how many. Raises ``NotFound``, or
        ``LimitExceeded`` before reading any object when the objects add up to more
        than ``max_bytes``."""
        ...
