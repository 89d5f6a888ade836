"""Codecs: domain objects to and from the bytes kept in the object store.

One cattrs converter (JSON flavour) with its hooks registered once; structuring uses
``forbid_extra_keys=True`` because stored objects may have been edited by hand.
Notes are Markdown with a YAML front-matter block (PyYAML ``safe_*`` only).
Every decoding failure is raised as :class:`application.store.CorruptObject`.
"""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import Any, Final, TypeVar

import cattrs
import yaml
from cattrs.gen import make_dict_structure_fn
from cattrs.preconf.json import make_converter

from application.consolidation.ports import JobState
from application.consolidation.report import ConsolidationReport
from application.store import CorruptObject
from domain import (
    AgentName,
    BankFileName,
    DomainError,
    Note,
    NoteCategory,
    Permission,
    SpaceId,
    SpaceMeta,
    TokenRecord,
)
from domain.consolidation import JournalState, OpKind
from domain.work import ItemState

__all__ = [
    "converter",
    "split_front_matter",
    "encode_json",
    "decode_json",
    "encode_note",
    "decode_note",
    "encode_meta",
    "decode_meta",
    "encode_tokens",
    "decode_tokens",
]

T = TypeVar("T")
_FENCE: Final = "---\n"
_SAFE_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it (its wheels are), else the pure one."""
_SAFE_DUMPER: Final = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's emitter likewise (a note's front matter in ~40 µs instead of ~240): the same
YAML but for characters outside the Basic Multilingual Plane, which it writes as
backslash-U escapes; both read back to the same note."""


def _enum_value(value: enum.StrEnum) -> str:
    return value.value


def _build_converter() -> cattrs.Converter:
    conv = make_converter(forbid_extra_keys=True)
    for cls in (SpaceId, AgentName, BankFileName):
        conv.register_unstructure_hook(cls, lambda v: v.value)
        conv.register_structure_hook(cls, lambda v, t: t(v))
    conv.register_unstructure_hook(datetime, lambda v: v.isoformat())
    conv.register_structure_hook(datetime, lambda v, _t: datetime.fromisoformat(v))
    for string_enum in (NoteCategory, OpKind, JournalState, JobState, ItemState):
        conv.register_unstructure_hook(string_enum, _enum_value)
    conv.register_structure_hook(NoteCategory, lambda v, _t: NoteCategory.parse(v))
    conv.register_unstructure_hook(Permission, lambda v: v.label)
    conv.register_structure_hook(Permission, lambda v, _t: Permission.parse(v))
    # a job's report says what its run did; a newer server may say more, which an older
    # replica reading the job skips rather than calling the record corrupt
    conv.register_structure_hook(
        ConsolidationReport,
        make_dict_structure_fn(ConsolidationReport, conv, _cattrs_forbid_extra_keys=False),
    )
    return conv


converter: Final = _build_converter()


def encode_json(value: Any) -> bytes:
    """Unstructure ``value`` and dump it as indented UTF-8 JSON (readable by people)."""
    return (json.dumps(converter.unstructure(value), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def decode_json(data: bytes, cls: type[T], what: str) -> T:
    """Parse JSON bytes into ``cls``. Raises ``CorruptObject`` naming ``what``."""
    try:
        value: T = converter.structure(json.loads(data.decode("utf-8")), cls)
    except (ValueError, TypeError, KeyError, cattrs.BaseValidationError, DomainError) as exc:
        raise CorruptObject(f"{what} is not valid: {_describe(exc)}") from exc
    return value


def _describe(exc: Exception) -> str:
    if isinstance(exc, cattrs.BaseValidationError):
        return "; ".join(cattrs.transform_error(exc))
    return str(exc)[:200]


def encode_note(note: Note) -> bytes:
    """A note as Markdown: YAML front-matter (everything but the content), then the
    content byte for byte."""
    header: dict[str, Any] = converter.unstructure(note)
    content: str = header.pop("content")
    header["tags"] = list(header["tags"])
    front = yaml.dump(header, Dumper=_SAFE_DUMPER, sort_keys=False, allow_unicode=True)
    return (_FENCE + front + _FENCE + content).encode("utf-8")


FRONT_MATTER_MAX: Final = 64 * 1024
"""The largest front-matter block read (a note's is a few hundred bytes)."""


def split_front_matter(text: str) -> tuple[Any, str]:
    """A Markdown text's YAML front-matter block (``---`` lines), loaded with PyYAML's
    safe loader, and the text after it. A block over ``FRONT_MATTER_MAX`` characters, or
    one with YAML anchors or aliases, is refused before it is loaded: the safe loader
    still expands aliases, so a few hundred bytes of nested aliases ("billion laughs")
    would take gigabytes.

    Raises:
        ValueError: no front-matter, an unterminated or oversized one, anchors or
            aliases; ``yaml.YAMLError``.
    """
    if not text.startswith(_FENCE):
        raise ValueError("no front-matter")
    end = text.find("\n" + _FENCE, len(_FENCE) - 1)
    if end < 0:
        raise ValueError("unterminated front-matter")
    block = text[len(_FENCE) : end + 1]
    if len(block) > FRONT_MATTER_MAX:
        raise ValueError(f"front-matter over {FRONT_MATTER_MAX} characters")
    if ("&" in block or "*" in block) and any(
        isinstance(token, yaml.AnchorToken | yaml.AliasToken)
        for token in yaml.scan(block, Loader=_SAFE_LOADER)
    ):
        raise ValueError("front-matter with YAML anchors or aliases")
    header = yaml.load(block, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader
    return header, text[end + 1 + len(_FENCE) :]


def decode_note(data: bytes, what: str = "note") -> Note:
    """Parse what :func:`encode_note` wrote. Raises ``CorruptObject``."""
    try:
        header, content = split_front_matter(data.decode("utf-8"))
        if not isinstance(header, dict):
            raise TypeError("front-matter is not a mapping")
        header["content"] = content
        note: Note = converter.structure(header, Note)
    except (ValueError, TypeError, KeyError, yaml.YAMLError, cattrs.BaseValidationError, DomainError) as exc:
        raise CorruptObject(f"{what} is not valid: {_describe(exc)}") from exc
    return note


def encode_meta(meta: SpaceMeta) -> bytes:
    """``_meta.json`` bytes."""
    return encode_json(meta)


def decode_meta(data: bytes) -> SpaceMeta:
    """Parse ``_meta.json``. Raises ``CorruptObject``."""
    return decode_json(data, SpaceMeta, "space metadata")


def encode_tokens(records: list[TokenRecord]) -> bytes:
    """``_system/tokens.json`` bytes: ``{"version": 1, "tokens": [...]}``."""
    return encode_json({"version": 1, "tokens": converter.unstructure(records, list[TokenRecord])})


def decode_tokens(data: bytes) -> list[TokenRecord]:
    """Parse ``_system/tokens.json``: live-mem's, or the public live-memory server's
    (entries with ``hash``, converted as ``live-mem migrate`` would, so that a server
    started on that server's bucket accepts its tokens). Raises ``CorruptObject``."""
    try:
        raw = json.loads(data.decode("utf-8"))
        if not isinstance(raw, dict) or raw.get("version") != 1:
            raise ValueError("unknown tokens.json version")
        from infrastructure.migration import convert_tokens  # noqa: PLC0415 - it imports this module

        public = convert_tokens(data)
        if public is not None:
            return public
        records: list[TokenRecord] = converter.structure(raw["tokens"], list[TokenRecord])
    except (ValueError, TypeError, KeyError, cattrs.BaseValidationError, DomainError) as exc:
        raise CorruptObject(f"token file is not valid: {_describe(exc)}") from exc
    return records
