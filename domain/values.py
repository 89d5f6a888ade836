"""Small value objects with their invariants: identifiers, categories, permissions.

All are immutable; constructing one with an illegal value raises
:class:`domain.errors.InvalidInput` with a message fit for the caller.
"""

from __future__ import annotations

import enum
import re
from typing import Final

import attrs

from domain.errors import InvalidInput, LimitExceeded

__all__ = [
    "SPACE_ID_MAX",
    "AGENT_NAME_MAX",
    "BANK_FILE_NAME_MAX",
    "SpaceId",
    "AgentName",
    "NoteCategory",
    "BankFileName",
    "Permission",
    "check_text",
]

SPACE_ID_MAX: Final = 64
AGENT_NAME_MAX: Final = 64
BANK_FILE_NAME_MAX: Final = 128

_SPACE_ID_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,63})")
_AGENT_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Unicode general categories Cc (U+0000-001F, U+007F-009F) and Cs (surrogates), except
# tab, newline and carriage return: one regex scan instead of a per-character lookup.
_FORBIDDEN_CHARS: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FILE_SEGMENT_RE: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9 ._()+,=@-]*")


def _check_id(value: object, pattern: re.Pattern[str], what: str, rule: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    if not pattern.fullmatch(value):
        raise InvalidInput(f"invalid {what} {value[:80]!r}: {rule}")
    return value


@attrs.frozen(order=True)
class SpaceId:
    """A space's identifier: 1-64 characters, lowercase ASCII letters, digits and ``-``,
    starting with a letter or digit. It is the first segment of every key of the space.

    Raises:
        InvalidInput: for any other value.
    """

    value: str = attrs.field(
        validator=lambda _i, _a, v: _check_id(
            v, _SPACE_ID_RE, "space id", "use 1-64 lowercase letters, digits and '-', not starting with '-'"
        )
    )

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True)
class AgentName:
    """An agent's name (also a token's name): 1-64 ASCII letters, digits, ``.``, ``_``
    and ``-``, starting with a letter or digit. It appears in note keys.

    Raises:
        InvalidInput: for any other value.
    """

    value: str = attrs.field(
        validator=lambda _i, _a, v: _check_id(
            v,
            _AGENT_RE,
            "agent name",
            "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    )

    def __str__(self) -> str:
        return self.value


class NoteCategory(enum.StrEnum):
    """The seven kinds of note an agent may write."""

    OBSERVATION = "observation"
    DECISION = "decision"
    TODO = "todo"
    INSIGHT = "insight"
    QUESTION = "question"
    PROGRESS = "progress"
    ISSUE = "issue"

    @classmethod
    def parse(cls, value: object) -> NoteCategory:
        """Return the category named by ``value`` (case-insensitive).

        Raises:
            InvalidInput: when ``value`` names none of the seven categories.
        """
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        allowed = ", ".join(c.value for c in cls)
        raise InvalidInput(f"invalid note category {str(value)[:40]!r}: use one of {allowed}")


def _check_file_name(_i: object, _a: object, value: str) -> None:
    if not isinstance(value, str):
        raise InvalidInput("bank file name must be a string")
    shown = value[:80]
    if not value or len(value) > BANK_FILE_NAME_MAX:
        raise InvalidInput(f"invalid bank file name {shown!r}: 1-{BANK_FILE_NAME_MAX} characters")
    if not value.endswith(".md"):
        raise InvalidInput(f"invalid bank file name {shown!r}: must end in .md")
    if value.startswith("/") or "\\" in value:
        raise InvalidInput(f"invalid bank file name {shown!r}: must be a relative path with '/' separators")
    for segment in value.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidInput(f"invalid bank file name {shown!r}: empty, '.' or '..' path segment")
        if not _FILE_SEGMENT_RE.fullmatch(segment):
            raise InvalidInput(
                f"invalid bank file name {shown!r}: segments use letters, digits, space and ._()+,=@- only"
            )
    if value.count("/") > 3:
        raise InvalidInput(f"invalid bank file name {shown!r}: at most 3 folders deep")


@attrs.frozen(order=True)
class BankFileName:
    """A bank file's name relative to the space's ``bank/`` folder, e.g. ``progress.md``
    or ``notes/api.md``: ends in ``.md``, at most 128 characters, no absolute path, no
    ``..``, no control or HTML-special characters (``< > & " '``), at most 3 folders.

    Raises:
        InvalidInput: for any other value.
    """

    value: str = attrs.field(validator=_check_file_name)

    def __str__(self) -> str:
        return self.value


class Permission(enum.IntEnum):
    """The permission ladder: each level includes every level below it."""

    READ = 1
    WRITE = 2
    MANAGE = 3
    ADMIN = 4

    @classmethod
    def parse(cls, value: object) -> Permission:
        """Return the permission named ``value`` (``read``, ``write``, ``manage``, ``admin``).

        Raises:
            InvalidInput: for any other value.
        """
        if isinstance(value, str) and value.strip().upper() in cls.__members__:
            return cls[value.strip().upper()]
        raise InvalidInput(f"invalid permission {str(value)[:40]!r}: use read, write, manage or admin")

    @property
    def label(self) -> str:
        """The lowercase name used on the wire and in token records."""
        return self.name.lower()


def check_text(value: object, what: str, max_bytes: int, *, allow_empty: bool = False) -> str:
    """Validate free text: a string of at most ``max_bytes`` UTF-8 bytes with no control
    characters other than tab, newline and carriage return.

    Returns:
        The text unchanged.

    Raises:
        InvalidInput: not a string, empty (unless ``allow_empty``), or holding control characters.
        LimitExceeded: longer than ``max_bytes`` bytes.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string")
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{what} must not be empty")
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise LimitExceeded(f"{what} is {size} bytes; the limit is {max_bytes} bytes")
    bad = _FORBIDDEN_CHARS.search(value)
    if bad is not None:
        raise InvalidInput(f"{what} contains a control character (U+{ord(bad.group()):04X})")
    return value
