"""The budget policy: every hot bank file fits its token budget after every batch.

:func:`enforce_budget` runs after a batch is planned, in either mode. When a file passes
its budget it removes the oldest *entries* (a top-level bullet with its continuation
lines, a paragraph, or a table) until the file fits, and refreshes the file's
``## Archive`` section: one pointer line per archive file with its entry count. An
entry's age is the date it starts with (``- 2025-07-03 ...``), else its section's title
(``2025-W21``, ``2025-07``, ``2025-07-03``), else its position (earlier is older, and
older than any dated entry). The title (a level-1 heading) and its intro always stay.
The removed entries are returned so that the caller hands them to
:meth:`domain.consolidation.archive.Archive.absorb`: nothing leaves the hot bank without
its text being in the archive.

:func:`displaced_blocks` finds what a new version of a file no longer holds, for the
same purpose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Final

from domain.consolidation.batching import BYTES_PER_TOKEN, estimate_tokens
from domain.consolidation.markdown import Document, Section, normalize_heading
from domain.values import BankFileName

__all__ = ["ARCHIVE_SECTION", "blocks", "displaced_blocks", "enforce_budget", "pointer_section"]

ARCHIVE_SECTION: Final = "Archive"
_ITEM_RE: Final = re.compile(r"^(?:[-*+]|\d+[.)])\s")
_DATE_RE: Final = re.compile(r"^- (\d{4})-(\d{2})-(\d{2})\b")
_WEEK_RE: Final = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH_RE: Final = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def blocks(body: str) -> list[str]:
    """Split a section body into top-level entries (see the module docstring)."""
    found: list[list[str]] = []
    current: list[str] | None = None
    blank = True
    for line in body.splitlines():
        if not line.strip():
            blank = True
            continue
        starts = _ITEM_RE.match(line) is not None or (blank and not line[:1].isspace())
        if line.startswith("|") and current is not None and current[-1].startswith("|"):
            starts = False
        if starts or current is None:
            current = [line]
            found.append(current)
        else:
            current.append(line)
        blank = False
    return ["\n".join(block) for block in found]


def _section_date(title: str) -> date | None:
    text = title.strip()
    week = _WEEK_RE.match(text)
    if week:
        try:
            return date.fromisocalendar(int(week[1]), int(week[2]), 1)
        except ValueError:
            return None
    month = _MONTH_RE.match(text)
    if month:
        try:
            return date(int(month[1]), int(month[2]), int(month[3] or 1))
        except ValueError:
            return None
    return None


def _block_date(block: str, section: date | None) -> date | None:
    match = _DATE_RE.match(block)
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return section
    return section


def pointer_section(counts: Sequence[tuple[BankFileName, int]], *, aggregate: bool = False) -> str:
    """The ``## Archive`` section for a file's archive files (empty text when none): one
    line per file, or with ``aggregate`` one line for all of them."""
    if not counts:
        return ""
    if aggregate:
        folder = counts[0][0].value.rsplit("/", 1)[0]
        total = sum(c for _, c in counts)
        lines = [f"- {folder}/: {len(counts)} files, {total} entries (`bank_list` names them)"]
    else:
        lines = [f"- {name}: {count} {'entry' if count == 1 else 'entries'}" for name, count in counts]
    intro = "Older entries and the full text of every note (read them with `bank_read`):"
    return f"## {ARCHIVE_SECTION}\n\n{intro}\n\n" + "\n".join(lines) + "\n"


def _without_archive(document: Document) -> Document:
    kept = tuple(s for s in document.sections if s.key != normalize_heading(ARCHIVE_SECTION))
    return Document(document.preamble, kept)


def _join(document: Document, pointers: str) -> str:
    text = document.render().rstrip("\n") + "\n"
    return text + "\n" + pointers if pointers else text


def _render_section(section: Section, kept: list[str]) -> Section:
    return Section(
        section.title, section.level, section.heading, "\n" + "\n".join(kept) + "\n\n" if kept else "\n"
    )


def enforce_budget(
    text: str,
    budget_tokens: int,
    counts: Sequence[tuple[BankFileName, int]],
) -> tuple[str, list[tuple[str, str]]]:
    """``text`` within ``budget_tokens`` with its archive pointers refreshed.

    Returns:
        The new text and the removed entries as ``(section title, block)``, oldest first.
        When the pointers alone do not fit, they are aggregated into one line; the
        preamble (title and intro) is always kept.
    """
    document = _without_archive(Document.parse(text))
    pointers = pointer_section(counts)
    if estimate_tokens(_join(document, pointers)) > budget_tokens and len(counts) > 1:
        probe = _join(Document(document.preamble, ()), pointers)
        if estimate_tokens(probe) > budget_tokens // 2:
            pointers = pointer_section(counts, aggregate=True)
    result = _join(document, pointers)
    if estimate_tokens(result) <= budget_tokens:
        return result, []
    entries: list[tuple[tuple[int, date, int], int, int]] = []
    split = [blocks(section.body) for section in document.sections]
    position = 0
    for s_index, section in enumerate(document.sections):
        if section.level == 1:
            continue  # the file's title and intro stay
        when = _section_date(section.title)
        for b_index, block in enumerate(split[s_index]):
            dated = _block_date(block, when)
            entries.append(((0 if dated is None else 1, dated or date.min, position), s_index, b_index))
            position += 1
    entries.sort()
    removed: set[tuple[int, int]] = set()
    excess = (estimate_tokens(result) - budget_tokens) * BYTES_PER_TOKEN
    removed_order: list[tuple[str, str]] = []
    for _key, s_index, b_index in entries:
        if excess <= 0:  # the estimate says it fits: check on the rendered text
            sections = _kept_sections(document, split, removed)
            result = _join(Document(document.preamble, sections), pointers)
            excess = (estimate_tokens(result) - budget_tokens) * BYTES_PER_TOKEN
            if excess <= 0:
                return result, removed_order
        removed.add((s_index, b_index))
        block = split[s_index][b_index]
        removed_order.append((document.sections[s_index].title, block))
        excess -= len(block.encode()) + 1
    sections = _kept_sections(document, split, removed)
    return _join(Document(document.preamble, sections), pointers), removed_order


def _kept_sections(
    document: Document, split: list[list[str]], removed: set[tuple[int, int]]
) -> tuple[Section, ...]:
    sections = []
    for s_index, section in enumerate(document.sections):
        kept = [b for b_index, b in enumerate(split[s_index]) if (s_index, b_index) not in removed]
        if kept or not split[s_index]:
            sections.append(_render_section(section, kept) if len(kept) != len(split[s_index]) else section)
    return tuple(sections)


def displaced_blocks(old: str, new: str) -> list[tuple[str, str]]:
    """Entries of ``old`` (outside its ``## Archive`` section) that ``new`` does not
    contain, as ``(section title, block)``; whitespace differences aside."""

    def entries(text: str) -> list[tuple[str, str]]:
        document = _without_archive(Document.parse(text))
        found = [("", b) for b in blocks(document.preamble) if not b.startswith("# ")]
        for section in document.sections:
            found.extend((section.title, b) for b in blocks(section.body))
        return found

    def norm(block: str) -> str:
        return " ".join(block.split())

    present = {norm(b) for _, b in entries(new)}
    return [(title, b) for title, b in entries(old) if norm(b) not in present]
