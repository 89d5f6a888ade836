"""One step of every batch, in either mode: the planned hot bank made to fit its budgets,
with everything that left it handed to the archive."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from domain.consolidation.archive import Archive, archive_stem
from domain.consolidation.policy import displaced_blocks, enforce_budget
from domain.values import BankFileName

__all__ = ["fit_bank"]

_ROUNDS: Final = 5


def fit_bank(
    before: Mapping[BankFileName, str],
    planned: Mapping[BankFileName, str],
    budgets: Mapping[BankFileName, int],
    archive: Archive,
    when: datetime,
) -> dict[BankFileName, str]:
    """The hot files of ``planned`` that have a budget, each within it.

    For each budgeted file: the entries the plan dropped (``before`` against ``planned``)
    and those :func:`~domain.consolidation.policy.enforce_budget` removes are absorbed
    by ``archive`` (which skips what it already holds); the ``## Archive`` pointers are
    refreshed until they agree with the archive's counts. Files without a budget (not
    declared by the rules) are returned unchanged.

    Returns:
        Every file of ``planned`` with its final text.
    """
    result = dict(planned)
    for name, budget in budgets.items():
        if name not in planned:
            continue
        archive.absorb(((name, s, b) for s, b in displaced_blocks(before.get(name, ""), planned[name])), when)
        text = planned[name]
        for _round in range(_ROUNDS):  # absorbing can add an archive file, so a pointer line
            fitted, removed = enforce_budget(text, budget, archive.counts(archive_stem(name)))
            archive.absorb(((name, s, b) for s, b in removed), when)
            if fitted == text and not removed:
                break
            text = fitted
        result[name] = text
    return result
