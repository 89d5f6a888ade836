"""The bank budget's pure policy: budgets from the rules, the archive format, the policy
that moves the oldest entries out, and the extractive views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import AgentName, BankFileName, InvalidInput, Note, NoteCategory, SpaceId, SpaceRules
from domain.consolidation import (
    Archive,
    RoutingTable,
    ViewInputs,
    check_rules,
    enforce_budget,
    estimate_tokens,
    extractive_views,
    file_budgets,
)
from domain.consolidation.archive import ARCHIVE_PART_MAX_BYTES, render_note_entry
from domain.consolidation.policy import displaced_blocks
from domain.imports import parse_import

SPACE = SpaceId("proj")
SHARED_LIKE = (
    "# Rules\n\nIntro.\n\n## projectbrief.md\nWhat the project is.\n\n"
    "## decisions.md\nOne entry per decision.\n\n"
    "## activeContext.md\nWhat is being worked on now. Keep it short (at most about 40 lines).\n\n"
    "## progress.md\nA dated log grouped by week. Known issues at the end.\n"
)
T0 = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)


def _note(i: int, content: str, category: str = "progress", agent: str = "alice", days: int = 0) -> Note:
    return Note(
        space_id=SPACE,
        note_id=f"{i:016x}",
        agent=AgentName(agent),
        category=NoteCategory(category),
        content=content,
        created_at=T0 + timedelta(days=days),
    )


def test_budgets_share_the_space_budget_and_honour_line_limits() -> None:
    budgets = file_budgets(SpaceRules(SHARED_LIKE), 8000)
    assert budgets[BankFileName("activeContext.md")] == 40 * 16
    others = [v for k, v in budgets.items() if k.value != "activeContext.md"]
    assert len(set(others)) == 1
    assert sum(budgets.values()) <= 8000


def test_an_explicit_budget_table_wins_and_the_rest_share_what_remains() -> None:
    rules = SHARED_LIKE + "\n## Budgets\n\n| file | tokens |\n|---|---|\n| decisions.md | 3,000 |\n"
    budgets = file_budgets(SpaceRules(rules), 8000)
    assert budgets[BankFileName("decisions.md")] == 3000
    assert sum(budgets.values()) <= 8000


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ("\n## Budgets\n\n| file | tokens |\n|---|---|\n| ghost.md | 500 |\n", "ghost.md"),
        (
            "\n## Routing\n\n| category | file | section |\n|---|---|---|\n| todo | nowhere.md | Todo |\n",
            "nowhere.md",
        ),
        ("\n## archive/old.md\nReserved.\n", "archive/old.md"),
        ("\n## Budgets\n\n| file | tokens |\n|---|---|\n| decisions.md | 5 |\n", "decisions.md"),
    ],
)
def test_rules_naming_an_undeclared_or_reserved_file_are_refused_with_its_name(
    extra: str, named: str
) -> None:
    with pytest.raises(InvalidInput, match=named.replace(".", r"\.")):
        check_rules(SpaceRules(SHARED_LIKE + extra))


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=300))
def test_an_archive_entry_reads_back_as_the_same_note(content: str) -> None:
    if not content.strip():
        return
    text = content.strip("\n") + "\n### not a heading\n> quoted\n\n## nor this"
    note = _note(1, text, "decision")
    archive = Archive(SPACE, {BankFileName("archive/decisions/2025.md"): "# t\n\n" + render_note_entry(note)})
    [back] = archive.notes()
    assert back.content == text.strip("\n")
    assert (back.note_id, back.agent, back.category, back.created_at) == (
        note.note_id,
        note.agent,
        note.category,
        note.created_at,
    )


def test_a_year_rolls_over_to_a_new_part_before_the_file_limit_and_replays_add_nothing() -> None:
    archive = Archive(SPACE, {})
    big = [_note(i, "x" * 32_000, "decision") for i in range(8)]
    routes = {n.note_id: BankFileName("decisions.md") for n in big}
    assert archive.add_notes(big, routes) == 8
    assert archive.add_notes(big, routes) == 0
    sizes = {name.value: len(text.encode()) for name, text in archive.files.items()}
    assert set(sizes) == {"archive/decisions/2025.md", "archive/decisions/2025-2.md"}
    assert all(size <= ARCHIVE_PART_MAX_BYTES for size in sizes.values())
    assert sum(count for _, count in archive.counts("archive/decisions")) == 8


def test_absorb_keeps_what_the_archive_lacks_and_skips_what_it_holds() -> None:
    archive = Archive(SPACE, {})
    note = _note(1, "Use S3 for everything (#12)\nbecause it scales", "decision")
    archive.add_notes([note], {note.note_id: BankFileName("decisions.md")})
    held = "- 2025-07-01 · alice · decision: Use S3 for everything (#12)"
    summary = "- 2025-W27: 3 notes by 2 agents; refs #12"
    prose = "The team prefers boring technology."
    moved = archive.absorb(
        [(BankFileName("decisions.md"), "Decisions", b) for b in (held, summary, prose)],
        T0 + timedelta(days=400),
    )
    assert moved == 1
    [(name, count)] = archive.counts("archive/decisions")[1:]
    assert (name.value, count) == ("archive/decisions/2026.md", 1)
    assert "> The team prefers boring technology." in archive.files[name]


def test_enforce_budget_moves_the_oldest_entries_and_keeps_the_title() -> None:
    lines = [
        f"- 2025-07-{day:02d} · alice · progress: entry number {day} with some words" for day in range(1, 29)
    ]
    text = "# progress\n\nIntro line.\n\n## Log\n\n" + "\n".join(lines) + "\n"
    fitted, removed = enforce_budget(text, 200, [(BankFileName("archive/progress/2025.md"), 28)])
    assert estimate_tokens(fitted) <= 200
    assert fitted.startswith("# progress\n\nIntro line.")
    assert "- archive/progress/2025.md: 28 entries" in fitted
    assert [block for _, block in removed] == lines[: len(removed)]  # oldest first
    assert lines[-1] in fitted


def test_displaced_blocks_are_what_the_new_text_no_longer_holds() -> None:
    old = "# f\n\n## A\n\n- one\n  continued\n- two\n\n## Archive\n\n- archive/f/2025.md: 1 entry\n"
    new = "# f\n\n## A\n\n- two\n"
    assert displaced_blocks(old, new) == [("A", "- one\n  continued")]


def _views(notes: list[Note], rules: str = SHARED_LIKE) -> dict[str, str]:
    parsed = SpaceRules(rules)
    archive = Archive(SPACE, {})
    table = RoutingTable.from_rules(parsed)
    archive.add_notes(notes, {n.note_id: table.route(n)[0] for n in notes})
    views = extractive_views(
        ViewInputs(
            notes=archive.notes(),
            rules=parsed,
            table=table,
            budgets=file_budgets(parsed),
            description="A test project",
            topics=[],
            archive_counts=lambda name: archive.counts(f"archive/{name.value.removesuffix('.md')}"),
        )
    )
    return {name.value: text for name, text in views.items()}


def test_an_issue_is_settled_by_a_resolves_reference_and_a_shared_ticket_is_only_a_hint() -> None:
    """Issue 'the team's work': a ticket number in a later note used to close an item
    silently; now only a ``resolves:`` reference settles it, and the ticket is a hint."""
    notes = [
        _note(1, "Login fails on Safari (#40)", "issue", days=0),
        _note(2, "Upload stalls above 2 GiB", "issue", days=1),
        _note(3, "Flaky CI on Windows", "issue", days=2),
        _note(4, "Fixed the Safari login (#40)", "progress", days=3),
        _note(5, f"Upload fixed. resolves: {2:016x}", "progress", days=4),
    ] + [_note(10 + i, f"routine work item {i}", "progress", days=5 + i) for i in range(12)]
    active = _views(notes)["activeContext.md"]
    open_part = active.split("## Recent changes")[0]
    assert "Flaky CI on Windows" in open_part
    assert "Login fails on Safari (#40)" in open_part
    assert "#40 named later by alice 2025-07-04" in open_part
    assert "Upload stalls" not in open_part
    assert len(active.splitlines()) <= 40


def test_near_duplicates_merge_across_the_whole_file() -> None:
    notes = [
        _note(1, "Pin the SDK to 1.2", "decision", "alice", days=0),
        _note(2, "pin the sdk to 1.2!", "decision", "bob", days=30),
    ]
    decisions = _views(notes)["decisions.md"]
    assert decisions.count("Pin the SDK") + decisions.count("pin the sdk") == 1
    assert "- 2025-07-31 · bob · decision: pin the sdk to 1.2! (also alice 2025-07-01)" in decisions


def test_every_declared_file_exists_even_with_no_note_routed_to_it() -> None:
    views = _views([_note(1, "one note", "progress")])
    assert set(views) == {"projectbrief.md", "decisions.md", "activeContext.md", "progress.md"}
    assert all(text.strip() for text in views.values())


def test_an_import_names_every_bad_line_and_returns_nothing() -> None:
    good = (
        '{"timestamp": "2025-05-13T04:58:24-04:00", "agent": "mo", "category": "progress", "content": "ok"}'
    )
    text = "\n".join(
        [good, "{not json", '{"timestamp": "x", "agent": "a", "category": "todo", "content": "c"}', good]
    )
    with pytest.raises(InvalidInput, match=r"2 bad line\(s\), nothing imported: line 2: not JSON.*line 3"):
        parse_import(SPACE, text)
    [note] = parse_import(SPACE, good + "\n\n" + good.replace('"mo"', '""'))[:1]
    assert note.created_at == datetime(2025, 5, 13, 8, 58, 24, tzinfo=UTC)
    assert parse_import(SPACE, good.replace('"mo"', '""'))[0].agent.value == "anonymous"
