"""One line per note, as the extractive views write it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from domain.consolidation.archive import first_line
from domain.model import Note

__all__ = ["ONE_LINE_CHARS", "one_liner", "refs", "shorten"]

ONE_LINE_CHARS: Final = 160
_REF_RE: Final = re.compile(r"(?<![\w&])#\d+\b")
_MAX_SUMMARY_REFS: Final = 6
_MAX_ALSO: Final = 3


def refs(text: str) -> list[str]:
    """The ticket references (``#123``) in ``text``, in order, without duplicates."""
    return list(dict.fromkeys(_REF_RE.findall(text)))


def shorten(text: str, width: int) -> str:
    """``text`` cut at a word to at most ``width`` characters, with an ellipsis."""
    if len(text) <= width:
        return text
    cut = text[:width].rsplit(" ", 1)[0] if " " in text[:width] else text[:width]
    return cut.rstrip(" ,;:") + "…"


def one_liner(note: Note, width: int = ONE_LINE_CHARS, also: Sequence[Note] = ()) -> str:
    """``- 2025-07-03 · alice · decision: first line (refs #1 #2) (also bob 2025-06-01)``:
    refs in the note but not in the shown text are listed."""
    shown = shorten(first_line(note.content), width)
    missing = [r for r in refs(note.content) if r not in refs(shown)]
    line = f"- {note.created_at.date().isoformat()} · {note.agent} · {note.category.value}: {shown}"
    if missing:
        line += f" (refs {' '.join(missing[:_MAX_SUMMARY_REFS])})"
    if also:
        named = [f"{n.agent} {n.created_at.date().isoformat()}" for n in also[-_MAX_ALSO:]]
        more = f", {len(also) - _MAX_ALSO} more" if len(also) > _MAX_ALSO else ""
        line += f" (also {', '.join(named)}{more})"
    return line
