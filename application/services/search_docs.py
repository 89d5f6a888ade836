"""The search documents a space's memory is cut into: one per live note, one per bank
section (``file#heading``), one per archive entry."""

from __future__ import annotations

from application.search_ports import DocKind, SearchDoc
from domain import BankFileName, Note, SpaceId
from domain.consolidation import Document
from domain.consolidation.archive import is_archive_name, read_archive

__all__ = ["file_docs", "lead", "note_doc"]


def note_doc(note: Note) -> SearchDoc:
    """A live note as a document; its tags and author are keywords."""
    return SearchDoc(
        doc_id=f"note:{note.note_id}",
        kind=DocKind.NOTE,
        ref=note.note_id,
        text=note.content,
        agent=note.agent.value,
        category=note.category.value,
        timestamp=note.created_at,
        keywords=" ".join((*note.tags, note.agent.value)),
    )


def file_docs(space_id: SpaceId, name: BankFileName, text: str) -> list[SearchDoc]:
    """A bank file's documents: one per section (``file#heading``), or for an archive
    file one per entry (a note's entry is ``file#note_id``, with its author, category
    and time)."""
    if is_archive_name(name):
        docs = []
        for index, entry in enumerate(read_archive(space_id, text)):
            heading, body, note = entry.heading, entry.text, entry.note
            docs.append(
                SearchDoc(
                    doc_id=f"archive:{note.note_id}" if note else f"archive:{name}#{index}",
                    kind=DocKind.ARCHIVE,
                    ref=f"{name}#{note.note_id if note else heading}",
                    text=body,
                    agent=note.agent.value if note else "",
                    category=note.category.value if note else "",
                    timestamp=note.created_at if note else None,
                    group=name.value,
                    keywords=" ".join((*note.tags, note.agent.value)) if note else "",
                )
            )
        return docs
    document = Document.parse(text)
    sections = [("", document.preamble), *((s.title, s.heading + s.body) for s in document.sections)]
    return [
        SearchDoc(
            doc_id=f"bank:{name}#{index}",
            kind=DocKind.BANK,
            ref=f"{name}#{title}" if title else name.value,
            text=body.strip(),
            group=name.value,
        )
        for index, (title, body) in enumerate(sections)
        if body.strip() and title.casefold() != "archive"
    ]


def lead(text: str, width: int = 200) -> str:
    """``text`` on one line, cut at a word to ``width`` characters (`` …`` marks a cut)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width].rsplit(" ", 1)[0] + " …"
