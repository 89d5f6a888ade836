"""Entities of a space: notes, bank files, rules, synthesis and the space's metadata.

Everything here is an immutable attrs class; change one with :func:`attrs.evolve`.
Size limits are module constants so that the docs, the tools and the guards agree.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

import attrs

from domain.errors import InvalidInput, LimitExceeded
from domain.values import AgentName, BankFileName, NoteCategory, SpaceId, check_text

__all__ = [
    "NOTE_MAX_BYTES",
    "NOTE_MAX_CHARS",
    "TAG_MAX",
    "TAGS_MAX",
    "BANK_FILE_MAX_BYTES",
    "RULES_MAX_BYTES",
    "DESCRIPTION_MAX_BYTES",
    "SYNTHESIS_MAX_BYTES",
    "Note",
    "BankFile",
    "SpaceRules",
    "Synthesis",
    "SpaceMeta",
    "utc_stamp",
]

NOTE_STAMP_FORMAT: Final = "%Y%m%dT%H%M%S%fZ"


def utc_stamp(at: datetime) -> str:
    """``at`` in UTC as ``YYYYmmddTHHMMSSffffffZ`` (:data:`NOTE_STAMP_FORMAT`): the
    stamp that begins note, journal and index keys, so that they sort by time."""
    return at.astimezone(UTC).strftime(NOTE_STAMP_FORMAT)


NOTE_MAX_CHARS: Final = 100_000
NOTE_MAX_BYTES: Final = 4 * NOTE_MAX_CHARS  # UTF-8 takes at most 4 bytes a character
TAG_MAX: Final = 40
TAGS_MAX: Final = 16
BANK_FILE_MAX_BYTES: Final = 256 * 1024
RULES_MAX_BYTES: Final = 64 * 1024
DESCRIPTION_MAX_BYTES: Final = 2 * 1024
SYNTHESIS_MAX_BYTES: Final = 64 * 1024

_TAG_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,39}")
_NOTE_ID_RE: Final = re.compile(r"[0-9a-f]{8,32}")


def _aware(_i: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{attribute.name} must be a timezone-aware datetime")


def _tags(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInput("tags must be a list of strings")
    if len(value) > TAGS_MAX:
        raise InvalidInput(f"at most {TAGS_MAX} tags")
    for tag in value:
        if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
            raise InvalidInput(
                f"invalid tag {str(tag)[:40]!r}: 1-{TAG_MAX} letters, digits and ._:/- starting alphanumeric"
            )
    return tuple(dict.fromkeys(value))


def _note_content(_i: object, _a: object, value: str) -> None:
    check_text(value, "note content", NOTE_MAX_BYTES)
    if len(value) > NOTE_MAX_CHARS:
        raise LimitExceeded(f"note content is {len(value)} characters, over the limit of {NOTE_MAX_CHARS}")


def _note_id(_i: object, _a: object, value: str) -> None:
    if not isinstance(value, str) or not _NOTE_ID_RE.fullmatch(value):
        raise InvalidInput("note id must be 8-32 lowercase hex digits")


@attrs.frozen
class Note:
    """One note an agent wrote to a space's live log. Notes are never edited: a note is
    written once and later consumed (deleted) by a consolidation that carried it into the bank.

    Attributes:
        space_id: the space the note belongs to.
        note_id: 8-32 lowercase hex digits, unique within the space.
        agent: the writer's name (the token's name).
        category: one of the seven :class:`NoteCategory` values.
        content: the text, 1 to 100,000 characters, no control characters but tab and newlines.
        created_at: timezone-aware time of writing (server clock).
        tags: up to 16 short tags, duplicates removed, order kept.

    Raises:
        InvalidInput: when any attribute breaks those rules.
    """

    space_id: SpaceId
    note_id: str = attrs.field(validator=_note_id)
    agent: AgentName
    category: NoteCategory
    content: str = attrs.field(validator=_note_content)
    created_at: datetime = attrs.field(validator=_aware)
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)

    @property
    def file_name(self) -> str:
        """The note's object name in the space's ``live/`` folder:
        ``{YYYYmmddTHHMMSSffffffZ}_{agent}_{category}_{id}.md`` (UTC), which sorts by time."""
        stamp = utc_stamp(self.created_at)
        return f"{stamp}_{self.agent}_{self.category.value}_{self.note_id}.md"


def _bank_content(_i: object, _a: object, value: str) -> None:
    check_text(value, "bank file content", BANK_FILE_MAX_BYTES, allow_empty=True)


@attrs.frozen
class BankFile:
    """One Markdown file of a space's memory bank.

    Attributes:
        name: the file's name relative to ``bank/``.
        content: Markdown text, at most 256 KiB of UTF-8.

    Raises:
        InvalidInput, LimitExceeded: for content that breaks those rules.
    """

    name: BankFileName
    content: str = attrs.field(validator=_bank_content)

    @property
    def size(self) -> int:
        """The content's size in UTF-8 bytes."""
        return len(self.content.encode("utf-8"))


_RULE_FILE_RE: Final = re.compile(r"^#{2,3}[ \t]+`?([^`\s][^`\n]*?\.md)`?[ \t]*$", re.MULTILINE)

DEFAULT_RULES: Final = """# Memory bank rules

This space holds the shared working memory of a team of agents. Keep each file focused
on its role and never invent facts that no note states.

## projectContext.md
What the work is about: goals, scope, people, and the constraints that do not change often.

## decisions.md
One entry per decision: date, what was decided, why, and who decided. Append-only.

## activeContext.md
What is being worked on now: recent changes, open questions and next steps. Keep it short.

## progress.md
What is done, what is left, and known issues, as a dated log.
"""


def _rules_text(_i: object, _a: object, value: str) -> None:
    check_text(value, "rules", RULES_MAX_BYTES)


@attrs.frozen
class SpaceRules:
    """The space's rules: Markdown text that names the bank files and their roles.

    A bank file is declared by a level-2 or level-3 heading whose text is a file name
    ending in ``.md`` (``## progress.md``); the paragraph below it is the file's role.
    Rules are fixed when the space is created.

    Raises:
        InvalidInput: empty text, text over 64 KiB, or a declared file name that is not
            a legal :class:`BankFileName`.
    """

    text: str = attrs.field(validator=_rules_text)

    def __attrs_post_init__(self) -> None:
        self.file_names()  # validates every declared name once, at construction

    @classmethod
    def default(cls) -> SpaceRules:
        """The rules a space gets when created with empty rules text."""
        return cls(DEFAULT_RULES)

    @classmethod
    def given(cls, text: object) -> tuple[SpaceRules, tuple[BankFileName, ...]]:
        """The rules a caller's text makes, and the default bank files added to it: empty
        text gets :data:`DEFAULT_RULES`; text that declares no bank file (the public
        live-memory server accepts any rules) keeps its words, followed by the default
        files' declarations, which are returned so the caller can be told.

        Raises:
            InvalidInput: as the constructor.
        """
        if not isinstance(text, str) or not text.strip():
            default = cls.default()
            return default, ()
        rules = cls(text)
        if rules.file_names():
            return rules, ()
        layout = DEFAULT_RULES[DEFAULT_RULES.index("\n## ") :]
        completed = cls(text.rstrip() + "\n\n# Bank files (default layout)\n" + layout)
        return completed, completed.file_names()

    def file_names(self) -> tuple[BankFileName, ...]:
        """The bank files the rules declare, in order of appearance, without duplicates."""
        names = dict.fromkeys(m.group(1).strip() for m in _RULE_FILE_RE.finditer(self.text))
        return tuple(BankFileName(n) for n in names)

    def file_roles(self) -> dict[BankFileName, str]:
        """Each declared file with the text of its section (its role), stripped."""
        matches = list(_RULE_FILE_RE.finditer(self.text))
        roles: dict[BankFileName, str] = {}
        for index, match in enumerate(matches):
            end = matches[index + 1].start() if index + 1 < len(matches) else len(self.text)
            body = self.text[match.end() : end]
            body = re.split(r"^#{1,3}[ \t]", body, maxsplit=1, flags=re.MULTILINE)[0]
            roles.setdefault(BankFileName(match.group(1).strip()), body.strip())
        return roles


def _synthesis_text(_i: object, _a: object, value: str) -> None:
    check_text(value, "synthesis", SYNTHESIS_MAX_BYTES, allow_empty=True)


@attrs.frozen
class Synthesis:
    """What the last consolidation carried forward for the next one (free Markdown)."""

    text: str = attrs.field(default="", validator=_synthesis_text)


def _description(_i: object, _a: object, value: str) -> None:
    check_text(value, "description", DESCRIPTION_MAX_BYTES, allow_empty=True)


@attrs.frozen
class SpaceMeta:
    """A space's metadata, kept in ``{space}/_meta.json``.

    Attributes:
        space_id: the space.
        description: free text, at most 2 KiB.
        owner: the agent that created the space.
        created_at: timezone-aware creation time.
        consolidations: how many consolidations committed.
        last_consolidation_at: when the last one committed, if any.
        last_run_id: the journal id of the last committed batch (makes a replayed
            commit idempotent).
        generation: the id of this incarnation of the space, new at each creation (a
            space deleted and created again under the same id is another incarnation);
            backups record it, so they are never handed to a later incarnation. A
            restore into the id a backup came from brings that incarnation back. ``""``
            for spaces created before incarnations were recorded.
    """

    space_id: SpaceId
    description: str = attrs.field(validator=_description)
    owner: AgentName
    created_at: datetime = attrs.field(validator=_aware)
    consolidations: int = 0
    last_consolidation_at: datetime | None = None
    last_run_id: str | None = None
    generation: str = ""
