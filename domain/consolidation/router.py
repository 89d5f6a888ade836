"""Extractive consolidation: a deterministic router that files each note, verbatim, as a
dated bullet under the bank file and section that the rules assign to its category. It
invents nothing, needs no model, and is the offline default.

Routing comes from the rules:

1. An explicit routing table, if the rules have a section whose title contains
   "routing" holding a Markdown table with the columns ``category``, ``file`` and
   ``section`` (``section`` may use ``{week}`` for the ISO week, ``2026-W05``, or
   ``{month}``, ``2026-01``). Rows for unknown categories or undeclared files are refused.
2. Otherwise, and for categories the table omits, a fallback scores each declared file by
   category keywords found in its name (weight 3) and role text (weight 1); the best
   file wins, ties go to the file declared first. A category no file matches goes to the
   catch-all: the first file whose name mentions progress, log, notes or journal, else
   the last file declared. The section is the category's title (``Decisions``,
   ``Next steps``, ...), or ``{week}`` when the chosen file's role speaks of weeks;
   issues always go to ``Known issues``.

Near-duplicate notes (same words, case, spacing and punctuation aside) in one section are
merged: the later note adds ``(also AGENT DATE)`` to the earlier bullet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

import attrs

from domain.consolidation.markdown import Document, normalize_heading, parse_tables
from domain.consolidation.plan import EditOp, EditPlan, OpKind
from domain.errors import InvalidInput
from domain.model import Note, SpaceRules
from domain.values import BankFileName, NoteCategory

__all__ = ["Route", "RoutingTable", "extractive_plan", "render_bullet"]

_TITLES: Final = {
    NoteCategory.DECISION: "Decisions",
    NoteCategory.PROGRESS: "Progress",
    NoteCategory.ISSUE: "Known issues",
    NoteCategory.TODO: "Next steps",
    NoteCategory.QUESTION: "Open questions",
    NoteCategory.OBSERVATION: "Observations",
    NoteCategory.INSIGHT: "Insights",
}
_KEYWORDS: Final = {
    NoteCategory.DECISION: ("decision", "decided", "choice"),
    NoteCategory.PROGRESS: ("progress", "what works", "done", "log", "fixed"),
    NoteCategory.ISSUE: ("known issues", "issue", "bug", "problem"),
    NoteCategory.TODO: ("next steps", "todo", "to do", "working on", "left"),
    NoteCategory.QUESTION: ("open questions", "question"),
    NoteCategory.OBSERVATION: ("observation", "context", "constraint", "fact", "tooling"),
    NoteCategory.INSIGHT: ("pattern", "architecture", "insight", "design", "convention"),
}
_CATCH_ALL: Final = re.compile(r"progress|log|notes|journal", re.IGNORECASE)
_WORDS: Final = re.compile(r"[\w#]+")


@attrs.frozen
class Route:
    """Where notes of one category go: a bank file and a section title template."""

    file: BankFileName
    section: str

    def section_for(self, note: Note) -> str:
        """The section title for ``note`` (templates filled from its date)."""
        year, week, _ = note.created_at.isocalendar()
        return self.section.replace("{week}", f"{year}-W{week:02d}").replace(
            "{month}", note.created_at.strftime("%Y-%m")
        )


@attrs.frozen
class RoutingTable:
    """A route for each of the seven categories."""

    routes: Mapping[NoteCategory, Route]

    @classmethod
    def from_rules(cls, rules: SpaceRules) -> RoutingTable:
        """The explicit table of the rules completed by the fallback (module docstring).

        Raises:
            InvalidInput: a routing table row names an unknown category or file.
        """
        files = rules.file_names()
        roles = rules.file_roles()
        routes = {category: _fallback(category, files, roles) for category in NoteCategory}
        routes.update(_explicit(rules, files))
        return cls(routes)

    def route(self, note: Note) -> tuple[BankFileName, str]:
        """The file and section title for ``note``."""
        route = self.routes[note.category]
        return route.file, route.section_for(note)


def _explicit(rules: SpaceRules, files: Sequence[BankFileName]) -> dict[NoteCategory, Route]:
    document = Document.parse(rules.text)
    found: dict[NoteCategory, Route] = {}
    for section in document.sections:
        if "routing" not in section.key:
            continue
        for table in parse_tables(section.body):
            header = [normalize_heading(cell) for cell in table[0]] if table else []
            if not {"category", "file", "section"} <= set(header):
                continue
            col = {name: header.index(name) for name in ("category", "file", "section")}
            for row in table[1:]:
                category = NoteCategory.parse(row[col["category"]])
                file = BankFileName(row[col["file"]].strip("`"))
                if file not in files:
                    raise InvalidInput(f"the routing table names {file}, which the rules do not declare")
                found[category] = Route(file, row[col["section"]] or _TITLES[category])
    return found


def _fallback(
    category: NoteCategory, files: Sequence[BankFileName], roles: Mapping[BankFileName, str]
) -> Route:
    def score(file: BankFileName) -> int:
        name, role = file.value.lower(), roles.get(file, "").lower()
        return sum(3 * name.count(k.replace(" ", "")) + role.count(k) for k in _KEYWORDS[category])

    best = max(files, key=lambda f: (score(f), -files.index(f)))
    if score(best) == 0:
        best = next((f for f in files if _CATCH_ALL.search(f.value)), files[-1])
    weekly = "week" in roles.get(best, "").lower()
    if category is NoteCategory.ISSUE:
        section = _TITLES[category]
    else:
        section = "{week}" if weekly else _TITLES[category]
    return Route(best, section)


def render_bullet(note: Note) -> str:
    """``- 2026-01-31 · agent · category: text``; further lines indented two spaces."""
    first, *rest = note.content.strip().splitlines() or [""]
    lines = [f"- {note.created_at.date().isoformat()} · {note.agent} · {note.category.value}: {first}"]
    lines.extend(f"  {line}" if line.strip() else "" for line in rest)
    return "\n".join(lines)


def _fingerprint(text: str) -> str:
    return " ".join(_WORDS.findall(text.casefold()))


def _bullet_fingerprint(line: str) -> str | None:
    match = re.match(r"- \d{4}-\d{2}-\d{2} · [^·]+ · [a-z]+: (.*?)(?: \(also .*\))?$", line)
    return _fingerprint(match.group(1)) if match else None


def extractive_plan(
    notes: Sequence[Note], bank: Mapping[BankFileName, str], rules: SpaceRules, table: RoutingTable
) -> EditPlan:
    """The edit plan that files ``notes`` (oldest first) by ``table``: new sections and
    files as needed, bullets appended, near-duplicates merged. Deterministic."""
    titles: dict[BankFileName, str] = {}
    docs: dict[BankFileName, Document] = {}
    order: list[tuple[BankFileName, str]] = []
    bullets: dict[tuple[BankFileName, str], list[str]] = {}
    for note in notes:
        file, section = table.route(note)
        if file not in docs:
            text = bank.get(file, "")
            if not text.strip():
                titles[file] = f"# {file.value.removesuffix('.md')}\n"
                text = titles[file]
            docs[file] = Document.parse(text)
        key = (file, section)
        if key not in bullets:
            bullets[key] = _existing_bullets(docs[file], section)
            order.append(key)
        _add_or_merge(bullets[key], note)
    ops = [EditOp(OpKind.CREATE_FILE, file.value, content=title) for file, title in titles.items()]
    for file, section in order:
        document = docs[file]
        body = "\n".join(bullets[(file, section)])
        if document.has(section):
            ops.append(EditOp(OpKind.REPLACE_SECTION, file.value, section, body))
        else:
            ops.append(EditOp(OpKind.ADD_SECTION, file.value, section, body, level=2))
    agents = sorted({n.agent.value for n in notes})
    span = f"{notes[0].created_at.date()} to {notes[-1].created_at.date()}" if notes else "nothing"
    synthesis = f"Extractive consolidation filed {len(notes)} notes from {len(agents)} agents ({span})."
    return EditPlan(tuple(ops), synthesis)


def _existing_bullets(document: Document, section: str) -> list[str]:
    key = normalize_heading(section)
    for existing in document.sections:
        if existing.key == key:
            body = existing.body.strip("\n")
            return body.split("\n") if body else []
    return []


def _add_or_merge(lines: list[str], note: Note) -> None:
    fingerprint = _fingerprint(note.content.strip().splitlines()[0] if note.content.strip() else "")
    for index, line in enumerate(lines):
        if fingerprint and _bullet_fingerprint(line) == fingerprint:
            also = f"{note.agent} {note.created_at.date().isoformat()}"
            if line.endswith(")") and " (also " in line:
                lines[index] = line[:-1] + f", {also})"
            else:
                lines[index] = f"{line} (also {also})"
            return
    lines.extend(render_bullet(note).split("\n"))
