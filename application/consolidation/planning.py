"""One batch's plan: the planner's answer validated and applied in memory (the plan
guards, and the attribution check for a model's plan), with one retry that shows the
planner its error, all within the batch's time (``CONSOLIDATION_TIMEOUT``: a batch, not a
whole job, so a long run on a slow model finishes batch by batch)."""

from __future__ import annotations

import asyncio
import time

import attrs
import structlog

from application.consolidation.planners import PlannedBatch, Planner, PlanRequest, check_attribution
from application.consolidation.ports import InvalidModelOutput, ModelError
from application.consolidation.report import ConsolidationFailed, ConsolidationReport
from domain import BankFile, BankFileName, PlanRejected, Synthesis
from domain.consolidation import apply_plan

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
            for _attempt in range(2):
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
