"""Round trips of every codec (Hypothesis), and clear errors for corrupt objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.store import CorruptObject
from domain import AgentName, Note, NoteCategory, Permission, SpaceId, SpaceMeta, TokenRecord
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
