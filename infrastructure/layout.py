"""The object layout: the same keys on every store (see docs/architecture.md).

```
_system/tokens.json                           token records (hashes only)
_system/spaces/{space}                        one marker per space, for listing spaces
{space}/_meta.json                            SpaceMeta
{space}/_rules.md                             the rules (space_update_rules replaces them)
{space}/_rules_history/{ts}.md                 rules a space_update_rules replaced
{space}/_synthesis.md                         the last synthesis
{space}/_lease.json                           the consolidation lease
{space}/_consolidations/{run_id}.json         consolidation journals
{space}/_consolidations/pending/{run_id}      a journal's marker while it is prepared
_system/jobs/{job_id}.json                    consolidation jobs
_system/job-index/active/{job_id}             the index of unfinished jobs
_system/job-index/space/{space}/{ts}-{job}    each space's jobs, oldest first
_system/audit/{day}/{ts}-{rand}_{space}.json  the audit log, one object per record
_system/vectors/{space}/...                   embeddings (derived, by content hash)
_system/migrations/{ts}.json                  what a migration of a public server's bucket did
_backups/{space}/{backup_id}/...              backups: objects/ and manifest.json
{space}/live/{ts}_{agent}_{category}_{id}.md  one note, never rewritten
{space}/bank/{file}.md                        bank files
{space}/_items/{id}.json                      a work item's state (id: its note's id)
{space}/_claims/{sha256(resource)[:32]}.json  a claim on a resource (never backed up)
{space}/_presence/{agent}.json                an agent's last activity in the space (never backed up)
```

``ts`` is the UTC write time as ``YYYYMMDDTHHMMSSffffffZ``, so keys sort in write order.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Final

from application.ports import NoteRef
from domain import AgentName, BankFileName, InvalidInput, Note, NoteCategory, SpaceId
from domain.model import NOTE_STAMP_FORMAT

__all__ = [
    "TOKENS_KEY",
    "JOBS_PREFIX",
    "JOB_INDEX_PREFIX",
    "AUDIT_PREFIX",
    "VECTORS_PREFIX",
    "MIGRATIONS_PREFIX",
    "BACKUPS_PREFIX",
    "journal_prefix",
    "journal_key",
    "journal_marker",
    "job_key",
    "SPACES_PREFIX",
    "space_marker_key",
    "space_prefix",
    "meta_key",
    "rules_key",
    "synthesis_key",
    "lease_key",
    "live_prefix",
    "note_key",
    "note_ref",
    "note_key_floor",
    "parse_note_key",
    "bank_prefix",
    "bank_key",
    "items_prefix",
    "item_key",
    "claims_prefix",
    "claim_key",
    "presence_prefix",
    "presence_key",
    "transient",
]

TOKENS_KEY: Final = "_system/tokens.json"
JOBS_PREFIX: Final = "_system/jobs/"
JOB_INDEX_PREFIX: Final = "_system/job-index/"
AUDIT_PREFIX: Final = "_system/audit/"
VECTORS_PREFIX: Final = "_system/vectors/"
MIGRATIONS_PREFIX: Final = "_system/migrations/"
BACKUPS_PREFIX: Final = "_backups/"
SPACES_PREFIX: Final = "_system/spaces/"
_TS_FORMAT: Final = NOTE_STAMP_FORMAT
_NOTE_NAME_RE: Final = re.compile(
    r"(?P<ts>\d{8}T\d{12}Z)_(?P<agent>.+)_(?P<category>[a-z]+)_(?P<id>[0-9a-f]{8,32})\.md"
)


def space_marker_key(space_id: SpaceId) -> str:
    """``_system/spaces/{space}``."""
    return f"{SPACES_PREFIX}{space_id}"


def space_prefix(space_id: SpaceId) -> str:
    """``{space}/``: every object of the space."""
    return f"{space_id}/"


def meta_key(space_id: SpaceId) -> str:
    """``{space}/_meta.json``."""
    return f"{space_id}/_meta.json"


def rules_key(space_id: SpaceId) -> str:
    """``{space}/_rules.md``."""
    return f"{space_id}/_rules.md"


def rules_history_key(space_id: SpaceId, stamp: str) -> str:
    """``{space}/_rules_history/{stamp}.md``: rules a ``space_update_rules`` replaced."""
    if not stamp.replace("T", "").replace("Z", "").isdigit():
        raise InvalidInput("a rules history stamp is a UTC time like 20260131T120000000000Z")
    return f"{space_id}/_rules_history/{stamp}.md"


def synthesis_key(space_id: SpaceId) -> str:
    """``{space}/_synthesis.md``."""
    return f"{space_id}/_synthesis.md"


def lease_key(space_id: SpaceId) -> str:
    """``{space}/_lease.json``: the consolidation lease (never backed up)."""
    return f"{space_id}/_lease.json"


def live_prefix(space_id: SpaceId) -> str:
    """``{space}/live/``."""
    return f"{space_id}/live/"


def note_key(note: Note) -> str:
    """The key of ``note``: ``{space}/live/{ts}_{agent}_{category}_{id}.md``."""
    return f"{live_prefix(note.space_id)}{note.file_name}"


def note_ref(note: Note) -> NoteRef:
    """What :func:`note_key` encodes of ``note``, as :func:`parse_note_key` reads it back."""
    return NoteRef(
        created_at=note.created_at.astimezone(UTC),
        key=note_key(note),
        space_id=note.space_id,
        agent=note.agent,
        category=note.category,
        note_id=note.note_id,
    )


def note_key_floor(space_id: SpaceId, since: datetime) -> str:
    """A position just before every note key stamped at or after ``since``: the live
    prefix and the timestamp (a key's prefix sorts before the key)."""
    return f"{live_prefix(space_id)}{since.astimezone(UTC).strftime(_TS_FORMAT)}"


def parse_note_key(key: str) -> NoteRef | None:
    """The :class:`NoteRef` a note key encodes, or None for a key that is not a note's."""
    space, _, rest = key.partition("/live/")
    match = _NOTE_NAME_RE.fullmatch(rest)
    if match is None or "/" in rest:
        return None
    try:
        return NoteRef(
            created_at=datetime.strptime(match["ts"], _TS_FORMAT).replace(tzinfo=UTC),
            key=key,
            space_id=SpaceId(space),
            agent=AgentName(match["agent"]),
            category=NoteCategory.parse(match["category"]),
            note_id=match["id"],
        )
    except (InvalidInput, ValueError):
        return None


def bank_prefix(space_id: SpaceId) -> str:
    """``{space}/bank/``."""
    return f"{space_id}/bank/"


def bank_key(space_id: SpaceId, name: BankFileName) -> str:
    """``{space}/bank/{name}``."""
    return f"{bank_prefix(space_id)}{name}"


def items_prefix(space_id: SpaceId) -> str:
    """``{space}/_items/``: the work items' records."""
    return f"{space_id}/_items/"


def item_key(space_id: SpaceId, item_id: str) -> str:
    """``{space}/_items/{id}.json``."""
    return f"{items_prefix(space_id)}{item_id}.json"


def claims_prefix(space_id: SpaceId) -> str:
    """``{space}/_claims/``: the claims' records."""
    return f"{space_id}/_claims/"


def claim_key(space_id: SpaceId, resource: str) -> str:
    """``{space}/_claims/{h}.json``, ``h`` the first 32 hex digits of the resource name's
    SHA-256: any resource name (up to 256 bytes, any characters but controls) makes a
    short key that every store accepts; the record holds the name itself."""
    digest = hashlib.sha256(resource.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{claims_prefix(space_id)}{digest}.json"


def presence_prefix(space_id: SpaceId) -> str:
    """``{space}/_presence/``: the agents' last activity."""
    return f"{space_id}/_presence/"


def presence_key(space_id: SpaceId, agent: AgentName) -> str:
    """``{space}/_presence/{agent}.json``."""
    return f"{presence_prefix(space_id)}{agent}.json"


def transient(space_id: SpaceId, key: str) -> bool:
    """True for a space's objects that backups and exports leave out: the consolidation
    lease, the claims (leases that a restore must not bring back to life) and the
    presence records (activity, not memory)."""
    return key == lease_key(space_id) or key.startswith((claims_prefix(space_id), presence_prefix(space_id)))


def journal_prefix(space_id: SpaceId) -> str:
    """``{space}/_consolidations/``: the space's consolidation journals."""
    return f"{space_id}/_consolidations/"


def journal_key(space_id: SpaceId, run_id: str) -> str:
    """``{space}/_consolidations/{run_id}.json``."""
    return f"{journal_prefix(space_id)}{run_id}.json"


def journal_marker(space_id: SpaceId, run_id: str) -> str:
    """``{space}/_consolidations/pending/{run_id}``: there while the journal is prepared."""
    return f"{journal_prefix(space_id)}pending/{run_id}"


def job_key(job_id: str) -> str:
    """``_system/jobs/{job_id}.json``."""
    return f"{JOBS_PREFIX}{job_id}.json"
