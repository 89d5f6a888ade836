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
from typing import Final

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


@attrs.frozen
class _Checked:
    """A plan that passed every check but coverage: what the fallback builds on."""

    planned: PlannedBatch
    changed: dict[BankFileName, BankFile]
    synthesis: Synthesis
    coverage: Coverage


async def plan_batch(
    planner: Planner, base: PlanRequest, report: ConsolidationReport, *, seconds: float
) -> tuple[PlannedBatch, dict[BankFileName, BankFile], Synthesis, float]:
    """The batch's validated plan, the files it changes, the new synthesis and the
    seconds planning took. When the first plan left notes unaccounted for and the retry
    fails in any way (refused, or the model failed: a prompt over the window, say), the
    first plan is taken with those notes filed by the extractive placement.

    Raises:
        ConsolidationFailed: the model failed, the plan was refused twice, or planning
            took more than ``seconds``; its report counts the tokens spent.
    """
    started = time.perf_counter()
    error: str | None = None
    first: _Checked | None = None
    spent = [0, 0]
    try:
        async with asyncio.timeout(seconds):
            for attempt in range(2):
                try:
                    planned = await planner.plan(attrs.evolve(base, previous_error=error))
                    spent = [spent[0] + planned.tokens_in, spent[1] + planned.tokens_out]
                    checked = _checked(base, planned)
                    if checked.coverage.problems and attempt == 0:
                        first = checked
                        raise PlanRejected(_refusal(checked.coverage))
                except (PlanRejected, InvalidModelOutput) as exc:
                    error = str(exc)
                    log.warning("plan_refused", error=error[:300])
                    continue
                except ModelError as exc:
                    if first is not None:
                        log.warning("plan_retry_failed", error=str(exc)[:300])
                        break
                    raise ConsolidationFailed(
                        f"the language model failed: {exc}", report.spent(*spent)
                    ) from exc
                return _taken(base, checked, spent, started)
    except TimeoutError:
        raise ConsolidationFailed(
            f"a batch took more than {seconds:g} s (CONSOLIDATION_TIMEOUT, per batch); its "
            f"{len(base.notes)} notes stay in live/, the batches before it stay committed",
            report.spent(*spent),
        ) from None
    if first is not None:
        return _taken(base, first, spent, started)
    raise ConsolidationFailed(  # what the refused plans cost is reported too
        f"the edit plan was refused twice; the batch's {len(base.notes)} notes stay in live/: {error}",
        report.spent(*spent),
    )


def _checked(base: PlanRequest, planned: PlannedBatch) -> _Checked:
    """Apply the plan in memory and run its checks (the guards; for a model's plan the
    attribution check and the coverage check).

    Raises:
        PlanRejected: a guard or the attribution check refused it.
    """
    changed, synthesis = apply_plan(
        planned.plan, base.bank, base.rules, require_changes=planned.guarded, shrink_guard=planned.guarded
    )
    if not planned.guarded:
        return _Checked(planned, changed, synthesis, Coverage(planned.outcomes, (), ()))
    check_attribution(base, changed, synthesis)
    return _Checked(
        planned, changed, synthesis, check_coverage(base.notes, planned.plan.outcomes, _hot(base, changed))
    )


def _taken(
    base: PlanRequest, checked: _Checked, spent: list[int], started: float
) -> tuple[PlannedBatch, dict[BankFileName, BankFile], Synthesis, float]:
    changed, synthesis, outcomes = _completed(base, checked.changed, checked.synthesis, checked.coverage)
    planned = attrs.evolve(checked.planned, tokens_in=spent[0], tokens_out=spent[1], outcomes=outcomes)
    return planned, changed, synthesis, round(time.perf_counter() - started, 4)


def _hot(base: PlanRequest, changed: dict[BankFileName, BankFile]) -> dict[BankFileName, str]:
    return {**base.bank, **{name: file.content for name, file in changed.items()}}


REFUSAL_PROBLEMS: Final = 12
"""Problems a coverage refusal lists in full; the others by note id only, so that the
retry's prompt stays within the model's window."""


def _refusal(coverage: Coverage) -> str:
    shown = coverage.problems[:REFUSAL_PROBLEMS]
    listed = "; ".join(f"({n}) {p}" for n, p in enumerate(shown, start=1))
    rest = [n.note_id for n in coverage.unaccounted[len(shown) :]]
    more = f"; and {len(rest)} more notes: {', '.join(rest)}" if rest else ""
    return (
        f"{len(coverage.unaccounted)} notes are not accounted for: give every note an outcome, and "
        f"put an integrated note's references and key words in its file. {listed}{more}"
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
