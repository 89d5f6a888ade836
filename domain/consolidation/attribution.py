"""Attribution of what a model writes: the checkable claims of a text (URLs, numbers,
dates, ticket references, code identifiers) must each occur in the sources the model
was given (the batch's notes with their times and authors, the synthesis, the bank as
it was). A claim found in none of them was invented, or injected, and the plan that
carries it is refused.

The check is deliberately lexical and conservative: prose may be reworded freely, but a
URL, a figure or an identifier is either copied from a source or it is not. The same
idea as the public live-memory server's "unattributed claims" check.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

__all__ = ["Sources", "claims", "unattributed"]

_URL: Final = re.compile(r"https?://[^\s<>()\[\]\"'`]+", re.IGNORECASE)
_DATE: Final = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_NUMBER: Final = re.compile(r"(?<![\w.])#?\d[\d,.]*\d(?![\w])|(?<![\w.])#\d\b")
_DOTTED: Final = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+\b")
_SNAKE: Final = re.compile(r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b")
_CAMEL: Final = re.compile(r"\b[a-z]+[A-Z][A-Za-z0-9]*\b|\b[A-Z][a-z0-9]+[A-Z][A-Za-z0-9]*\b")
_TRAILING: Final = ".,;:!?"


def claims(text: str) -> set[str]:
    """The checkable claims of ``text``: URLs (without trailing punctuation), ISO dates,
    numbers of two digits or more and ``#N`` references, and dotted, snake_case and
    camelCase identifiers."""
    found = {m.rstrip(_TRAILING) for m in _URL.findall(text)}
    rest = _URL.sub(" ", text)
    found.update(_DATE.findall(rest))
    rest = _DATE.sub(" ", rest)
    found.update(m.rstrip(_TRAILING) for m in _NUMBER.findall(rest))
    for pattern in (_DOTTED, _SNAKE, _CAMEL):
        found.update(pattern.findall(rest))
    return {c for c in found if c}


class Sources:
    """What a model was given, read once to check any number of texts against it.

    Args:
        texts: the notes, synthesis, rules and bank the model saw.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        corpus = "\n".join(texts)
        self._known = claims(corpus)
        self._folded = corpus.casefold()

    def unattributed(self, written: str) -> list[str]:
        """The claims of ``written`` that occur in no source, sorted. A claim counts as
        found when it is one of the sources' claims or appears in their text as it is
        (case-insensitive): a date written ``2026-03-02`` is found in a source that
        holds ``2026-03-02T09:00:00+00:00``."""
        return sorted(c for c in claims(written) if c not in self._known and c.casefold() not in self._folded)


def unattributed(written: str, sources: Iterable[str]) -> list[str]:
    """:meth:`Sources.unattributed` for one text."""
    return Sources(sources).unattributed(written)
