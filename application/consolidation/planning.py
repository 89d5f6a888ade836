"""One batch's plan: the planner's answer validated and applied in memory (the plan
guards, and for a model's plan the attribution and coverage checks), with one retry that
shows the planner its error, all within the batch's time (``CONSOLIDATION_TIMEOUT``: a
batch, not a whole job, so a long run on a slow model finishes batch by batch).

Extractive first, the model refines: a model's plan must account for every note of the
batch (:mod:`domain.consolidation.coverage`). When the retry still leaves notes out, they
keep their extractive placement (``kept``), added to the model's plan; a plan that
accounts for none of them is replaced by the extractive plan. No note is archived as
consolidated while the bank lacks it and no outcome says why."""

from __future__ import annotations

import asyncio
import time

import attrs
import structlog

from application.consolidation.planners import PlannedBatch, Planner, PlanRequest, check_attribution
from application.consolidation.ports import InvalidModelOutput, ModelError
from application.consolidation.report import ConsolidationFailed, ConsolidationReport
from domain import BankFile, BankFileName, PlanRejected, Synthesis
from domain.consolidation import apply_plan, extractive_plan
from domain.consolidation.coverage import Coverage, NoteOutcome, OutcomeKind, check_coverage

__all__ = ["plan_batch"]

log = structlog.get_logger("live_mem.consolidation")


async def plan_batch(
    planner: Planner, base: PlanRequest, report: ConsolidationReport, *, seconds: float
) -> tuple[PlannedBatch, dict[BankFileName, BankFile], Synthesis, float]:
    """The batch's validated plan, the files it changes, the new synthesis and the
    seconds planning took.

    Raises:
        ConsolidationFailed: the model failed, the plan was refused twice, or planning
            took more than ``seconds``; its report counts the tokens spent.
    """
    started = time.perf_counter()
    error: str | None = None
    spent_in = spent_out = 0
    try:
        async with asyncio.timeout(seconds):
            for attempt in range(2):
                try:
                    planned = await planner.plan(attrs.evolve(base, previous_error=error))
                    spent_in += planned.tokens_in
                    spent_out += planned.tokens_out
                    changed, new_synthesis = apply_plan(
                        planned.plan,
                        base.bank,
                        base.rules,
                        require_changes=planned.guarded,
                        shrink_guard=planned.guarded,
                    )
                    if planned.guarded:
                        check_attribution(base, changed, new_synthesis)
                        coverage = check_coverage(base.notes, planned.plan.outcomes, _hot(base, changed))
                        if coverage.problems and attempt == 0:
                            raise PlanRejected(_refusal(coverage))
                        changed, new_synthesis, outcomes = _completed(base, changed, new_synthesis, coverage)
                        planned = attrs.evolve(planned, outcomes=outcomes)
                except (PlanRejected, InvalidModelOutput) as exc:
                    error = str(exc)
                    log.warning("plan_refused", error=error[:300])
                    continue
                except ModelError as exc:
                    failed = report.spent(spent_in, spent_out)
                    raise ConsolidationFailed(f"the language model failed: {exc}", failed) from exc
                planned = attrs.evolve(planned, tokens_in=spent_in, tokens_out=spent_out)
                return planned, changed, new_synthesis, round(time.perf_counter() - started, 4)
    except TimeoutError:
        raise ConsolidationFailed(
            f"a batch took more than {seconds:g} s (CONSOLIDATION_TIMEOUT, per batch); its "
            f"{len(base.notes)} notes stay in live/, the batches before it stay committed",
            report.spent(spent_in, spent_out),
        ) from None
    raise ConsolidationFailed(  # what the refused plans cost is reported too
        f"the edit plan was refused twice; the batch's {len(base.notes)} notes stay in live/: {error}",
        report.spent(spent_in, spent_out),
    )


def _hot(base: PlanRequest, changed: dict[BankFileName, BankFile]) -> dict[BankFileName, str]:
    return {**base.bank, **{name: file.content for name, file in changed.items()}}


def _refusal(coverage: Coverage) -> str:
    listed = "; ".join(f"({n}) {p}" for n, p in enumerate(coverage.problems, start=1))
    return (
        f"{len(coverage.unaccounted)} notes are not accounted for: give every note an outcome, and "
        f"put an integrated note's references and key words in its file. {listed}"
    )


def _completed(
    base: PlanRequest, changed: dict[BankFileName, BankFile], synthesis: Synthesis, coverage: Coverage
) -> tuple[dict[BankFileName, BankFile], Synthesis, tuple[NoteOutcome, ...]]:
    """The model's plan with the notes it left out filed by the extractive placement, or,
    when it accounted for none, the extractive plan alone (module docstring)."""
    if not coverage.unaccounted:
        return changed, synthesis, coverage.outcomes
    outcomes: tuple[NoteOutcome, ...] = coverage.outcomes
    if not outcomes:  # the model refined nothing: its plan is dropped
        changed, bank, notes = {}, dict(base.bank), list(base.notes)
    else:
        bank, notes = _hot(base, changed), list(coverage.unaccounted)
    filed = extractive_plan(notes, bank, base.rules, base.table)
    extra, extractive_synthesis = apply_plan(
        filed, bank, base.rules, require_changes=False, shrink_guard=False
    )
    log.warning("plan_notes_kept_extractive", notes=len(notes), model_plan_kept=bool(outcomes))
    kept = tuple(NoteOutcome(n.note_id, OutcomeKind.KEPT, base.table.route(n)[0].value) for n in notes)
    order = {n.note_id: i for i, n in enumerate(base.notes)}
    merged = sorted((*outcomes, *kept), key=lambda o: order[o.note_id])
    return {**changed, **extra}, synthesis if outcomes else extractive_synthesis, tuple(merged)
