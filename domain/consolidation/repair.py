"""Repairs of a bank file that hand edits or older servers can leave: the same heading
twice in one file. Pure functions; :class:`application.services.bankedit.BankEditService`
applies them through a journal."""

from __future__ import annotations

from domain.consolidation.markdown import Document, Section

__all__ = ["merge_duplicate_sections"]


def merge_duplicate_sections(text: str) -> tuple[str, list[str]]:
    """``text`` with every section whose heading repeats an earlier one at the same level
    (:func:`~domain.consolidation.markdown.normalize_heading`) merged into the first: its
    body lines are appended there, lines the first already holds left out, order kept.

    Returns:
        The repaired text (``text`` itself when nothing repeats) and the titles merged.
    """
    document = Document.parse(text)
    kept: list[Section] = []
    first: dict[tuple[int, str], int] = {}
    merged: list[str] = []
    for section in document.sections:
        where = first.get((section.level, section.key))
        if where is None:
            first[(section.level, section.key)] = len(kept)
            kept.append(section)
            continue
        target = kept[where]
        present = {line.strip() for line in target.body.splitlines() if line.strip()}
        extra = [line for line in section.body.splitlines() if line.strip() and line.strip() not in present]
        body = target.body.rstrip("\n") + "\n" + "".join(f"{line}\n" for line in extra) + "\n"
        kept[where] = Section(target.title, target.level, target.heading, body)
        merged.append(section.title)
    if not merged:
        return text, []
    return Document(document.preamble, tuple(kept)).render(), merged
