"""Extractive current-state files: the hot bank regenerated from the archive on every run.

In extractive mode every consolidated note is in the archive (see
:mod:`domain.consolidation.archive`), so each hot file is a deterministic *view* of the
archived notes, built to fit its token budget. It invents nothing: every line is a note's
own first line (shortened to ``ONE_LINE_CHARS``), a count, or a term the notes contain.

- **Log files** (decisions, progress, context files): one line per note,
  ``- 2025-07-03 · alice · decision: first line (refs #612)``, dated by the note's own
  ``created_at``, under the section the routing table gives (a ``{week}`` section is the
  note's ISO week). Near-duplicates (same words in the first line) are merged across the
  whole file: the newest keeps the line, ``(also AGENT DATE, ...)`` names the others. The
  newest entries that fit the budget are shown, in date order; a week that no longer fits
  is summarised in one line (``- 2025-W21: 14 notes by 6 agents; refs #612 #618``) under
  ``Earlier weeks``; the oldest are left to the archive, which the ``Archive`` section
  points to.
- **The active file** (a name with "active", or a role about what is worked on now):
  regenerated, never appended: exactly the open work items (:mod:`domain.work`; their
  stored state, claimant and age), blockers first then oldest first, and when they do not
  all fit, a line saying how many more and which tool lists them; then the ten most recent
  notes, within its budget and line limit. A later note sharing a ticket (``#123``) with an
  open item is shown beside it as a hint, never taken as a close.
- **The brief** (a name with "brief", or a role about what the project is): the space
  description, the rules' own intro, and a topic map: the most distinctive terms over all
  notes (from a keyword extractor port) with how many notes mention them and the date of
  the latest.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Final

import attrs

from domain.consolidation.active import RECENT_NOTES, active_view, items_from_notes
from domain.consolidation.archive import fingerprint, first_line
from domain.consolidation.batching import BYTES_PER_TOKEN
from domain.consolidation.lines import ONE_LINE_CHARS, one_liner, refs
from domain.consolidation.policy import pointer_section
from domain.consolidation.router import RoutingTable
from domain.model import Note, SpaceRules
from domain.values import BankFileName
from domain.work import Claim, WorkItem

__all__ = [
    "ONE_LINE_CHARS",
    "RECENT_NOTES",
    "Topic",
    "ViewInputs",
    "extractive_views",
    "file_kind",
    "items_from_notes",
    "refs",
]

_MAX_SUMMARY_REFS: Final = 6


@attrs.frozen
class Topic:
    """A term of the topic map: how many notes mention it and the latest one's date."""

    term: str
    notes: int
    latest: date


@attrs.frozen
class ViewInputs:
    """What the views are built from.

    Attributes:
        notes: every archived note (this batch's included), any order.
        rules, table: the space's rules and routing table.
        budgets: each declared file's token budget.
        description: the space description.
        topics: the topic map, most distinctive first.
        archive_counts: for a hot file, its archive files with entry counts.
        items: every work item of the space with its live claim (the stored state);
            None derives them from the notes (:func:`items_from_notes`).
    """

    notes: Sequence[Note]
    rules: SpaceRules
    table: RoutingTable
    budgets: Mapping[BankFileName, int]
    description: str
    topics: Sequence[Topic]
    archive_counts: Callable[[BankFileName], Sequence[tuple[BankFileName, int]]]
    items: Sequence[tuple[WorkItem, Claim | None]] | None = None


def file_kind(name: BankFileName, role: str) -> str:
    """``active``, ``brief`` or ``log`` (see the module docstring)."""
    lowered, stem = role.casefold(), name.value.casefold()
    if "active" in stem or "worked on now" in lowered or "working on now" in lowered:
        return "active"
    if "brief" in stem or lowered.startswith(("what the project is", "what the work is")):
        return "brief"
    return "log"


@attrs.frozen
class _Entry:
    note: Note
    section: str
    line: str


def _merged(notes: Sequence[Note], table: RoutingTable) -> list[_Entry]:
    """One entry per group of near-duplicates, newest note first in its group."""
    groups: dict[str, list[Note]] = {}
    order: list[str] = []
    for note in sorted(notes, key=lambda n: (n.created_at, n.note_id)):
        key = fingerprint(first_line(note.content)) or note.note_id
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(note)
    entries = []
    for key in order:
        group = groups[key]
        newest = group[-1]
        entries.append(_Entry(newest, table.route(newest)[1], one_liner(newest, also=group[:-1])))
    return entries


def _weekly(section: str) -> bool:
    return re.fullmatch(r"\d{4}-W\d{2}", section) is not None


def _summary(week: str, notes: Sequence[Note]) -> str:
    agents = {n.agent.value for n in notes}
    found = list(dict.fromkeys(r for n in notes for r in refs(n.content)))
    listed = " ".join(found[:_MAX_SUMMARY_REFS]) + (" …" if len(found) > _MAX_SUMMARY_REFS else "")
    count = f"{len(notes)} {'note' if len(notes) == 1 else 'notes'}"
    line = f"- {week}: {count} by {len(agents)} {'agent' if len(agents) == 1 else 'agents'}"
    return line + (f"; refs {listed}" if found else "")


_Unit = tuple[Note, str, list[_Entry]]


def _units(entries: Sequence[_Entry]) -> list[_Unit]:
    """Newest first: a whole week, or one entry of a fixed section."""
    by_section: dict[str, list[_Entry]] = defaultdict(list)
    for entry in entries:
        by_section[entry.section].append(entry)
    units: list[_Unit] = []
    for section, items in by_section.items():
        if _weekly(section):
            newest = max(items, key=lambda e: (e.note.created_at, e.note.note_id))
            units.append((newest.note, section, items))
        else:
            units.extend((e.note, section, [e]) for e in items)
    return sorted(units, key=lambda u: (u[0].created_at, u[0].note_id), reverse=True)


def _choose(units: Sequence[_Unit], limit: int) -> tuple[dict[str, list[_Entry]], int]:
    """The newest contiguous span of units within ``limit`` bytes; when even the newest
    week does not fit, its newest entries that do."""
    used, chosen = 0, defaultdict(list)
    for _newest, section, items in units:
        head_cost = 0 if section in chosen else len(section) + 6
        cost = sum(len(e.line.encode()) + 1 for e in items) + head_cost
        if used + cost <= limit:
            chosen[section].extend(items)
            used += cost
            continue
        if not chosen:
            used += head_cost
            for entry in sorted(items, key=lambda e: (e.note.created_at, e.note.note_id), reverse=True):
                if used + len(entry.line.encode()) + 1 > limit:
                    break
                chosen[section].append(entry)
                used += len(entry.line.encode()) + 1
        break
    return chosen, used


def _log_view(name: BankFileName, notes: Sequence[Note], inputs: ViewInputs, preamble: str) -> str:
    budget = inputs.budgets[name] * BYTES_PER_TOKEN
    pointers = pointer_section(inputs.archive_counts(name))
    room = budget - len(preamble.encode()) - len(pointers.encode()) - 16
    entries = _merged(notes, inputs.table)
    week_notes: dict[str, list[Note]] = defaultdict(list)
    for note in notes:
        section = inputs.table.route(note)[1]
        if _weekly(section):
            week_notes[section].append(note)
    weeks = sorted(week_notes, reverse=True)
    chosen, used = _choose(_units(entries), room - (room // 5 if len(weeks) > 1 else 0))
    summaries: list[str] = []
    for week in (w for w in weeks if w not in chosen):  # a fifth of the room was kept for these
        line = _summary(week, week_notes[week])
        cost = len(line.encode()) + 1 + (0 if summaries else len("Earlier weeks") + 6)
        if used + cost > room:
            break
        summaries.append(line)
        used += cost
    parts = [preamble.rstrip("\n") + "\n"]
    if summaries:
        parts.append("## Earlier weeks\n\n" + "\n".join(reversed(summaries)) + "\n")
    weekly = sorted(s for s in chosen if _weekly(s))
    fixed = [s for s in dict.fromkeys(e.section for e in entries) if s in chosen and not _weekly(s)]
    for section in weekly + fixed:
        lines = sorted(chosen[section], key=lambda e: (e.note.created_at, e.note.note_id))
        parts.append(f"## {section}\n\n" + "\n".join(e.line for e in lines) + "\n")
    if pointers:
        parts.append(pointers)
    return "\n".join(parts)


def _rules_intro(rules: SpaceRules) -> str:
    first = re.search(r"^#{2,3}[ \t]", rules.text, flags=re.MULTILINE)
    intro = rules.text[: first.start()] if first else rules.text
    return "\n".join(line for line in intro.strip().splitlines() if not line.startswith("# ")).strip()


def _brief_view(name: BankFileName, notes: Sequence[Note], inputs: ViewInputs) -> str:
    budget = inputs.budgets[name] * BYTES_PER_TOKEN
    head = [f"# {name.value.removesuffix('.md')}"]
    if inputs.description.strip():
        head.append(inputs.description.strip())
    if _rules_intro(inputs.rules):
        head.append(_rules_intro(inputs.rules))
    preamble = "\n\n".join(head) + "\n"
    rows: list[str] = []
    total = len(inputs.notes)
    table_head = (
        f"## Topics\n\nThe most distinctive terms over all {total} notes, how many notes mention each, "
        "and the latest one.\n\n| term | notes | latest |\n|---|---|---|\n"
    )
    room = budget // 2 if notes else budget
    used = len(preamble.encode()) + len(table_head.encode()) + 8
    for topic in inputs.topics:
        row = f"| `{topic.term}` | {topic.notes} | {topic.latest.isoformat()} |"
        if used + len(row.encode()) + 1 > room:
            break
        rows.append(row)
        used += len(row.encode()) + 1
    text = preamble + ("\n" + table_head + "\n".join(rows) + "\n" if rows else "")
    if notes:
        rest = attrs.evolve(
            inputs, budgets={**inputs.budgets, name: max(1, (budget - used) // BYTES_PER_TOKEN)}
        )
        logged = _log_view(name, notes, rest, "")
        text += "\n" + logged.lstrip("\n")
    return text


def extractive_views(inputs: ViewInputs) -> dict[BankFileName, str]:
    """Every declared file's content, regenerated from the archived notes (module
    docstring). A log file no note routes to gets just its title, so that every file the
    rules declare exists."""
    roles = inputs.rules.file_roles()
    routed: dict[BankFileName, list[Note]] = defaultdict(list)
    for note in inputs.notes:
        routed[inputs.table.route(note)[0]].append(note)
    views: dict[BankFileName, str] = {}
    for name in inputs.rules.file_names():
        kind = file_kind(name, roles.get(name, ""))
        if kind == "active":
            views[name] = active_view(
                name,
                inputs.notes,
                inputs.items,
                budget_bytes=inputs.budgets[name] * BYTES_PER_TOKEN,
                role=roles.get(name, ""),
            )
        elif kind == "brief":
            views[name] = _brief_view(name, routed[name], inputs)
        else:
            title = name.value.removesuffix(".md")
            preamble = f"# {title}\n\nThe newest entries within this file's budget; the archive holds all.\n"
            if not routed[name]:
                preamble = f"# {title}\n\nNo note has been filed here yet.\n"
            views[name] = _log_view(name, routed[name], inputs, preamble)
    return views
