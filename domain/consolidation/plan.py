"""Edit plans: what one consolidation batch does to the memory bank, and the guards that
a plan must pass before anything is written.

Both modes (abstractive: an LLM writes the plan; extractive: a deterministic router) build
the same :class:`EditPlan`, so validation, the journal and history are shared.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs

from domain.consolidation.coverage import PlanOutcome
from domain.consolidation.markdown import Document
from domain.errors import DomainError, InvalidInput, PlanRejected
from domain.model import BankFile, SpaceRules, Synthesis
from domain.values import BankFileName

__all__ = [
    "MAX_OPS",
    "SHRINK_GUARD_BYTES",
    "EDIT_PLAN_SCHEMA",
    "OpKind",
    "EditOp",
    "EditPlan",
    "apply_plan",
]

MAX_OPS: Final = 500
SHRINK_GUARD_BYTES: Final = 1024


class OpKind(enum.StrEnum):
    """The operations a plan may apply to a bank file."""

    CREATE_FILE = "create_file"
    REWRITE_FILE = "rewrite_file"
    REPLACE_SECTION = "replace_section"
    APPEND_TO_SECTION = "append_to_section"
    PREPEND_TO_SECTION = "prepend_to_section"
    ADD_SECTION = "add_section"
    DELETE_SECTION = "delete_section"


@attrs.frozen
class EditOp:
    """One operation.

    Attributes:
        op: what to do.
        file: the bank file, relative to ``bank/`` (e.g. ``progress.md``).
        section: the heading text of the section it acts on (section operations).
        content: Markdown to write (all but ``delete_section``).
        level: heading level of a new section (``add_section``), 1-6.
    """

    op: OpKind
    file: str
    section: str = ""
    content: str = ""
    level: int = 2


@attrs.frozen
class EditPlan:
    """A batch's edits, the synthesis to carry forward to the next batch, and what became
    of each note (a model's plan; checked by :func:`coverage.check_coverage`)."""

    operations: tuple[EditOp, ...]
    synthesis: str = ""
    outcomes: tuple[PlanOutcome, ...] = ()


EDIT_PLAN_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["operations", "synthesis", "outcomes"],
    "properties": {
        "operations": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["op", "file", "section", "content", "level"],
                "properties": {
                    "op": {"type": "string", "enum": [k.value for k in OpKind]},
                    "file": {"type": "string"},
                    "section": {"type": "string"},
                    "content": {"type": "string"},
                    "level": {"type": "integer", "minimum": 1, "maximum": 6},
                },
            },
        },
        "synthesis": {"type": "string"},
        "outcomes": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["note_id", "outcome", "detail"],
                "properties": {
                    "note_id": {"type": "string"},
                    "outcome": {"type": "string", "enum": ["integrated", "merged", "discarded"]},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}
"""JSON Schema (draft 2020-12 subset accepted by OpenAI structured outputs) of an edit plan."""


def _file_name(value: str, rules: SpaceRules, existing: Mapping[BankFileName, str]) -> BankFileName:
    try:
        name = BankFileName(value)
    except InvalidInput as exc:
        raise PlanRejected(f"illegal bank file name: {exc}") from None
    if name not in existing and name not in rules.file_names():
        allowed = ", ".join(n.value for n in rules.file_names())
        raise PlanRejected(f"file {value!r} is not a bank file of the rules ({allowed})")
    return name


def _apply_one(document: Document | None, op: EditOp) -> Document:
    if op.op in (OpKind.CREATE_FILE, OpKind.REWRITE_FILE):
        if op.op is OpKind.CREATE_FILE and document is not None and document.render().strip():
            raise PlanRejected(f"create_file on {op.file!r}, which exists: use section operations")
        if not op.content.strip():
            raise PlanRejected(f"{op.op.value} on {op.file!r} has no content")
        return Document.parse(op.content if op.content.endswith("\n") else op.content + "\n")
    doc = document or Document.parse("")
    if op.op is OpKind.ADD_SECTION:
        return doc.add(op.section, op.content, op.level)
    if op.op is OpKind.DELETE_SECTION:
        return doc.delete(op.section)
    if not op.content.strip() and op.op is not OpKind.REPLACE_SECTION:
        raise PlanRejected(f"{op.op.value} on {op.file!r} has no content")
    if op.op is OpKind.REPLACE_SECTION:
        return doc.replace(op.section, op.content)
    if op.op is OpKind.APPEND_TO_SECTION:
        return doc.append(op.section, op.content)
    return doc.prepend(op.section, op.content)


def apply_plan(
    plan: EditPlan,
    bank: Mapping[BankFileName, str],
    rules: SpaceRules,
    *,
    require_changes: bool = True,
    shrink_guard: bool = True,
) -> tuple[dict[BankFileName, BankFile], Synthesis]:
    """Validate a whole plan against the bank and apply it in memory.

    Guards (``PlanRejected`` names every operation and file that breaks one, so that a
    retry can fix them all, not only the first):
    file names legal and declared by the rules (or already in the bank); section
    operations name existing sections; ``create_file`` only on a missing file; a plan may
    not shrink a file of 1 KiB or more to less than half its size; every resulting file
    within the bank file size limit; at most 500 operations; an empty plan is refused
    when ``require_changes``. The shrink guard is for plans a model wrote; a deterministic
    planner whose displaced text the archive receives turns it off (``shrink_guard``).

    Returns:
        The files that changed, with their new content, and the new synthesis.
    """
    if not plan.operations and require_changes:
        raise PlanRejected("the plan has no operations, but there are notes to consolidate")
    if len(plan.operations) > MAX_OPS:
        raise PlanRejected(f"the plan has {len(plan.operations)} operations; the limit is {MAX_OPS}")
    documents: dict[BankFileName, Document | None] = {}
    problems: list[str] = []
    for number, op in enumerate(plan.operations, start=1):
        try:
            name = _file_name(op.file, rules, bank)
            if name not in documents:
                documents[name] = Document.parse(bank[name]) if name in bank else None
            documents[name] = _apply_one(documents[name], op)
        except PlanRejected as exc:  # every bad operation is named, not only the first
            problems.append(f"operation {number} ({op.op.value} on {op.file}): {exc}")
    changed: dict[BankFileName, BankFile] = {}
    for name, document in documents.items():
        text = document.render() if document is not None else ""
        old = bank.get(name, "")
        if text == old:
            continue
        old_size, new_size = len(old.encode()), len(text.encode())
        if shrink_guard and old_size >= SHRINK_GUARD_BYTES and new_size * 2 < old_size:
            problems.append(
                f"the plan shrinks {name} from {old_size} to {new_size} bytes; a plan may not drop more "
                "than half of a file: move or summarize content instead of deleting it"
            )
            continue
        try:
            changed[name] = BankFile(name, text)
        except DomainError as exc:
            problems.append(f"{name}: {exc}")
    if len(problems) == 1:
        raise PlanRejected(problems[0])
    if problems:
        listed = "; ".join(f"({n}) {p}" for n, p in enumerate(problems, start=1))
        raise PlanRejected(f"{len(problems)} problems, fix every one: {listed}")
    try:
        synthesis = Synthesis(plan.synthesis)
    except DomainError as exc:
        raise PlanRejected(f"synthesis: {exc}") from None
    return changed, synthesis
