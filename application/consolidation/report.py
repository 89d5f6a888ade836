"""What one consolidation run did: the report a job records and ``bank_history`` shows."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from domain.consolidation.coverage import NoteOutcome

__all__ = ["ConsolidationFailed", "ConsolidationReport"]


@attrs.frozen
class ConsolidationReport:
    """What one run did.

    Attributes:
        notes_consumed: notes carried into the bank.
        notes_remaining: notes of the scope left for a later run (over ``max_notes``).
        files_changed: bank files written, sorted.
        batches, run_ids: committed batches and their journal ids.
        tokens_in, tokens_out: model usage (0 in extractive mode).
        duration_s: wall time of the run.
        mode: ``extractive`` or ``abstractive (model)``.
        recovered: journals found ``prepared`` and rolled forward first.
        archive_files: archive files written (new notes and displaced entries).
        hot_tokens: estimated tokens of the hot bank after the run (what
            ``bank_read_all`` returns); 0 when no batch ran.
        notes_unreadable: keys of live notes that could not be decoded: skipped, left
            in place for an admin (see ``note_unreadable`` in the logs).
        outcomes: how many consumed notes were integrated, merged, discarded, or kept
            (filed by the extractive placement because the model's plan left them out);
            ``bank_history`` gives each note's.
    """

    notes_consumed: int = 0
    notes_remaining: int = 0
    files_changed: tuple[str, ...] = ()
    batches: int = 0
    run_ids: tuple[str, ...] = ()
    tokens_in: int = 0
    tokens_out: int = 0
    duration_s: float = 0.0
    mode: str = "extractive"
    recovered: int = 0
    archive_files: tuple[str, ...] = ()
    hot_tokens: int = 0
    notes_unreadable: tuple[str, ...] = ()
    outcomes: dict[str, int] = attrs.field(factory=dict)

    def counted(self, outcomes: Iterable[NoteOutcome]) -> dict[str, int]:
        """:attr:`outcomes` with ``outcomes`` added."""
        counts = dict(self.outcomes)
        for outcome in outcomes:
            counts[outcome.outcome.value] = counts.get(outcome.outcome.value, 0) + 1
        return counts

    def spent(self, tokens_in: int, tokens_out: int) -> ConsolidationReport:
        """This report with more model tokens counted (those of plans that failed too)."""
        return attrs.evolve(
            self, tokens_in=self.tokens_in + tokens_in, tokens_out=self.tokens_out + tokens_out
        )


class ConsolidationFailed(Exception):
    """A batch could not be planned or applied; its notes stay in live/. Committed
    batches before it stay committed. The message is fit for the job status; ``report``
    says what the run did and spent up to the failure."""

    def __init__(self, message: str, report: ConsolidationReport) -> None:
        super().__init__(message)
        self.report = report
