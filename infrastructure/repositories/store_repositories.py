"""Repositories over any ``ObjectStore``, with the key layout of
:mod:`infrastructure.layout`. They implement the repository ports of
:mod:`application.ports` and pass the suites in ``contracts/repositories.py``."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final

import structlog

from application.ports import BankFileInfo, NoteRef
from application.store import CorruptObject, ObjectNotFound, ObjectStore, PreconditionFailed
from domain import (
    AlreadyExists,
    BankFile,
    BankFileName,
    InvalidInput,
    Note,
    NotFound,
    SpaceId,
    SpaceMeta,
    SpaceRules,
    Synthesis,
    TokenRecord,
)
from infrastructure import codecs, layout
from infrastructure.repositories._cas import cas_update

__all__ = [
    "StoreSpaceRepository",
    "StoreNoteRepository",
    "StoreBankRepository",
    "StoreTokenRepository",
]

log = structlog.get_logger("live_mem.store")

_READ_CONCURRENCY: Final = 16
_MARKDOWN: Final = "text/markdown; charset=utf-8"


async def _keys(store: ObjectStore, prefix: str, *, start_after: str = "") -> list[str]:
    return [info.key async for page in store.list_pages(prefix, start_after=start_after) for info in page]


async def _text(store: ObjectStore, key: str, missing: str) -> str:
    """An object's text. Raises ``NotFound`` (``missing`` as message), or ``CorruptObject``
    for bytes that are not UTF-8 (written by hand, or by another program)."""
    try:
        data = (await store.get(key)).data
    except ObjectNotFound:
        raise NotFound(missing) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptObject(f"{key} is not valid UTF-8 (byte {exc.start}); rewrite or delete it") from None


class StoreSpaceRepository:
    """Spaces on an object store. Creation claims ``{space}/_meta.json`` with
    put-if-absent, so two creators of one id cannot both win."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def create(self, meta: SpaceMeta, rules: SpaceRules) -> None:
        """See :class:`application.ports.SpaceRepository`. Objects left under the id by
        an earlier space (notes written while it was deleted, a restore that stopped
        half-way) are never handed to a new space: creation is refused until
        ``space_delete`` purges them."""
        space = meta.space_id
        leftovers = [
            k for k in await _keys(self._store, layout.space_prefix(space)) if k != layout.meta_key(space)
        ]
        if leftovers and not await self._exists(space):
            raise AlreadyExists(
                f"space id {space} still holds {len(leftovers)} objects of a deleted space; "
                f"purge them with space_delete('{space}', confirm=true), then create it"
            )
        try:
            await self._store.put_if_absent(
                layout.meta_key(space), codecs.encode_meta(meta), content_type="application/json"
            )
        except PreconditionFailed:
            raise AlreadyExists(f"space {space} already exists") from None
        await self._store.put(layout.rules_key(space), rules.text.encode("utf-8"), content_type=_MARKDOWN)
        await self._store.put(layout.space_marker_key(space), b"", content_type="text/plain")

    async def get(self, space_id: SpaceId) -> SpaceMeta:
        """See :class:`application.ports.SpaceRepository`."""
        try:
            stored = await self._store.get(layout.meta_key(space_id))
        except ObjectNotFound:
            raise NotFound(f"space {space_id} does not exist") from None
        return codecs.decode_meta(stored.data)

    async def update(self, space_id: SpaceId, change: Callable[[SpaceMeta], SpaceMeta]) -> SpaceMeta:
        """See :class:`application.ports.SpaceRepository`."""

        def checked(meta: SpaceMeta) -> SpaceMeta:
            result = change(meta)
            if result.space_id != space_id:
                raise InvalidInput("a space's id cannot change")
            return result

        try:
            return await cas_update(
                self._store,
                layout.meta_key(space_id),
                decode=codecs.decode_meta,
                encode=codecs.encode_meta,
                change=checked,
                initial=None,
            )
        except ObjectNotFound:
            raise NotFound(f"space {space_id} does not exist") from None

    async def rules(self, space_id: SpaceId) -> SpaceRules:
        """See :class:`application.ports.SpaceRepository`."""
        return SpaceRules(
            await _text(self._store, layout.rules_key(space_id), f"space {space_id} has no rules")
        )

    async def synthesis(self, space_id: SpaceId) -> Synthesis:
        """See :class:`application.ports.SpaceRepository`."""
        await self.get(space_id)
        try:
            return Synthesis((await self._store.get(layout.synthesis_key(space_id))).data.decode("utf-8"))
        except ObjectNotFound:
            return Synthesis("")

    async def put_synthesis(self, space_id: SpaceId, synthesis: Synthesis) -> None:
        """See :class:`application.ports.SpaceRepository`."""
        await self._store.put(
            layout.synthesis_key(space_id), synthesis.text.encode("utf-8"), content_type=_MARKDOWN
        )

    async def replace_rules(self, space_id: SpaceId, rules: SpaceRules, stamp: str) -> SpaceRules:
        """See :class:`application.ports.SpaceRepository`: the previous rules go to
        ``{space}/_rules_history/{stamp}.md`` before the new ones are written."""
        previous = await self.rules(space_id)
        await self._store.put(
            layout.rules_history_key(space_id, stamp), previous.text.encode("utf-8"), content_type=_MARKDOWN
        )
        await self._store.put(layout.rules_key(space_id), rules.text.encode("utf-8"), content_type=_MARKDOWN)
        return previous

    async def list_ids(self) -> list[SpaceId]:
        """See :class:`application.ports.SpaceRepository`. Spaces whose metadata is gone
        (a delete that stopped half-way) are not listed."""
        names = [
            key.removeprefix(layout.SPACES_PREFIX) for key in await _keys(self._store, layout.SPACES_PREFIX)
        ]
        ids = [SpaceId(n) for n in names if "/" not in n]
        present = await asyncio.gather(*(self._exists(i) for i in ids))
        return sorted(i for i, ok in zip(ids, present, strict=True) if ok)

    async def _exists(self, space_id: SpaceId) -> bool:
        try:
            await self._store.head(layout.meta_key(space_id))
        except ObjectNotFound:
            return False
        return True

    async def delete(self, space_id: SpaceId) -> int:
        """See :class:`application.ports.SpaceRepository`. Metadata goes first, so a
        delete that stops half-way leaves a space that no longer exists and whose
        remaining objects a repeated delete removes."""
        keys = await _keys(self._store, layout.space_prefix(space_id))
        marker = layout.space_marker_key(space_id)
        if not keys:
            await self._store.delete(marker)
            raise NotFound(f"space {space_id} does not exist")
        meta = layout.meta_key(space_id)
        if meta in keys:
            await self._store.delete(meta)
        semaphore = asyncio.Semaphore(_READ_CONCURRENCY)

        async def drop(key: str) -> None:
            async with semaphore:
                await self._store.delete(key)

        await asyncio.gather(*(drop(k) for k in keys if k != meta))
        await self._store.delete(marker)
        return sum(k != layout.lease_key(space_id) for k in keys)  # our own lease is no content


class StoreNoteRepository:
    """Live notes on an object store: one object per note, written with put-if-absent."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def add(self, note: Note) -> NoteRef:
        """See :class:`application.ports.NoteRepository`."""
        key = layout.note_key(note)
        try:
            await self._store.put_if_absent(key, codecs.encode_note(note), content_type=_MARKDOWN)
        except PreconditionFailed:
            raise AlreadyExists(f"note {note.note_id} already exists") from None
        return layout.note_ref(note)

    async def refs(self, space_id: SpaceId, *, since: datetime | None = None) -> list[NoteRef]:
        """See :class:`application.ports.NoteRepository`."""
        prefix = layout.live_prefix(space_id)
        start = layout.note_key_floor(space_id, since) if since is not None else ""
        parsed = (layout.parse_note_key(k) for k in await _keys(self._store, prefix, start_after=start))
        return sorted(ref for ref in parsed if ref is not None)

    async def get(self, ref: NoteRef) -> Note:
        """See :class:`application.ports.NoteRepository`."""
        try:
            stored = await self._store.get(ref.key)
        except ObjectNotFound:
            raise NotFound(f"note {ref.note_id} does not exist (consumed by a consolidation?)") from None
        return codecs.decode_note(stored.data, f"note {ref.key}")

    async def get_many(self, refs: Sequence[NoteRef]) -> list[Note]:
        """See :class:`application.ports.NoteRepository`."""
        semaphore = asyncio.Semaphore(_READ_CONCURRENCY)

        async def one(ref: NoteRef) -> Note | None:
            async with semaphore:
                try:
                    return await self.get(ref)
                except NotFound:
                    return None
                except CorruptObject as exc:
                    log.warning("note_unreadable", key=ref.key, error=str(exc)[:200])
                    return None

        return [n for n in await asyncio.gather(*(one(r) for r in refs)) if n is not None]

    async def delete(self, ref: NoteRef) -> None:
        """See :class:`application.ports.NoteRepository`. A ref whose key is not a live
        note of its own space (a journal copied from elsewhere naming another space's
        note) deletes nothing and is logged."""
        parsed = layout.parse_note_key(ref.key)
        if parsed is None or parsed.space_id != ref.space_id or parsed.note_id != ref.note_id:
            log.error("foreign_note_key_refused", space=str(ref.space_id), key=ref.key[:200])
            return
        await self._store.delete(ref.key)

    def forget(self, space_id: SpaceId) -> None:
        """See :class:`application.ports.NoteRepository`: nothing is kept."""


class StoreBankRepository:
    """Bank files on an object store, one object per file under ``{space}/bank/``."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def get(self, space_id: SpaceId, name: BankFileName) -> BankFile:
        """See :class:`application.ports.BankRepository`."""
        text = await _text(self._store, layout.bank_key(space_id, name), f"bank file {name} does not exist")
        return BankFile(name=name, content=text)

    async def get_all(self, space_id: SpaceId) -> builtins.list[BankFile]:
        """See :class:`application.ports.BankRepository`."""
        return await self._read_all(space_id, archived=False)

    async def get_archive(self, space_id: SpaceId) -> builtins.list[BankFile]:
        """See :class:`application.ports.BankRepository`."""
        return await self._read_all(space_id, archived=True)

    async def _read_all(self, space_id: SpaceId, *, archived: bool) -> builtins.list[BankFile]:
        semaphore = asyncio.Semaphore(_READ_CONCURRENCY)

        async def read(name: BankFileName) -> BankFile | None:
            async with semaphore:
                try:
                    return await self.get(space_id, name)
                except NotFound:
                    return None

        infos = [i for i in await self.list(space_id) if i.archived == archived]
        found = await asyncio.gather(*(read(info.name) for info in infos))
        return [f for f in found if f is not None]

    async def put(self, space_id: SpaceId, file: BankFile) -> None:
        """See :class:`application.ports.BankRepository`."""
        await self._store.put(
            layout.bank_key(space_id, file.name), file.content.encode("utf-8"), content_type=_MARKDOWN
        )

    async def list(self, space_id: SpaceId) -> list[BankFileInfo]:
        """See :class:`application.ports.BankRepository`."""
        prefix = layout.bank_prefix(space_id)
        infos = []
        async for page in self._store.list_pages(prefix):
            for info in page:
                try:
                    infos.append(
                        BankFileInfo(
                            name=BankFileName(info.key.removeprefix(prefix)), size=info.size, etag=info.etag
                        )
                    )
                except InvalidInput:
                    continue  # not a bank file (a stray object put there by hand)
        return sorted(infos, key=lambda i: i.name.value)

    async def delete(self, space_id: SpaceId, name: BankFileName) -> None:
        """See :class:`application.ports.BankRepository`."""
        await self._store.delete(layout.bank_key(space_id, name))


class StoreTokenRepository:
    """Token records in ``_system/tokens.json``, updated by compare-and-swap so that
    concurrent updates from several replicas are never lost."""

    def __init__(self, store: ObjectStore) -> None:
        self._store = store
        self._decoded: tuple[str, list[TokenRecord], dict[str, TokenRecord]] | None = None

    async def _read(self) -> tuple[list[TokenRecord], dict[str, TokenRecord]]:
        """The records and an index by hash, decoded again only when the object's ETag
        changed: every request authenticates, and decoding every token on each one cost
        work that grew with the number of tokens. The object is still read each time, so
        a revocation by any replica counts from the next request."""
        try:
            stored = await self._store.get(layout.TOKENS_KEY)
        except ObjectNotFound:
            return [], {}
        if self._decoded is None or self._decoded[0] != stored.etag:
            records = codecs.decode_tokens(stored.data)
            self._decoded = (stored.etag, records, {r.token_hash: r for r in records})
        return self._decoded[1], self._decoded[2]

    async def all(self) -> list[TokenRecord]:
        """See :class:`application.ports.TokenRepository`."""
        return list((await self._read())[0])

    async def find_by_hash(self, token_hash: str) -> TokenRecord | None:
        """See :class:`application.ports.TokenRepository`."""
        return (await self._read())[1].get(token_hash)

    async def update(self, change: Callable[[list[TokenRecord]], list[TokenRecord]]) -> list[TokenRecord]:
        """See :class:`application.ports.TokenRepository`."""

        def checked(records: list[TokenRecord]) -> list[TokenRecord]:
            result = change(list(records))
            ids = [r.token_id for r in result]
            if len(set(ids)) != len(ids) or len({r.token_hash for r in result}) != len(ids):
                raise InvalidInput("token ids and hashes must be unique")
            return result

        return await cas_update(
            self._store,
            layout.TOKENS_KEY,
            decode=codecs.decode_tokens,
            encode=codecs.encode_tokens,
            change=checked,
            initial=list,
        )
