"""``live-mem migrate``: convert, in place, a bucket written by the public live-memory
server (github Cloud-Temple/live-memory, its ``DESIGN/live-mem/S3_DATA_MODEL.md``) to
live-mem's layout (docs/architecture.md).

Both layouts agree in outline; what differs and what the migration does:

- ``_system/tokens.json``: entries ``{"hash": "sha256:<hex>", "name", "permissions": [...],
  "space_ids": [] (all), "created_at", "expires_at", "revoked"}`` become token records
  (id: the hash's first 16 hex digits; permission: the highest listed; ``*`` for all spaces).
  The secrets are the same SHA-256 hashes, so every token keeps working.
- ``{space}/_meta.json`` (``consolidation_count``, ``last_consolidation``, ...) becomes
  live-mem's metadata, and the space gets its ``_system/spaces/{space}`` marker.
- notes ``{space}/live/{YYYYMMDDTHHMMSS}_{agent}_{category}_{uuid8}.md`` with YAML front-matter
  (``timestamp``, ``agent``, ``category``, ``tags``) are rewritten under live-mem's key
  (``uuid8`` kept as the note id), then the old object is deleted;
- ``_synthesis.md`` loses its front-matter; ``live/.keep`` and ``bank/.keep`` sentinels go.
- rules and bank files are Markdown in both and are left as they are.

Safety: :func:`plan` only reads. :func:`apply` first writes the plan as a journal
(``_system/migrations/{stamp}.json``: what it is about to change), then carries out each
step idempotently (a note is written at its new key before its old key is deleted), then
marks the journal done. A crash leaves the journal ``prepared`` and every object either
converted or still in the public format: running the migration again plans from what is
left and finishes. Anything it cannot convert (an id or agent name live-mem refuses, an
unreadable object) is left in place and reported.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Final

import attrs
import yaml

from application.store import ObjectNotFound, ObjectStore
from domain import (
    ALL_SPACES,
    AgentName,
    DomainError,
    Note,
    NoteCategory,
    Permission,
    SpaceId,
    SpaceMeta,
    TokenRecord,
)
from infrastructure import codecs, layout

__all__ = ["MIGRATIONS_PREFIX", "MigrationPlan", "apply", "plan"]

MIGRATIONS_PREFIX: Final = layout.MIGRATIONS_PREFIX
_PUBLIC_NOTE: Final = re.compile(r"(?P<ts>\d{8}T\d{6})_(?P<rest>.+)_(?P<id>[0-9a-f]{8})\.md")
_SYSTEM: Final = ("_system/", "_backups/", "_consolidation_jobs/")


@attrs.frozen
class MigrationPlan:
    """What a migration would do.

    Attributes:
        tokens: whether ``_system/tokens.json`` is in the public format.
        spaces: ids whose ``_meta.json`` is in the public format.
        notes: keys of notes in the public format.
        syntheses: keys of ``_synthesis.md`` objects with front-matter.
        sentinels: ``.keep`` keys.
        skipped: ``key: why`` for what cannot be converted (left in place).
        admin_everywhere: names of the active admin tokens that the tokens file grants
            every space (the public server's empty ``space_ids``): said before they are
            imported, since each will be able to do anything in every space.
    """

    tokens: bool = False
    spaces: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    syntheses: tuple[str, ...] = ()
    sentinels: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    admin_everywhere: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when there is nothing to convert."""
        return not (self.tokens or self.spaces or self.notes or self.syntheses or self.sentinels)

    def summary(self) -> dict[str, Any]:
        """Counts and the skipped objects, for the CLI."""
        return {
            "tokens": self.tokens,
            "spaces": list(self.spaces),
            "notes": len(self.notes),
            "syntheses": len(self.syntheses),
            "sentinels": len(self.sentinels),
            "skipped": list(self.skipped),
            "admin_everywhere": list(self.admin_everywhere),
        }


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The header (``{}`` when there is none or it is not a mapping) and the text after
    it. Raises ``ValueError`` for a front-matter that cannot be read safely (unterminated,
    oversized, with YAML anchors or aliases): the object is then left in place."""
    if not text.startswith("---\n"):
        return {}, text
    header, rest = codecs.split_front_matter(text)
    return (header if isinstance(header, dict) else {}), rest


def _time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = (
        value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    )
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def convert_tokens(data: bytes) -> list[TokenRecord] | None:
    """The public server's token file as token records, or None when ``data`` is not in
    its format (live-mem's own has ``token_hash``, not ``hash``). Raises ``ValueError``."""
    raw = json.loads(data.decode("utf-8"))
    entries = raw.get("tokens") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries or "hash" not in entries[0]:
        return None
    records = []
    for entry in entries:
        digest = str(entry["hash"]).removeprefix("sha256:")
        levels = [Permission.parse(p) for p in entry.get("permissions") or ["read"]]
        records.append(
            TokenRecord(
                token_id=digest[:16],
                name=AgentName(entry["name"]),
                token_hash=digest,
                permission=max(levels),
                spaces=tuple(entry.get("space_ids") or ["*"]),
                created_at=_time(entry.get("created_at")) or datetime.now(UTC),
                expires_at=_time(entry.get("expires_at")),
                revoked=bool(entry.get("revoked", False)),
            )
        )
    return records


def convert_meta(data: bytes, space: str) -> SpaceMeta | None:
    """The public server's ``_meta.json`` of the folder ``space`` as live-mem metadata,
    or None when ``data`` is live-mem's own. Raises ``ValueError`` (one naming another
    space than its folder's: it would overwrite that space's metadata) or
    ``DomainError``."""
    raw = json.loads(data.decode("utf-8"))
    if not isinstance(raw, dict) or "consolidations" in raw:
        return None
    named = raw.get("space_id", space)
    if named != space:
        raise ValueError(f"it names space {str(named)[:64]!r}, not its folder's {space!r}")
    return SpaceMeta(
        space_id=SpaceId(space),
        description=str(raw.get("description") or ""),
        owner=AgentName(raw.get("owner") or "unknown"),
        created_at=_time(raw.get("created_at")) or datetime.now(UTC),
        consolidations=int(raw.get("consolidation_count") or 0),
        last_consolidation_at=_time(raw.get("last_consolidation")),
    )


def convert_note(space: str, key: str, data: bytes) -> Note:
    """A public-format note as a live-mem note. Raises ``ValueError`` or ``DomainError``."""
    match = _PUBLIC_NOTE.fullmatch(key.rpartition("/")[2])
    if match is None:
        raise ValueError("not a public-format note name")
    header, content = _front_matter(data.decode("utf-8"))
    stamp = _time(header.get("timestamp")) or datetime.strptime(match["ts"], "%Y%m%dT%H%M%S").replace(
        tzinfo=UTC
    )
    tags = header.get("tags") or []
    return Note(
        space_id=SpaceId(space),
        note_id=match["id"],
        agent=AgentName(str(header.get("agent") or "unknown")),
        category=NoteCategory.parse(str(header.get("category") or "observation")),
        content=content.strip("\n") or "(empty note)",
        created_at=stamp,
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
    )


async def _plan_tokens(store: ObjectStore, skipped: list[str]) -> tuple[bool, list[str]]:
    """Whether the tokens file is in the public format, and the names of the active
    admin tokens it grants every space; a file that cannot be read goes to ``skipped``."""
    try:
        records = convert_tokens((await store.get(layout.TOKENS_KEY)).data)
    except ObjectNotFound:
        return False, []
    except (ValueError, KeyError, TypeError, DomainError) as exc:
        skipped.append(f"{layout.TOKENS_KEY}: {exc}")
        return False, []
    wide = [
        r.name.value
        for r in records or []
        if r.permission is Permission.ADMIN and ALL_SPACES in r.spaces and not r.revoked
    ]
    return records is not None, wide


async def plan(store: ObjectStore) -> MigrationPlan:
    """Read the bucket and list what :func:`apply` would convert (writes nothing)."""
    keys = [info.key async for page in store.list_pages("") for info in page]
    skipped: list[str] = []
    tokens, wide = await _plan_tokens(store, skipped)
    spaces, notes, syntheses, sentinels = [], [], [], []
    for key in keys:
        if key.startswith(_SYSTEM):
            continue
        space, _, rest = key.partition("/")
        if rest == "_meta.json":
            try:
                if convert_meta((await store.get(key)).data, space) is not None:
                    spaces.append(space)
            except (ValueError, KeyError, TypeError, DomainError) as exc:
                skipped.append(f"{key}: {exc}")
        elif rest in ("live/.keep", "bank/.keep"):
            sentinels.append(key)
        elif rest == "_synthesis.md" and (data := (await store.get(key)).data).startswith(b"---\n"):
            try:
                _front_matter(data.decode("utf-8"))
            except (ValueError, yaml.YAMLError) as exc:
                skipped.append(f"{key}: {exc}")
            else:
                syntheses.append(key)
        elif rest.startswith("live/") and _PUBLIC_NOTE.fullmatch(rest.removeprefix("live/")):
            try:
                convert_note(space, key, (await store.get(key)).data)
            except (ValueError, KeyError, TypeError, yaml.YAMLError, DomainError) as exc:
                skipped.append(f"{key}: {exc}")
            else:
                notes.append(key)
    return MigrationPlan(
        tokens, tuple(spaces), tuple(notes), tuple(syntheses), tuple(sentinels), tuple(skipped), tuple(wide)
    )


async def apply(store: ObjectStore, migration: MigrationPlan, stamp: str) -> MigrationPlan:
    """Carry out ``migration`` through a journal (module docstring); return what was
    skipped on the way as a plan's ``skipped``."""
    journal = f"{MIGRATIONS_PREFIX}{stamp}.json"
    record = {"state": "prepared", **attrs.asdict(migration)}
    await store.put(journal, json.dumps(record).encode(), content_type="application/json")
    skipped = list(migration.skipped)
    if migration.tokens:
        records = convert_tokens((await store.get(layout.TOKENS_KEY)).data)
        if records is not None:
            await store.put(layout.TOKENS_KEY, codecs.encode_tokens(records), content_type="application/json")
    for space in migration.spaces:
        meta = convert_meta((await store.get(layout.meta_key(SpaceId(space)))).data, space)
        if meta is not None:
            await store.put(
                layout.meta_key(meta.space_id), codecs.encode_meta(meta), content_type="application/json"
            )
        await store.put(layout.space_marker_key(SpaceId(space)), b"", content_type="text/plain")
    for key in migration.notes:
        try:
            data = (await store.get(key)).data
        except ObjectNotFound:
            continue  # done by an earlier run of this journal
        try:
            note = convert_note(key.partition("/")[0], key, data)
        except (ValueError, KeyError, TypeError, yaml.YAMLError, DomainError) as exc:
            skipped.append(f"{key}: {exc}")
            continue
        await store.put(layout.note_key(note), codecs.encode_note(note), content_type="text/markdown")
        await store.delete(key)
    for key in migration.syntheses:
        try:
            _, text = _front_matter((await store.get(key)).data.decode("utf-8"))
        except (ValueError, yaml.YAMLError) as exc:
            skipped.append(f"{key}: {exc}")
            continue
        await store.put(key, text.lstrip("\n").encode("utf-8"), content_type="text/markdown")
    for key in migration.sentinels:
        await store.delete(key)
    record.update(state="done", skipped=skipped)
    await store.put(journal, json.dumps(record).encode(), content_type="application/json")
    return attrs.evolve(migration, skipped=tuple(skipped))
