"""Every note of a batch is accounted for (issue: abstractive consolidation that cannot
lie). A model's plan that leaves notes out is refused once with every problem listed; if
the retry still leaves them out they keep their extractive placement ("kept"), and a plan
that accounts for none is replaced by the extractive plan. The model is a scripted server
(tests/llm_server.py): no figure of answer quality comes from it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from application.consolidation import ConsolidationReport
from application.services import Services
from domain import AgentName, BankFileName, Note, NoteCategory, SpaceId, SpaceRules
from domain.consolidation import EditOp, EditPlan, OpKind, apply_plan
from domain.consolidation.coverage import OutcomeKind, PlanOutcome, carried, check_coverage
from tests.consolidation_support import KEY, NOTES, RULES
from tests.llm_server import Answer, filed_by_halves, plan_json, scripted_llm
from tests.test_abstractive import GOOD, _run, _services

SPACE = SpaceId("proj")


def _note(n: int, content: str) -> Note:
    return Note(
        space_id=SPACE,
        note_id=f"{n:016x}",
        agent=AgentName("alice"),
        category=NoteCategory.DECISION,
        content=content,
        created_at=datetime(2026, 3, n, 9, tzinfo=UTC),
    )


BATCH = (
    _note(1, "Store everything in S3; no database (#812)."),
    _note(2, "Tokens are stored as SHA-256 hashes only."),
    _note(3, "Hybrid signing works against SeaweedFS."),
)


def test_the_plan_that_copies_the_rules_accounts_for_no_note() -> None:
    """The reproduction from the issue: the plan applies, and carries none of the notes."""
    rules = SpaceRules(RULES)
    plan = EditPlan(
        (EditOp(OpKind.CREATE_FILE, "projectbrief.md", content=rules.text),), "The notes have been added."
    )
    rules_with_brief = SpaceRules(RULES + "\n## projectbrief.md\nWhat the project is.\n")
    changed, _ = apply_plan(plan, {}, rules_with_brief)
    coverage = check_coverage(BATCH, plan.outcomes, {n: f.content for n, f in changed.items()})
    assert coverage.outcomes == ()
    assert [n.note_id for n in coverage.unaccounted] == [n.note_id for n in BATCH]
    assert len(coverage.problems) == 3
    assert all("has no outcome and the bank does not carry it" in p for p in coverage.problems)


def test_each_claimed_outcome_is_checked() -> None:
    hot = {
        BankFileName(
            "decisions.md"
        ): "# Decisions\n\n- Everything is stored in S3 with no database at all.\n",
        BankFileName("progress.md"): "# Progress\n\n- 2026-03-03: token hashes, SHA-256 only (alice)\n",
    }
    declared = [
        PlanOutcome(BATCH[0].note_id, "integrated", "decisions.md"),  # lacks "#812"
        PlanOutcome(BATCH[1].note_id, "discarded", ""),  # no reason
        PlanOutcome(BATCH[2].note_id, "summarised", "progress.md"),  # no such outcome
        PlanOutcome("ffffffffffffffff", "integrated", "decisions.md"),  # not in the batch
    ]
    coverage = check_coverage(BATCH, declared, hot)
    assert coverage.outcomes == ()
    assert len(coverage.problems) == 4
    joined = " | ".join(coverage.problems)
    assert "'ffffffffffffffff', which is not a note of this batch" in joined
    assert "is said integrated but decisions.md lacks: #812" in joined
    assert "is discarded without a reason" in joined
    assert "has the outcome 'summarised'" in joined


def test_sound_outcomes_are_kept_and_silent_notes_inferred() -> None:
    hot = {
        BankFileName("decisions.md"): "# Decisions\n\n- Everything stored in S3, no database (#812).\n",
        BankFileName("progress.md"): "# Progress\n\n- Tokens: SHA-256 hashes, stored only as such.\n",
    }
    declared = [
        PlanOutcome(BATCH[0].note_id, "integrated", "decisions.md"),
        PlanOutcome(BATCH[2].note_id, "discarded", f"duplicate of {BATCH[0].note_id}"),
    ]
    coverage = check_coverage(BATCH, declared, hot)
    assert coverage.problems == ()
    assert [(o.outcome, o.detail) for o in coverage.outcomes] == [
        (OutcomeKind.INTEGRATED, "decisions.md"),
        (OutcomeKind.INTEGRATED, "progress.md"),  # said nothing, but progress.md carries it
        (OutcomeKind.DISCARDED, f"duplicate of {BATCH[0].note_id}"),
    ]
    assert carried(BATCH[2], f"see {BATCH[2].note_id}")  # a pointer by id carries it too


async def _outcomes(services: Services) -> list[tuple[str, str]]:
    """Each consumed note's outcome and detail, as ``bank_history`` gives them."""
    admin = await services.auth.authenticate(KEY)
    return [(n.outcome, n.detail) for run in await services.jobs.history(admin, "proj") for n in run.consumed]


async def _succeeded(services: Services) -> tuple[ConsolidationReport, dict[str, str]]:
    """Consolidate the ten notes; the job succeeded and left no note live. Its report
    and the hot bank."""
    done, bank, live = await _run(services)
    assert done.state.value == "succeeded", done.error
    assert live == 0
    assert done.report is not None
    return done.report, bank


def _carried_by(bank: dict[str, str], content: str) -> bool:
    words = [w.casefold() for w in re.findall(r"[A-Za-z0-9-]{5,}", content)]
    text = "\n".join(bank.values()).casefold()
    return all(w in text for w in words)


RULES_COPY = plan_json(
    [{"op": "create_file", "file": "progress.md", "section": "", "content": RULES, "level": 1}],
    synthesis="The notes have been added.",
)
PROMPT_ECHO = plan_json(
    [
        {
            "op": "create_file",
            "file": "activeContext.md",
            "section": "",
            "content": "# Rules\n\n# Synthesis of the last consolidation\n\n(none yet)\n\n# Bank files\n",
            "level": 1,
        }
    ],
    synthesis="Fold the notes into the bank.",
)


@pytest.mark.parametrize("answer", [RULES_COPY, PROMPT_ECHO], ids=["copies the rules", "echoes the prompt"])
async def test_a_plan_that_carries_no_note_is_replaced_by_the_extractive_placement(answer: str) -> None:
    async with scripted_llm([Answer(answer, accounts=False)]) as (base, llm):
        services = _services(base)
        report, bank = await _succeeded(services)
        outcomes = await _outcomes(services)
    assert report.outcomes == {"kept": 10}
    assert report.tokens_in == 240  # both attempts counted
    refusal = llm.requests[1]["messages"][1]["content"]
    assert "10 notes are not accounted for" in refusal
    assert len(re.findall(r"has no outcome and the bank does not carry it", refusal)) == 10
    for _agent, _category, content in NOTES:
        assert _carried_by(bank, content), content
    assert "Fold the notes" not in "".join(bank.values())  # the model's plan was dropped
    assert {outcome for outcome, _ in outcomes} == {"kept"}


async def test_notes_a_plan_leaves_out_keep_their_extractive_placement() -> None:
    """The model integrates alice's storage decision and says nothing of the other nine,
    twice: the nine are filed by the extractive placement, never dropped."""
    async with scripted_llm([Answer(GOOD, accounts=False)]) as (base, _llm):
        services = _services(base)
        report, bank = await _succeeded(services)
        outcomes = await _outcomes(services)
    assert report.outcomes == {"integrated": 1, "kept": 9}
    assert "## Storage\n\n- 2026-03-02: everything in S3, no database (alice)" in bank["decisions.md"]
    for _agent, _category, content in NOTES:
        assert _carried_by(bank, content), content
    assert [o for o in outcomes if o[0] == "integrated"] == [("integrated", "decisions.md")]


def _integrating_the_storage_decision(prompt: str) -> str:
    """GOOD with alice's storage note said integrated in decisions.md (the scripted server
    then discards, with a reason, every note it does not name)."""
    match = re.search(r"^- \[([0-9a-f]+) [^\]]*\] Store everything in S3", prompt, flags=re.MULTILINE)
    assert match is not None
    plan = json.loads(GOOD)
    plan["outcomes"] = [{"note_id": match.group(1), "outcome": "integrated", "detail": "decisions.md"}]
    return json.dumps(plan)


async def test_a_plan_that_accounts_for_every_note_is_taken_at_once() -> None:
    async with scripted_llm([Answer(make=_integrating_the_storage_decision)]) as (base, llm):
        services = _services(base)
        done, _bank, _live = await _run(services)
    assert done.state.value == "succeeded", done.error
    assert len(llm.requests) == 1
    assert done.report is not None
    assert done.report.outcomes == {"integrated": 1, "discarded": 9}


async def test_a_retry_over_the_window_keeps_the_first_plan_and_files_the_rest() -> None:
    """Measured with the 1.5B model: the refusal listing 60 notes pushed the retry's prompt
    over the 8,192-token window and the job failed; now the first plan is taken and the
    notes it left out are filed by the extractive placement."""
    from tests.test_model_errors import LLAMA_OVERFLOW

    script = [Answer(GOOD, accounts=False), Answer(status=400, error=LLAMA_OVERFLOW)]
    async with scripted_llm(script) as (base, llm):
        report, bank = await _succeeded(_services(base))
    assert len(llm.requests) == 2
    assert report.outcomes == {"integrated": 1, "kept": 9}
    assert "## Storage\n\n- 2026-03-02: everything in S3, no database (alice)" in bank["decisions.md"]
    for _agent, _category, content in NOTES:
        assert _carried_by(bank, content), content


def test_a_long_refusal_lists_a_dozen_problems_and_the_rest_by_id() -> None:
    notes = tuple(_note(n, f"Decision number {n} about the cache layer (#{900 + n}).") for n in range(1, 29))
    coverage = check_coverage(notes, [], {})
    from application.consolidation.planning import REFUSAL_PROBLEMS, _refusal

    text = _refusal(coverage)
    assert text.startswith("28 notes are not accounted for")
    assert text.count("has no outcome") == REFUSAL_PROBLEMS
    assert text.endswith(", ".join(n.note_id for n in notes[REFUSAL_PROBLEMS:]))


async def test_a_batch_over_the_window_is_split_and_each_half_planned() -> None:
    """A context overflow on a batch's first call splits the batch in two and plans each
    half on its own; no note waits for another run."""
    from tests.test_model_errors import LLAMA_OVERFLOW

    filed = filed_by_halves()
    script = [Answer(status=400, error=LLAMA_OVERFLOW), Answer(make=filed)]
    async with scripted_llm(script) as (base, llm):
        report, bank = await _succeeded(_services(base))
    assert len(llm.requests) == 3
    assert filed.made == [5, 5]  # type: ignore[attr-defined]
    assert report.batches == 2
    assert report.outcomes == {"integrated": 10}
    assert "## Part 1" in bank["progress.md"]
    assert "## Part 2" in bank["progress.md"]
