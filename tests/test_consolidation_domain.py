"""The consolidation policy: Markdown sections, plan guards, routing, batch packing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import (
    AgentName,
    BankFileName,
    InvalidInput,
    Note,
    NoteCategory,
    PlanRejected,
    SpaceId,
    SpaceRules,
)
from domain.consolidation import (
    Budget,
    Document,
    EditOp,
    EditPlan,
    OpKind,
    RoutingTable,
    apply_plan,
    estimate_tokens,
    extractive_plan,
    pack_batches,
)
from ops.dataset import RULES_FILE as DATASET_RULES

RULES = SpaceRules("# R\n\n## progress.md\nA dated log.\n\n## decisions.md\nDecisions.\n")
BANK = {BankFileName("progress.md"): "# Progress\n\n## Done\n- a\n\n## Known issues\n- bug\n"}

_lines = st.lists(
    st.one_of(
        st.sampled_from(["# T", "## A", "### b", "```", "text", "", "- item", "Setext", "===", "    code"]),
        st.text(
            st.characters(
                exclude_categories=["Cs"], exclude_characters="\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
            ),
            max_size=12,
        ),
    ),
    max_size=30,
)


@given(_lines)
def test_parse_then_render_is_the_identity(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert Document.parse(text).render() == text


def test_headings_inside_code_fences_are_not_sections() -> None:
    doc = Document.parse("# T\n```\n## not a heading\n```\n## Real\nx\n")
    assert [s.title for s in doc.sections] == ["T", "Real"]


def test_section_operations() -> None:
    doc = Document.parse(BANK[BankFileName("progress.md")])
    assert "- b" in doc.append("done", "- b").render()
    assert doc.append("Done", "- b").render().index("- b") < doc.render().index("## Known issues") + 5
    assert "## Done\n\n- new\n" in doc.replace("Done", "- new").render()
    assert doc.prepend("Known issues", "- first").render().endswith("## Known issues\n\n- first\n\n- bug\n")
    assert "## Next\n\n- n\n" in doc.add("Next", "- n").render()
    assert "## Known issues" not in doc.delete("known issues").render()


def _plan(*ops: EditOp, synthesis: str = "s") -> EditPlan:
    return EditPlan(tuple(ops), synthesis)


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (EditOp(OpKind.APPEND_TO_SECTION, "../escape.md", "Done", "x"), "illegal bank file name"),
        (EditOp(OpKind.CREATE_FILE, "/etc/passwd.md", content="x"), "illegal bank file name"),
        (EditOp(OpKind.CREATE_FILE, "other.md", content="x"), "not a bank file of the rules"),
        (EditOp(OpKind.APPEND_TO_SECTION, "progress.md", "Nope", "x"), "no section 'Nope'"),
        (EditOp(OpKind.ADD_SECTION, "progress.md", "Done", "x"), "already exists"),
        (EditOp(OpKind.CREATE_FILE, "progress.md", content="# again"), "exists"),
        (EditOp(OpKind.APPEND_TO_SECTION, "progress.md", "Done", "  "), "no content"),
    ],
)
def test_plans_that_break_a_guard_are_rejected(op: EditOp, message: str) -> None:
    with pytest.raises(PlanRejected, match=message):
        apply_plan(_plan(op), BANK, RULES)


def test_a_refusal_names_every_bad_operation_not_only_the_first() -> None:
    """A weak model 'fixed' a refusal naming one bad operation by dropping the other five."""
    ops = [
        EditOp(OpKind.APPEND_TO_SECTION, "progress.md", "Nope", "x"),
        EditOp(OpKind.APPEND_TO_SECTION, "progress.md", "Done", "- fine"),
        EditOp(OpKind.CREATE_FILE, "other.md", content="x"),
        EditOp(OpKind.ADD_SECTION, "progress.md", "Done", "x"),
    ]
    with pytest.raises(PlanRejected) as refused:
        apply_plan(_plan(*ops), BANK, RULES)
    message = str(refused.value)
    assert message.startswith("3 problems, fix every one: (1) operation 1 (append_to_section on progress.md)")
    assert "(2) operation 3 (create_file on other.md): " in message
    assert "(3) operation 4 (add_section on progress.md): " in message
    assert "operation 2" not in message
    assert message.count("problems") == 1  # one header, never repeated


def test_an_empty_plan_is_rejected() -> None:
    with pytest.raises(PlanRejected, match="no operations"):
        apply_plan(_plan(), BANK, RULES)


def test_a_rewrite_that_drops_most_of_a_file_is_rejected() -> None:
    big = {BankFileName("progress.md"): "# Progress\n\n## Done\n" + "- a line of history\n" * 100}
    with pytest.raises(PlanRejected, match="may not drop more than half"):
        apply_plan(_plan(EditOp(OpKind.REWRITE_FILE, "progress.md", content="# Progress\n")), big, RULES)
    small_change = EditOp(OpKind.APPEND_TO_SECTION, "progress.md", "Done", "- one more")
    changed, _ = apply_plan(_plan(small_change), big, RULES)
    assert changed[BankFileName("progress.md")].content.endswith("- one more\n\n")


def test_a_valid_plan_returns_only_changed_files_and_the_synthesis() -> None:
    changed, synthesis = apply_plan(
        _plan(
            EditOp(OpKind.CREATE_FILE, "decisions.md", content="# Decisions\n"),
            EditOp(OpKind.ADD_SECTION, "decisions.md", "2026", "- chose S3"),
            synthesis="next: more",
        ),
        BANK,
        RULES,
    )
    assert list(changed) == [BankFileName("decisions.md")]
    assert changed[BankFileName("decisions.md")].content == "# Decisions\n\n## 2026\n\n- chose S3\n\n"
    assert synthesis.text == "next: more"
    assert BANK[BankFileName("progress.md")].startswith("# Progress")  # input untouched


def test_fallback_routing_of_the_dataset_rules() -> None:
    table = RoutingTable.from_rules(SpaceRules(DATASET_RULES.read_text()))
    routes = {c.value: (r.file.value, r.section) for c, r in table.routes.items()}
    assert routes == {
        "observation": ("techContext.md", "Observations"),
        "decision": ("decisions.md", "Decisions"),
        "todo": ("activeContext.md", "Next steps"),
        "insight": ("systemPatterns.md", "Insights"),
        "question": ("activeContext.md", "Open questions"),
        "progress": ("progress.md", "{week}"),
        "issue": ("progress.md", "Known issues"),
    }


def test_an_explicit_routing_table_wins_and_the_rest_fall_back() -> None:
    rules = SpaceRules(
        "## journal.md\nEverything else.\n\n## ideas.md\nIdeas.\n\n## Routing\n\n"
        "| category | file | section |\n|---|---|---|\n| insight | ideas.md | {month} |\n"
    )
    table = RoutingTable.from_rules(rules)
    assert (table.routes[NoteCategory.INSIGHT].file.value, table.routes[NoteCategory.INSIGHT].section) == (
        "ideas.md",
        "{month}",
    )
    assert table.routes[NoteCategory.TODO].file.value == "journal.md"  # catch-all
    bad = SpaceRules(
        "## a.md\nx\n\n## Routing\n\n| category | file | section |\n|-|-|-|\n| todo | b.md | x |\n"
    )
    with pytest.raises(InvalidInput, match=r"b\.md"):
        RoutingTable.from_rules(bad)


def _note(index: int, content: str, category: str = "progress") -> Note:
    return Note(
        SpaceId("s"),
        f"{index:016x}",
        AgentName("a"),
        NoteCategory(category),
        content,
        datetime(2026, 1, 5 + index, tzinfo=UTC),
    )


def test_extractive_plan_keeps_text_verbatim_and_indents_continuations() -> None:
    table = RoutingTable.from_rules(RULES)
    plan = extractive_plan([_note(0, "first line\nsecond line")], BANK, RULES, table)
    changed, _ = apply_plan(plan, BANK, RULES)
    text = changed[BankFileName("progress.md")].content
    assert "- 2026-01-05 · a · progress: first line\n  second line\n" in text
    assert "## Done\n- a\n" in text  # existing text kept


def test_pack_batches_respects_the_budget_and_keeps_order() -> None:
    items = list(range(10))
    budget = Budget(context_tokens=100, answer_tokens=20, fixed_tokens=20, max_notes=100)
    batches = pack_batches(
        items, budget, item_tokens=lambda i: 15, needs=lambda i: i % 2, need_tokens=lambda k: 10
    )
    assert [i for b in batches for i in b] == items
    for batch in batches:
        cost = 15 * len(batch) + 10 * len({i % 2 for i in batch})
        assert cost <= budget.available
    huge = pack_batches([1], budget, item_tokens=lambda i: 10_000, needs=lambda i: 0, need_tokens=lambda k: 0)
    assert huge == [[1]]
    assert estimate_tokens("abcd" * 10) == 10


def test_claims_are_urls_dates_figures_references_and_identifiers() -> None:
    from domain.consolidation.attribution import claims, unattributed

    text = "See https://x.example/a, #58 and 2026-03-02: 4,312 items in ClientSession.call_tool (snake_case)."
    assert claims(text) == {
        "https://x.example/a",
        "#58",
        "2026-03-02",
        "4,312",
        "ClientSession.call_tool",
        "ClientSession",
        "call_tool",
        "snake_case",
    }
    source = "On 2026-03-02T09:00:00+00:00 alice fixed #58 in ClientSession.call_tool; snake_case stays."
    assert unattributed(text, [source]) == ["4,312", "https://x.example/a"]
    assert unattributed("Prose without figures, reworded freely.", []) == []


_CLOCKS = st.datetimes(datetime(1000, 1, 1), datetime(9999, 12, 31), timezones=st.just(UTC))


@given(_CLOCKS, _CLOCKS, st.integers(0, 999))
def test_run_ids_sort_by_time_and_name_their_first_batch(a: datetime, b: datetime, batch: int) -> None:
    from domain.consolidation.journal import EDIT_BATCH, first_batch, run_id

    early, late = sorted((a, b))
    if early < late:
        assert run_id(early, "job-aaaaaaaaaaaaaaaa", 5) < run_id(late, "job-b", 0)
    assert first_batch(run_id(a, "job", batch)) == (batch == 0)
    assert not first_batch(run_id(a, "job", EDIT_BATCH))
    assert run_id(a, "0123456789abcdef", batch).split("-")[1] == "0123456789ab"
