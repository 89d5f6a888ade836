"""The two ways to build an edit plan for a batch: extractive (the deterministic router,
no model) and abstractive (a language model writes the plan)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

import attrs

from application.consolidation.ports import LanguageModel, TopicExtractor
from domain import BankFile, BankFileName, Note, PlanRejected, SpaceRules, Synthesis
from domain.consolidation import (
    EDIT_PLAN_SCHEMA,
    Archive,
    Budget,
    EditOp,
    EditPlan,
    OpKind,
    RoutingTable,
    Topic,
    ViewInputs,
    archive_stem,
    estimate_tokens,
    extractive_views,
)
from domain.consolidation.attribution import Sources
from domain.consolidation.coverage import NoteOutcome, OutcomeKind
from domain.consolidation.markdown import Document
from domain.work import Claim, WorkItem, ordered_open

__all__ = [
    "AbstractivePlanner",
    "ExtractivePlanner",
    "PlanRequest",
    "PlannedBatch",
    "Planner",
    "check_attribution",
    "render_prompt",
]

EXTRACTIVE_BATCH_NOTES: Final = 200
TOPICS: Final = 40


@attrs.frozen
class PlanRequest:
    """Everything a planner sees for one batch.

    Attributes:
        notes: the batch's notes, oldest first (empty for a compaction).
        bank: the hot bank files' text.
        rules, synthesis, table: the space's rules, last synthesis and routing table.
        archive: the space's archive, this batch's notes already appended.
        budgets: each declared file's token budget.
        description: the space description.
        previous_error: why the previous plan was refused, for the retry.
        run_notes: the notes of this run so far, this batch's included.
        items: every work item of the space with its live claim (stored state); None
            when the service keeps no work items (the views derive them from the notes).
    """

    notes: Sequence[Note]
    bank: Mapping[BankFileName, str]
    rules: SpaceRules
    synthesis: str
    table: RoutingTable
    archive: Archive | None = None
    budgets: Mapping[BankFileName, int] = attrs.field(factory=dict)
    description: str = ""
    previous_error: str | None = None
    run_notes: Sequence[Note] = ()
    items: Sequence[tuple[WorkItem, Claim | None]] | None = None


@attrs.frozen
class PlannedBatch:
    """A plan and what it cost. ``guarded``: a model wrote it, so the plan guards apply
    in full (no empty plan, no shrinking a file by half, every note accounted for).
    ``outcomes``: what became of each note of the batch, once checked."""

    plan: EditPlan
    tokens_in: int = 0
    tokens_out: int = 0
    guarded: bool = True
    outcomes: tuple[NoteOutcome, ...] = ()


class Planner(Protocol):
    """Builds the edit plan of one batch."""

    @property
    def mode(self) -> str:
        """``extractive`` or ``abstractive (model name)``."""
        ...

    def budget(self, rules: SpaceRules, synthesis: str) -> Budget:
        """The token budget batches are packed to."""
        ...

    async def plan(self, request: PlanRequest) -> PlannedBatch:
        """The batch's edit plan. May raise ``ModelError`` (abstractive)."""
        ...


class ExtractivePlanner:
    """Regenerates every hot file as a view of the archive
    (:mod:`domain.consolidation.views`): deterministic, offline, invents nothing.

    Args:
        topics: the keyword extractor behind the brief's topic map; None leaves the map out.
    """

    mode = "extractive"

    def __init__(self, topics: TopicExtractor | None = None) -> None:
        self._topics = topics

    def budget(self, rules: SpaceRules, synthesis: str) -> Budget:
        """No model: batches are capped by note count only."""
        return Budget(context_tokens=10**9, answer_tokens=0, fixed_tokens=0, max_notes=EXTRACTIVE_BATCH_NOTES)

    async def plan(self, request: PlanRequest) -> PlannedBatch:
        """Rewrite each declared file whose view changed (in a worker thread: the views
        read every archived note)."""
        return await asyncio.to_thread(self._plan, request)

    def _topic_map(self, notes: Sequence[Note]) -> list[Topic]:
        if self._topics is None or not notes:
            return []
        found = self._topics.topics([n.content for n in notes], TOPICS)
        return [
            Topic(term, len(hits), max(notes[i].created_at for i in hits).date())
            for term, hits in found
            if hits
        ]

    def _plan(self, request: PlanRequest) -> PlannedBatch:
        archive = request.archive
        if archive is None:  # pragma: no cover - the service always passes the archive
            raise ValueError("the extractive planner needs the archive")
        notes = archive.notes()
        views = extractive_views(
            ViewInputs(
                notes=notes,
                rules=request.rules,
                table=request.table,
                budgets=request.budgets,
                description=request.description,
                topics=self._topic_map(notes),
                archive_counts=lambda name: archive.counts(archive_stem(name)),
                items=request.items,
            )
        )
        ops = []
        for name, text in views.items():
            old = request.bank.get(name)
            if old == text:
                continue
            kind = OpKind.REWRITE_FILE if old and old.strip() else OpKind.CREATE_FILE
            ops.append(EditOp(kind, name.value, content=text))
        run = sorted(request.run_notes or request.notes, key=lambda n: n.created_at)
        agents = {n.agent.value for n in run}
        span = f"{run[0].created_at.date()} to {run[-1].created_at.date()}" if run else "no new notes"
        synthesis = (
            f"Extractive consolidation filed {len(run)} notes from {len(agents)} agents ({span}) "
            f"in this run; the archive holds {len(notes)} notes."
        )
        placed = tuple(
            NoteOutcome(n.note_id, OutcomeKind.INTEGRATED, request.table.route(n)[0].value)
            for n in request.notes
        )
        return PlannedBatch(EditPlan(tuple(ops), synthesis), guarded=False, outcomes=placed)


SYSTEM_PROMPT: Final = """You maintain the memory bank of a team of AI agents: Markdown files whose
names and roles the rules define. You receive the rules, the synthesis of the previous
consolidation, the bank files concerned, and new notes, oldest first. Fold the notes into
the bank by answering with an edit plan in JSON:
- operations: a list of {op, file, section, content, level}. op is one of create_file,
  rewrite_file, replace_section, append_to_section, prepend_to_section, add_section,
  delete_section. file is a file named by the rules. section is the exact text of an
  existing heading (for add_section: the new heading's text). content is Markdown.
- synthesis: a short summary of the state of the work to carry forward.
- outcomes: one {note_id, outcome, detail} for every new note: outcome integrated (detail:
  the file it is in), merged (detail: the entry it was merged into) or discarded (detail:
  why: duplicate of which note, superseded by which note, or no lasting value). A note
  said integrated must have its references, numbers and key words in that file.
Rules: never invent facts no note states; name people, versions, issue numbers and dates
exactly as the notes do; merge duplicates; replace what later notes supersede; keep each
file to its role; never drop most of a file. Answer with the JSON object only."""


def render_prompt(request: PlanRequest, needed: Sequence[BankFileName]) -> str:
    """The user message for one batch: rules, synthesis, the needed files in full, the
    other files by section titles only, the notes, and the previous error if any."""
    parts = [
        "# Rules",
        request.rules.text.strip(),
        "",
        "# Synthesis of the last consolidation",
        request.synthesis.strip() or "(none yet)",
        "",
        "# Bank files",
    ]
    for name in request.rules.file_names():
        text = request.bank.get(name)
        if text is None:
            parts.append(f"## {name} (does not exist yet: create_file)")
        elif name in needed:
            parts += [f"## {name}", "````markdown", text.rstrip("\n"), "````"]
        else:
            titles = ", ".join(s.title for s in Document.parse(text).sections)
            parts.append(f"## {name} (not shown; sections: {titles or 'none'})")
    parts += ["", "# New notes (oldest first)"]
    for note in request.notes:
        parts.append(
            f"- [{note.note_id} {note.created_at.date()} {note.agent} {note.category.value}] "
            f"{note.content.strip()}"
        )
    parts += _work_items(request)
    if request.budgets:
        parts += [
            "",
            "# Budgets (tokens, about 4 bytes each; what passes a budget is archived, oldest first)",
        ]
        for name, budget in request.budgets.items():
            used = estimate_tokens(request.bank.get(name, ""))
            parts.append(f"- {name}: {budget} tokens (now {used})")
    if request.previous_error:
        parts += [
            "",
            "# Your previous answer was refused",
            request.previous_error,
            "Answer again with a corrected plan.",
        ]
    return "\n".join(parts)


WORK_ITEMS_SHOWN: Final = 60


def _work_items(request: PlanRequest) -> list[str]:
    """The work items' states, so that the model lists as open only what is open and
    never revives a settled item: the open ones (blockers first), then the settled."""
    if not request.items:
        return []
    items = [i for i, _ in request.items]
    claims = {i.item_id: c for i, c in request.items if c is not None}
    shown = ordered_open(items)[:WORK_ITEMS_SHOWN]
    settled = sorted((i for i in items if i.state.settled), key=lambda i: i.settled_at or i.created_at)
    lines = ["", "# Work items (their true state: list as open only the open ones, settled never)"]
    for item in shown:
        holder = claims.get(item.item_id)
        held = f", claimed by {holder.holder}" if holder is not None else ""
        lines.append(f"- open{held}: [{item.category.value} {item.item_id}] {item.title}")
    lines.extend(
        f"- {i.state.value} by {i.settled_by}: [{i.category.value} {i.item_id}] {i.title}"
        for i in settled[-WORK_ITEMS_SHOWN:]
    )
    return lines


class AbstractivePlanner:
    """A language model writes the plan (JSON schema answer); notes are packed into
    batches that fit the model's context with the files they need."""

    def __init__(self, model: LanguageModel) -> None:
        self._model = model

    @property
    def mode(self) -> str:
        """``abstractive (model)``."""
        return f"abstractive ({self._model.name})"

    def budget(self, rules: SpaceRules, synthesis: str) -> Budget:
        """Context minus the answer, the instructions, rules and synthesis."""
        fixed = (
            estimate_tokens(SYSTEM_PROMPT) + estimate_tokens(rules.text) + estimate_tokens(synthesis) + 200
        )
        return Budget(self._model.context_tokens, self._model.max_answer_tokens, fixed, max_notes=100)

    async def plan(self, request: PlanRequest) -> PlannedBatch:
        """One model call; none for a compaction (no notes), whose plan is empty."""
        if not request.notes:
            return PlannedBatch(EditPlan((), request.synthesis), guarded=False)
        needed = sorted({request.table.route(n)[0] for n in request.notes}, key=lambda n: n.value)
        answer = await self._model.complete(
            SYSTEM_PROMPT,
            render_prompt(request, needed),
            schema=EDIT_PLAN_SCHEMA,
            schema_name="edit_plan",
            response_type=EditPlan,
        )
        return PlannedBatch(answer.value, answer.input_tokens, answer.output_tokens)


def check_attribution(base: PlanRequest, changed: dict[BankFileName, BankFile], synthesis: Synthesis) -> None:
    """Refuse a model's plan that writes a URL, number, date, reference or identifier
    found in none of its sources (:mod:`domain.consolidation.attribution`).

    Raises:
        PlanRejected: naming each unattributed claim and the file that holds it.
    """
    given = {n.note_id: n for n in (*base.run_notes, *base.notes)}.values()  # the batch is in the run
    sources = Sources(
        [
            *base.bank.values(),
            base.synthesis,
            base.rules.text,
            base.description,
            f"{len(base.notes)} {len(base.run_notes)}",  # counting the notes it was given is no claim
            *(
                f"{n.note_id} {n.agent} {n.created_at.isoformat()} {' '.join(n.tags)}\n{n.content}"
                for n in given
            ),
        ]
    )
    written = {**{name.value: file.content for name, file in changed.items()}, "synthesis": synthesis.text}
    found = {name: sources.unattributed(text) for name, text in written.items()}
    problems = [f"{name}: {', '.join(claims[:10])}" for name, claims in found.items() if claims]
    if problems:
        raise PlanRejected(
            "the plan writes claims that no note, the synthesis or the bank holds (copy them from "
            "the notes or leave them out): " + "; ".join(problems)
        )
