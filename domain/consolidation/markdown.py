"""Markdown documents as sections by heading, for applying edit plans.

Headings are found by markdown-it-py's CommonMark parser, so a ``#`` line inside a code
fence or an HTML block is never taken for a heading, and setext headings count too.
A document is its preamble (text before the first heading) and a flat list of sections:
each heading with the lines up to the next heading of any level. ``parse(t).render() == t``
for every text; edits touch only the sections they name.

markdown-it-py is the one library the domain uses besides attrs: a pure parser with no I/O,
imported on the first parse (an idle server never needs it).
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Final

import attrs

from domain.errors import PlanRejected

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

__all__ = ["Document", "Section", "normalize_heading", "parse_tables"]


@functools.cache
def _parser() -> MarkdownIt:
    """Block structure only: sections and tables need no inline parsing (half the cost)."""
    from markdown_it import MarkdownIt  # noqa: PLC0415 - loaded on first use

    return MarkdownIt("commonmark").enable("table").disable("inline")


_ATX_MARKS: Final = re.compile(r"^\s{0,3}#{1,6}\s*|\s+#+\s*$")


def normalize_heading(text: str) -> str:
    """A heading's identity: its text without ``#`` marks, trimmed, case-folded, inner
    whitespace collapsed. ``"## Known  Issues "`` and ``"known issues"`` are the same."""
    return " ".join(_ATX_MARKS.sub("", text.strip()).split()).casefold()


@attrs.frozen
class Section:
    """One heading and its body.

    Attributes:
        title: the heading's text (``Known issues``).
        level: 1-6.
        heading: the heading's raw lines, as written (ends with a newline).
        body: the raw lines up to the next heading.
    """

    title: str
    level: int
    heading: str
    body: str

    @property
    def key(self) -> str:
        """:func:`normalize_heading` of the title."""
        return normalize_heading(self.title)


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _blank_line_after(text: str) -> str:
    """``text`` ending with exactly one blank line (or just a newline when empty)."""
    if text.endswith("\n\n"):
        return text
    return (_ensure_newline(text) if text.strip() else "") + "\n"


def _block(content: str) -> str:
    """Content as a block that ends with one newline."""
    return content.strip("\n") + "\n"


@attrs.frozen
class Document:
    """A Markdown document split into sections (see the module docstring)."""

    preamble: str
    sections: tuple[Section, ...]

    @classmethod
    def parse(cls, text: str) -> Document:
        """Split ``text`` at its headings."""
        lines = text.splitlines(keepends=True)
        tokens = _parser().parse(text)
        found: list[tuple[int, int, int, str]] = []
        for index, token in enumerate(tokens):
            if token.type == "heading_open" and token.map is not None and token.level == 0:
                start, end = token.map
                found.append((start, end, int(token.tag[1]), tokens[index + 1].content))
        preamble = "".join(lines[: found[0][0]]) if found else text
        sections = []
        for position, (start, end, level, title) in enumerate(found):
            stop = found[position + 1][0] if position + 1 < len(found) else len(lines)
            sections.append(Section(title, level, "".join(lines[start:end]), "".join(lines[end:stop])))
        return cls(preamble, tuple(sections))

    def render(self) -> str:
        """The document as text."""
        return self.preamble + "".join(s.heading + s.body for s in self.sections)

    def has(self, title: str) -> bool:
        """True when a section has this title (see :func:`normalize_heading`)."""
        return self._find(title) is not None

    def _find(self, title: str) -> int | None:
        key = normalize_heading(title)
        return next((i for i, s in enumerate(self.sections) if s.key == key), None)

    def _index(self, title: str) -> int:
        index = self._find(title)
        if index is None:
            known = ", ".join(repr(s.title) for s in self.sections) or "none"
            raise PlanRejected(f"no section {title!r} (sections: {known})")
        return index

    def _with(self, index: int, body: str) -> Document:
        sections = list(self.sections)
        sections[index] = attrs.evolve(sections[index], body=body)
        return attrs.evolve(self, sections=tuple(sections))

    def replace(self, title: str, content: str) -> Document:
        """Replace a section's body. Raises ``PlanRejected`` for an unknown section."""
        index = self._index(title)
        return self._with(index, "\n" + _block(content) + "\n" if content.strip() else "\n")

    def append(self, title: str, content: str) -> Document:
        """Add ``content`` at the end of a section's body, before any trailing blank lines."""
        index = self._index(title)
        kept = self.sections[index].body.rstrip("\n")
        lead = kept + "\n" if kept.strip() else "\n"
        return self._with(index, lead + _block(content) + "\n")

    def prepend(self, title: str, content: str) -> Document:
        """Add ``content`` at the start of a section's body."""
        index = self._index(title)
        rest = self.sections[index].body.lstrip("\n")
        return self._with(index, "\n" + _block(content) + ("\n" + rest if rest else "\n"))

    def add(self, title: str, content: str, level: int = 2) -> Document:
        """Add a new section at the end. Raises ``PlanRejected`` if it exists or the
        level or title is unusable."""
        if self.has(title):
            raise PlanRejected(f"section {title!r} already exists")
        if not 1 <= level <= 6:
            raise PlanRejected("a section level must be 1-6")
        if not title.strip() or "\n" in title:
            raise PlanRejected("a section title must be one non-empty line")
        body = "\n" + _block(content) + "\n" if content.strip() else "\n"
        preamble = self.preamble
        sections = list(self.sections)
        if sections:
            sections[-1] = attrs.evolve(sections[-1], body=_blank_line_after(sections[-1].body))
        elif preamble.strip():
            preamble = _blank_line_after(preamble)
        sections.append(Section(title.strip(), level, f"{'#' * level} {title.strip()}\n", body))
        return Document(preamble, tuple(sections))

    def delete(self, title: str) -> Document:
        """Remove a section with its body. Raises ``PlanRejected`` for an unknown section."""
        index = self._index(title)
        return attrs.evolve(self, sections=self.sections[:index] + self.sections[index + 1 :])


def parse_tables(text: str) -> list[list[list[str]]]:
    """Every table in ``text`` as rows of cell texts (the header row first)."""
    tables: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in _parser().parse(text):
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content.strip())
        elif token.type == "tr_close" and row is not None:
            tables[-1].append(row)
            row = None
    return tables
