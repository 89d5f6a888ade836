"""Which notes go into one consolidation batch: packing by estimated tokens, not by a
fixed count, leaving room for the rules, the synthesis, the bank files the batch needs
and the model's answer."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

import attrs

__all__ = ["BYTES_PER_TOKEN", "Budget", "estimate_tokens", "pack_batches", "tokens_for_bytes"]

T = TypeVar("T")
K = TypeVar("K")

BYTES_PER_TOKEN: Final = 4
"""OpenAI's rule of thumb for English text: about four characters per token
("What are tokens and how to count them?", OpenAI help center). An estimate, used the
same way for every mode and for the benchmark's baseline."""


def estimate_tokens(text: str) -> int:
    """Estimated tokens of ``text``: UTF-8 bytes / 4, rounded up."""
    return tokens_for_bytes(len(text.encode("utf-8")))


def tokens_for_bytes(size: int) -> int:
    """Estimated tokens of ``size`` bytes of UTF-8 text (the estimator of
    :func:`estimate_tokens`, for a size known from a listing)."""
    return math.ceil(size / BYTES_PER_TOKEN)


@attrs.frozen
class Budget:
    """Token budget of one model call.

    Attributes:
        context_tokens: the model's context window.
        answer_tokens: reserved for the answer (``LLMAAS_MAX_TOKENS``).
        fixed_tokens: instructions, rules and synthesis, sent with every batch.
        max_notes: a hard cap on notes per batch, whatever their size.
    """

    context_tokens: int
    answer_tokens: int
    fixed_tokens: int
    max_notes: int = 200

    @property
    def available(self) -> int:
        """Tokens left for notes and the bank files they need (at least 1)."""
        return max(1, self.context_tokens - self.answer_tokens - self.fixed_tokens)


def pack_batches(
    items: Sequence[T],
    budget: Budget,
    *,
    item_tokens: Callable[[T], int],
    needs: Callable[[T], K],
    need_tokens: Callable[[K], int],
) -> list[list[T]]:
    """Split ``items`` (kept in order) into batches whose estimated tokens fit ``budget``:
    each item costs its own tokens plus, the first time a batch needs it, the tokens of
    the thing it needs (its target bank file). A batch holds at least one item, so an
    item larger than the budget travels alone.

    Returns:
        The batches, in order; empty for no items.
    """
    batches: list[list[T]] = []
    current: list[T] = []
    used = 0
    included: set[K] = set()
    for item in items:
        need = needs(item)
        cost = item_tokens(item) + (0 if need in included else need_tokens(need))
        if current and (used + cost > budget.available or len(current) >= budget.max_notes):
            batches.append(current)
            current, used, included = [], 0, set()
            cost = item_tokens(item) + need_tokens(need)
        current.append(item)
        included.add(need)
        used += cost
    if current:
        batches.append(current)
    return batches
