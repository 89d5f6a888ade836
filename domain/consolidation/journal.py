"""The consolidation journal: what one batch will write, recorded before it writes.

A journal is written in state ``prepared`` with the full resulting content of every
changed bank file, the new synthesis and the consumed notes (keys and text). Only then are
the bank, synthesis and metadata written and the notes deleted; last, the journal is
marked ``committed``. Every step is idempotent, so a journal found ``prepared`` after a
crash is simply committed again (rolled forward): no note is lost, none applied twice.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from domain.consolidation.coverage import NoteOutcome
from domain.model import Note, utc_stamp
from domain.values import AgentName, NoteCategory, SpaceId

__all__ = ["ConsumedNote", "Journal", "JournalState"]


class JournalState(enum.StrEnum):
    """``prepared``: decided, maybe partly applied. ``committed``: fully applied.
    ``abandoned``: an admin gave up a prepared journal that could not be committed
    (``admin_break_lease`` with ``discard_journal``); it is never rolled forward, and
    the notes it named that are still live stay live."""

    PREPARED = "prepared"
    COMMITTED = "committed"
    ABANDONED = "abandoned"


EDIT_BATCH: Final = "edit"
"""The batch part of a hand edit's run id (a consolidation's batches are numbered)."""


def run_id(at: datetime, job_id: str, batch: int | str) -> str:
    """A journal's id: ``{YYYYMMDDTHHMMSSffffffZ}-{job id, 12 chars}-{batch}``, the batch
    ``000``, ``001``, ... for a consolidation's batches and ``edit`` for a hand edit, so
    journals sort by time."""
    part = f"{batch:03d}" if isinstance(batch, int) else batch
    return f"{utc_stamp(at)}-{job_id[:12]}-{part}"


def first_batch(run: str) -> bool:
    """True when ``run`` (a :func:`run_id`) is the first batch of a consolidation run."""
    return run.endswith("-000")


@attrs.frozen
class ConsumedNote:
    """A note a batch carried into the bank: its key, identity and text, and what became
    of it (:class:`coverage.OutcomeKind`: integrated, merged, discarded, kept; "" in
    journals written before outcomes were kept) with its detail (file, entry, reason)."""

    key: str
    note_id: str
    agent: AgentName
    category: NoteCategory
    created_at: datetime
    content: str
    outcome: str = ""
    detail: str = ""

    @classmethod
    def of(cls, note: Note, key: str, outcome: NoteOutcome | None) -> ConsumedNote:
        """The record of ``note`` (stored under ``key``) with what became of it."""
        return cls(
            key,
            note.note_id,
            note.agent,
            note.category,
            note.created_at,
            note.content,
            outcome=outcome.outcome.value if outcome is not None else "",
            detail=outcome.detail if outcome is not None else "",
        )


@attrs.frozen
class Journal:
    """One batch of one consolidation run.

    Attributes:
        run_id: ``{YYYYMMDDTHHMMSSffffffZ}-{job}-{batch}``, sortable by time.
        space_id, job_id: where and for which job.
        state: see :class:`JournalState`.
        mode: ``extractive`` or ``abstractive (model)``.
        files: resulting content of every bank file the batch changes.
        synthesis: the new synthesis.
        consumed: the notes the batch consumes.
        tokens_in, tokens_out: model usage (0 for extractive).
        started_at, duration_s: when the batch began and how long it took to plan.
        deleted: bank files the batch deletes (``bank_delete``; consolidation deletes none).
    """

    run_id: str
    space_id: SpaceId
    job_id: str
    state: JournalState
    mode: str
    files: dict[str, str]
    synthesis: str
    consumed: tuple[ConsumedNote, ...]
    tokens_in: int
    tokens_out: int
    started_at: datetime
    duration_s: float
    deleted: tuple[str, ...] = ()
