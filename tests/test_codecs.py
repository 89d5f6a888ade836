"""Round trips of every codec (Hypothesis), and clear errors for corrupt objects."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.audit import AuditRecord
from application.consolidation import ConsolidationReport
from application.consolidation.ports import JobRecord, JobState
from application.ports import BackupInfo
from application.store import CorruptObject
from domain import AgentName, Note, NoteCategory, Permission, SpaceId, SpaceMeta, TokenRecord
from domain.consolidation import ConsumedNote, Journal, JournalState
from domain.work import ITEM_CATEGORIES, Claim, ItemState, Presence, WorkItem
from infrastructure import codecs, layout

_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
_space = st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True).map(SpaceId)
_agent = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True).map(AgentName)
_text = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), include_characters="\n\t\r"), min_size=1, max_size=300
).filter(str.strip)
_notes = st.builds(
    Note,
    space_id=_space,
    note_id=st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
    agent=_agent,
    category=st.sampled_from(list(NoteCategory)),
    content=_text,
    created_at=_times,
    tags=st.lists(st.from_regex(r"[a-z0-9][a-z0-9:-]{0,10}", fullmatch=True), max_size=4).map(tuple),
)


@given(_notes)
def test_note_round_trips_byte_for_byte(note: Note) -> None:
    assert codecs.decode_note(codecs.encode_note(note)) == note


@given(_notes)
def test_note_key_round_trips(note: Note) -> None:
    ref = layout.parse_note_key(layout.note_key(note))
    assert ref is not None
    assert (ref.space_id, ref.agent, ref.category, ref.note_id) == (
        note.space_id,
        note.agent,
        note.category,
        note.note_id,
    )
    assert abs(ref.created_at - note.created_at) < timedelta(microseconds=1)
    assert ref == layout.note_ref(note)  # what a write answers without parsing its key again


@given(
    st.builds(
        SpaceMeta,
        space_id=_space,
        description=_text,
        owner=_agent,
        created_at=_times,
        consolidations=st.integers(0, 10**6),
        last_consolidation_at=st.none() | _times,
    )
)
def test_meta_round_trips(meta: SpaceMeta) -> None:
    assert codecs.decode_meta(codecs.encode_meta(meta)) == meta


@given(
    st.lists(
        st.builds(
            TokenRecord,
            token_id=st.from_regex(r"[0-9a-f]{16}", fullmatch=True),
            name=_agent,
            token_hash=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
            permission=st.sampled_from(list(Permission)),
            spaces=st.lists(st.just("*") | _space.map(str), max_size=3).map(tuple),
            created_at=_times,
            expires_at=st.none() | _times,
            revoked=st.booleans(),
        ),
        max_size=5,
    )
)
def test_tokens_round_trip(records: list[TokenRecord]) -> None:
    assert codecs.decode_tokens(codecs.encode_tokens(records)) == records


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"no front matter",
        b"---\nspace_id: [\n---\nx",
        b"---\nspace_id: s\n---\nx",
        b"\xff\xfe",
        b"---\n- a list\n---\nx",
    ],
)
def test_corrupt_notes_raise_corrupt_object(raw: bytes) -> None:
    with pytest.raises(CorruptObject, match="not valid"):
        codecs.decode_note(raw)


def test_meta_with_unknown_keys_is_refused() -> None:
    good = codecs.encode_meta(SpaceMeta(SpaceId("s"), "", AgentName("a"), datetime(2026, 1, 1, tzinfo=UTC)))
    tampered = good.replace(b'"space_id"', b'"extra": 1, "space_id"')
    with pytest.raises(CorruptObject, match="extra"):
        codecs.decode_meta(tampered)


def test_note_keys_that_are_not_notes_parse_to_none() -> None:
    assert layout.parse_note_key("s/live/readme.md") is None
    assert layout.parse_note_key("s/bank/x.md") is None
    assert layout.parse_note_key("s/live/20260101T000000000000Z_a_rumour_0123456789abcdef.md") is None


# Every JSON record the store keeps comes back as it went in (encode_json / decode_json).

_hex = st.from_regex(r"[0-9a-f]{16}", fullmatch=True)
_word = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
_consumed = st.builds(
    ConsumedNote,
    key=st.from_regex(r"[a-z]{1,8}/live/[0-9a-zA-Z_]{1,30}\.md", fullmatch=True),
    note_id=_hex,
    agent=_agent,
    category=st.sampled_from(list(NoteCategory)),
    created_at=_times,
    content=_text,
)
_journals = st.builds(
    Journal,
    run_id=st.from_regex(r"\d{8}T\d{12}Z-[0-9a-f]{12}-\d{3}", fullmatch=True),
    space_id=_space,
    job_id=_hex,
    state=st.sampled_from(list(JournalState)),
    mode=st.sampled_from(["extractive", "abstractive (qwen)"]),
    files=st.dictionaries(st.from_regex(r"[a-z]{1,10}\.md", fullmatch=True), _word, max_size=4),
    synthesis=_word,
    consumed=st.lists(_consumed, max_size=3).map(tuple),
    tokens_in=st.integers(0, 10**6),
    tokens_out=st.integers(0, 10**6),
    started_at=_times,
    duration_s=st.floats(0, 10**4, allow_nan=False),
    deleted=st.lists(st.from_regex(r"[a-z]{1,10}\.md", fullmatch=True), max_size=2).map(tuple),
)
_jobs = st.builds(
    JobRecord,
    job_id=_hex,
    space_id=_space,
    requested_by=_word,
    agent_scope=st.none() | _word,
    state=st.sampled_from(list(JobState)),
    created_at=_times,
    updated_at=_times,
    attempts=st.integers(0, 100),
    error=st.none() | _word,
    report=st.none()
    | st.builds(
        ConsolidationReport,
        notes_consumed=st.integers(0, 99),
        files_changed=st.lists(_word, max_size=3).map(tuple),
        batches=st.integers(0, 99),
        duration_s=st.floats(0, 1e4, allow_nan=False),
        outcomes=st.dictionaries(st.sampled_from(["integrated", "kept"]), st.integers(0, 99)),
    ),
    runner=st.none() | _word,
)
_items = st.builds(
    WorkItem,
    space_id=_space,
    item_id=_hex,
    category=st.sampled_from(sorted(ITEM_CATEGORIES)),
    agent=_agent,
    created_at=_times,
    title=_word,
    state=st.sampled_from(list(ItemState)),
    settled_by=st.none() | _agent,
    settled_at=st.none() | _times,
    outcome=_word,
    settled_note=st.just("") | _hex,
)
_claims = st.builds(
    Claim,
    space_id=_space,
    resource=_word.filter(str.strip),
    holder=_agent,
    since=_times,
    until=_times,
    released=st.booleans(),
)
_presence = st.builds(
    Presence, space_id=_space, agent=_agent, last_activity_at=_times, last_note_at=st.none() | _times
)
_audit = st.builds(
    AuditRecord,
    at=_times,
    token=st.just("") | _hex,
    agent=_word,
    action=_word,
    space=_word,
    target=_word,
    outcome=_word,
    request_id=_word,
    detail=_word,
    count=st.integers(1, 10**6),
)


_manifests = st.builds(
    BackupInfo,
    space_id=_space,
    backup_id=_word,
    created_at=_times,
    objects=st.integers(0, 10**6),
    size=st.integers(0, 10**12),
    generation=_hex,
)


@given(st.one_of(_journals, _jobs, _items, _claims, _presence, _audit, _manifests))
def test_every_json_record_round_trips(record: object) -> None:
    assert codecs.decode_json(codecs.encode_json(record), type(record), "record") == record


def test_a_job_report_from_a_newer_server_is_read_without_what_it_does_not_know() -> None:
    """Reports were free-form dicts: a field a newer server adds to its report must not
    make an older replica call the whole job record corrupt."""
    stored = {
        "job_id": "j1",
        "space_id": "proj",
        "requested_by": "alice",
        "agent_scope": None,
        "state": "succeeded",
        "created_at": "2026-01-01T00:00:00+00:00",
        "updated_at": "2026-01-01T00:00:01+00:00",
        "report": {"notes_consumed": 2, "files_changed": ["progress.md"], "said_by_a_newer_server": 1},
    }
    job = codecs.decode_json(json.dumps(stored).encode(), JobRecord, "job j1")
    assert job.report == ConsolidationReport(notes_consumed=2, files_changed=("progress.md",))
