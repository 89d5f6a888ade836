"""Every note of a batch accounted for: what became of it, checked against the bank a
plan produces.

A model's plan says, for each note of the batch, whether it was ``integrated`` (into which
file), ``merged`` into another entry (which), or ``discarded`` (why: a duplicate, superseded
by which note, no lasting value). A claim of integration is checked: the note's references
(URLs, numbers, ``#N`` tickets, dates, code identifiers: :func:`attribution.claims`) must
all be in the file, and at least half of its key terms (words of five letters or more).
A note the plan says nothing about counts as integrated when the hot bank carries it by
the same test. What remains is unaccounted for: the plan is refused once with every
problem listed, and if the retry still leaves notes out, those notes keep their
extractive placement (``kept``) rather than being archived as if consolidated.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

from domain.consolidation.attribution import claims
from domain.model import Note
from domain.values import BankFileName

__all__ = ["Coverage", "NoteOutcome", "OutcomeKind", "PlanOutcome", "carried", "check_coverage"]

_TERM: Final = re.compile(r"[A-Za-z][A-Za-z'-]{4,}")
_SHOWN: Final = 60


class OutcomeKind(enum.StrEnum):
    """What became of a note in a consolidation."""

    INTEGRATED = "integrated"
    MERGED = "merged"
    DISCARDED = "discarded"
    KEPT = "kept"
    """The plan left it out: filed by the extractive placement instead."""


@attrs.frozen
class PlanOutcome:
    """A model's word on one note: ``outcome`` is ``integrated``, ``merged`` or
    ``discarded``; ``detail`` the file it went into, the entry it was merged into, or why
    it was discarded."""

    note_id: str
    outcome: str
    detail: str = ""


@attrs.frozen
class NoteOutcome:
    """What became of one note, as checked."""

    note_id: str
    outcome: OutcomeKind
    detail: str = ""


@attrs.frozen
class Coverage:
    """The checked outcomes of a batch's notes, the problems found (one sentence each,
    for the refusal the model reads), and the notes no outcome accounts for."""

    outcomes: tuple[NoteOutcome, ...]
    problems: tuple[str, ...]
    unaccounted: tuple[Note, ...]


def _missing(note: Note, folded: str) -> list[str]:
    """What of ``note`` is not in ``folded`` (a text already case-folded): its
    references, and its key terms when fewer than half of them are there."""
    missing = sorted(r for r in claims(note.content) if r.casefold() not in folded)
    terms = sorted({t.casefold() for t in _TERM.findall(note.content)})
    absent = [t for t in terms if t not in folded]
    if terms and len(absent) * 2 > len(terms):
        missing += absent
    return missing


def carried(note: Note, text: str) -> bool:
    """True when ``text`` names the note's id, or holds all its references and at least
    half of its key terms (module docstring)."""
    return note.note_id in text or not _missing(note, text.casefold())


def _label(note: Note) -> str:
    words = " ".join(note.content.split())
    return f"{note.note_id} ({words[:_SHOWN]}{'…' if len(words) > _SHOWN else ''})"


def check_coverage(
    notes: Sequence[Note], declared: Sequence[PlanOutcome], hot: Mapping[BankFileName, str]
) -> Coverage:
    """Check a plan's outcomes against the hot bank it produces (module docstring).

    Args:
        notes: the batch's notes.
        declared: the plan's outcomes (any order; notes it does not name are inferred).
        hot: every hot bank file's text after the plan.

    Returns:
        The checked outcomes, in the notes' order (unaccounted notes have none), the
        problems and the unaccounted notes.
    """
    by_id = {n.note_id: n for n in notes}
    said: dict[str, PlanOutcome] = {}
    problems: list[str] = []
    for outcome in declared:
        if outcome.note_id not in by_id:
            problems.append(f"an outcome names {outcome.note_id!r}, which is not a note of this batch")
        else:
            said[outcome.note_id] = outcome
    folded = {name.value: text.casefold() for name, text in hot.items()}  # once, not per note
    everything = "\n".join(folded.values())
    outcomes: list[NoteOutcome] = []
    unaccounted: list[Note] = []
    for note in notes:
        judged = _judge(note, said.get(note.note_id), folded, everything)
        if isinstance(judged, NoteOutcome):
            outcomes.append(judged)
        else:
            problems.append(judged)
            unaccounted.append(note)
    return Coverage(tuple(outcomes), tuple(problems), tuple(unaccounted))


def _judge(
    note: Note, said: PlanOutcome | None, folded: Mapping[str, str], everything: str
) -> NoteOutcome | str:
    """The note's checked outcome, or the problem that leaves it unaccounted for;
    ``folded`` holds each hot file's text case-folded (note ids are lower-case hex), and
    ``everything`` all of them."""
    if said is None:
        home = next(
            (name for name, text in folded.items() if note.note_id in text or not _missing(note, text)), None
        )
        if home is None:
            return f"note {_label(note)} has no outcome and the bank does not carry it"
        return NoteOutcome(note.note_id, OutcomeKind.INTEGRATED, home)
    kind, detail = said.outcome.strip().lower(), said.detail.strip()
    if kind == OutcomeKind.DISCARDED:
        if not detail:
            return f"note {_label(note)} is discarded without a reason"
        return NoteOutcome(note.note_id, OutcomeKind.DISCARDED, detail)
    if kind not in (OutcomeKind.INTEGRATED, OutcomeKind.MERGED):
        return f"note {_label(note)} has the outcome {kind!r}: use integrated, merged or discarded"
    target = folded.get(detail)
    missing = _missing(note, target if target is not None else everything)
    if note.note_id in everything or not missing:
        return NoteOutcome(note.note_id, OutcomeKind(kind), detail)
    where = detail if target is not None else "the bank"
    return f"note {_label(note)} is said {kind} but {where} lacks: {', '.join(missing[:8])}"
