"""Invariants of the domain's value objects and entities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import (
    AgentName,
    BankFile,
    BankFileName,
    Identity,
    InvalidInput,
    LimitExceeded,
    Note,
    NoteCategory,
    Permission,
    PermissionDenied,
    SpaceId,
    SpaceRules,
)
from domain.model import BANK_FILE_MAX_BYTES, NOTE_MAX_CHARS
from domain.values import check_text

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("good", ["a", "proj-1", "0" * 64, "mcp-python-sdk"])
def test_space_ids_accepted(good: str) -> None:
    assert SpaceId(good).value == good


@pytest.mark.parametrize("bad", ["", "-a", "A", "a_b", "a b", "a/b", "é", "0" * 65, "..", "a.b"])
def test_space_ids_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="space id"):
        SpaceId(bad)


@pytest.mark.parametrize("bad", ["", "_x", "a b", "a/b", "x" * 65, "<script>", "a\nb"])
def test_agent_names_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="agent name"):
        AgentName(bad)


@pytest.mark.parametrize("good", ["progress.md", "notes/api.md", "Tech Context.md", "a/b/c/d.md"])
def test_bank_file_names_accepted(good: str) -> None:
    assert BankFileName(good).value == good


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x.txt",
        "/abs.md",
        "../up.md",
        "a/../b.md",
        "a//b.md",
        "a\\b.md",
        "<b>.md",
        'q".md',
        "a&b.md",
        "tab\t.md",
        "a/b/c/d/e.md",
        "x" * 126 + ".md",
        ".hidden.md",
        "./a.md",
    ],
)
def test_bank_file_names_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="bank file name"):
        BankFileName(bad)


@given(st.text(max_size=40))
def test_any_accepted_bank_file_name_stays_inside_bank(name: str) -> None:
    try:
        accepted = BankFileName(name)
    except InvalidInput:
        return
    parts = accepted.value.split("/")
    assert ".." not in parts
    assert not accepted.value.startswith("/")
    assert not set(accepted.value) & set("<>&\"'\\\x00")


def test_categories_parse_case_insensitively_and_refuse_others() -> None:
    assert NoteCategory.parse(" Decision ") is NoteCategory.DECISION
    assert len(list(NoteCategory)) == 7
    with pytest.raises(InvalidInput, match="observation, decision"):
        NoteCategory.parse("rumour")


def _note(content: str) -> Note:
    return Note(SpaceId("s"), "0" * 16, AgentName("a"), NoteCategory.TODO, content, NOW)


def test_note_content_limits() -> None:
    assert _note("é" * NOTE_MAX_CHARS).content  # characters, not bytes, as the public server counts
    with pytest.raises(LimitExceeded, match=str(NOTE_MAX_CHARS)):
        _note("x" * (NOTE_MAX_CHARS + 1))
    with pytest.raises(InvalidInput, match="empty"):
        _note("   ")
    with pytest.raises(InvalidInput, match="control character"):
        _note("bell\x07")


def test_note_needs_an_aware_time_and_valid_tags() -> None:
    with pytest.raises(InvalidInput, match="timezone"):
        Note(SpaceId("s"), "0" * 16, AgentName("a"), NoteCategory.TODO, "x", datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="tag"):
        Note(SpaceId("s"), "0" * 16, AgentName("a"), NoteCategory.TODO, "x", NOW, tags=("bad tag",))
    assert Note(
        SpaceId("s"), "0" * 16, AgentName("a"), NoteCategory.TODO, "x", NOW, tags=["a", "a"]
    ).tags == ("a",)


def test_bank_file_size_limit() -> None:
    with pytest.raises(LimitExceeded):
        BankFile(BankFileName("a.md"), "x" * (BANK_FILE_MAX_BYTES + 1))


def test_rules_declare_files_in_order_with_roles() -> None:
    rules = SpaceRules(
        "# Rules\n\n## projectbrief.md\nWhat it is.\n\n## progress.md\nDated log.\n## Notes\nfree"
    )
    assert [n.value for n in rules.file_names()] == ["projectbrief.md", "progress.md"]
    assert rules.file_roles()[BankFileName("progress.md")] == "Dated log."
    assert len(SpaceRules.default().file_names()) == 4


def test_rules_with_an_illegal_file_name_are_refused() -> None:
    with pytest.raises(InvalidInput, match="bank file name"):
        SpaceRules("## ../escape.md\nno")


def test_permission_ladder_and_space_access() -> None:
    writer = Identity(AgentName("w"), Permission.WRITE, ("proj",))
    writer.require(Permission.READ, SpaceId("proj"))
    with pytest.raises(PermissionDenied, match="manage"):
        writer.require(Permission.MANAGE, SpaceId("proj"))
    with pytest.raises(PermissionDenied, match="no access"):
        writer.require(Permission.READ, SpaceId("other"))
    Identity(AgentName("a"), Permission.ADMIN, ()).require(Permission.ADMIN)  # not about a space
    Identity(AgentName("a"), Permission.ADMIN, ("*",)).require(Permission.ADMIN, SpaceId("any"))
    with pytest.raises(PermissionDenied, match="no access"):  # the list binds admins too
        Identity(AgentName("a"), Permission.ADMIN, ("beta",)).require(Permission.READ, SpaceId("alpha"))
    Identity(AgentName("r"), Permission.READ, ("*",)).require(Permission.READ, SpaceId("any"))
    assert Permission.parse("Manage") is Permission.MANAGE
    with pytest.raises(InvalidInput):
        Permission.parse("root")


def test_the_control_character_check_matches_unicode_categories_for_every_code_point() -> None:
    import unicodedata

    for code in range(0x110000):
        char = chr(code)
        expected_bad = unicodedata.category(char) in ("Cc", "Cs") and char not in "\t\n\r"
        try:
            check_text(f"x{char}", "text", 16)
        except InvalidInput:
            assert expected_bad, hex(code)
        else:
            assert not expected_bad, hex(code)
