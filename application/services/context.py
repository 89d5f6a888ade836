"""The start-of-task context: what an agent should load before it works, in one call and
within a token budget.

In this order, each part cut to what is left of the budget: the space's rules in one
line per bank file, the active file (activeContext.md), the open work items with the
caller's own claims, and the bank sections, archive entries and live notes that
``memory_search`` ranks highest for the task. Every part that had to leave something out
says how much and which tool reads the rest. Tokens are estimated as UTF-8 bytes / 4
(:func:`domain.consolidation.estimate_tokens`, the bank budget's estimator); the whole
text never exceeds the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

import attrs

from application.access import require_space_access
from application.ports import BankRepository, SpaceRepository
from application.services.search import SearchService
from application.work.service import WorkService
from domain import Identity, InvalidInput, NotFound, Permission
from domain.consolidation import estimate_tokens
from domain.consolidation.views import file_kind
from domain.work import ordered_open

__all__ = ["BUDGET_DEFAULT", "BUDGET_MAX", "BUDGET_MIN", "ContextPart", "TaskContext", "TaskContextService"]

BUDGET_DEFAULT: Final = 4000
BUDGET_MIN: Final = 200
BUDGET_MAX: Final = 32_000
SEARCH_HITS: Final = 12
_SHARES: Final = (0.10, 0.35, 0.20, 1.0)
"""Of the budget, at most: rules, active file, work items, search hits; what a part
leaves unused passes to the next."""


@attrs.frozen
class ContextPart:
    """One part: its title, its Markdown (header included), its estimated tokens and
    what it left out (empty when nothing)."""

    title: str
    text: str
    tokens: int
    omitted: str = ""


@attrs.frozen
class TaskContext:
    """The parts in order, their total tokens and the budget."""

    space_id: str
    parts: tuple[ContextPart, ...]
    budget: int

    @property
    def tokens(self) -> int:
        """The estimated tokens of :attr:`text` (at most the budget: each part was fitted
        to its room, and the whole estimates no more than its parts)."""
        return estimate_tokens(self.text)

    @property
    def text(self) -> str:
        """Every part, in order."""
        return "".join(p.text for p in self.parts)


def fit(title: str, lines: Sequence[str], allowed: int, more: Callable[[int], str]) -> ContextPart:
    """``## title`` and as many of ``lines`` as fit ``allowed`` tokens, in order; when
    some do not fit, ``more(n)`` (n: how many were left out) ends the part, its room kept
    free. A part that cannot hold even its header is empty."""
    header = f"## {title}\n\n"
    if estimate_tokens(header + "\n") > allowed:
        return ContextPart(title, "", 0, more(len(lines)) if lines else "")
    kept: list[str] = []
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1
        tail = [more(rest)] if rest else []
        candidate = header + "\n".join([*kept, line, *tail]) + "\n\n"
        if estimate_tokens(candidate) > allowed:
            break
        kept.append(line)
    omitted = more(len(lines) - len(kept)) if len(kept) < len(lines) else ""
    body = [*kept, omitted] if omitted else kept
    text = header + "\n".join(body) + "\n\n"
    if estimate_tokens(text) > allowed:  # not even the omission line fits after the header
        return ContextPart(title, "", 0, omitted)
    return ContextPart(title, text, estimate_tokens(text), omitted)


@attrs.define(eq=False)
class TaskContextService:
    """Assembles the start-of-task context (module docstring)."""

    _spaces: SpaceRepository = attrs.field(kw_only=True)
    _bank: BankRepository = attrs.field(kw_only=True)
    _work: WorkService = attrs.field(kw_only=True)
    _search: SearchService = attrs.field(kw_only=True)

    async def start(
        self, caller: Identity, space_id: str, task: str = "", budget_tokens: int = BUDGET_DEFAULT
    ) -> TaskContext:
        """The context for a task in ``space_id`` (read), within ``budget_tokens``.

        Raises:
            PermissionDenied, NotFound (no such space), InvalidInput (a budget outside
            200-32,000, a task over 2,000 characters).
        """
        space = require_space_access(caller, Permission.READ, space_id)
        budget = budget_tokens
        if isinstance(budget, bool) or not isinstance(budget, int) or not BUDGET_MIN <= budget <= BUDGET_MAX:
            raise InvalidInput(f"budget_tokens must be a whole number from {BUDGET_MIN} to {BUDGET_MAX}")
        if not isinstance(task, str) or len(task) > 2000:
            raise InvalidInput("task must be text of at most 2,000 characters")
        await self._spaces.get(space)
        rules = await self._spaces.rules(space)
        roles = rules.file_roles()
        rule_lines = [f"- `{name}`: {_first_sentence(role)}" for name, role in roles.items()]
        active_name = next((n for n, r in roles.items() if file_kind(n, r) == "active"), None)
        active_lines: list[str] = []
        if active_name is not None:
            try:
                content = (await self._bank.get(space, active_name)).content
                lines = [line for line in content.splitlines() if not line.startswith("# ")]
                active_lines = "\n".join(lines).strip("\n").splitlines()
            except NotFound:
                active_lines = []
        claims = await self._work.live_claims(space)  # listed once: the items' and the caller's
        mine = [c for c in claims if c.holder == caller.name]
        open_items = ordered_open(await self._work.all_items(space))
        holders = {c.item_id: c.holder for c in claims if c.item_id}
        item_lines = [f"- yours: `{c.resource}` until {c.until.isoformat(timespec='minutes')}" for c in mine]
        item_lines += [
            f"- {i.category.value} `{i.item_id}` by {i.agent}: {i.title}"
            + (f" (claimed by {holders[i.item_id]})" if i.item_id in holders else "")
            for i in open_items
        ]
        hit_lines: list[str] = []
        if task.strip():
            found = await self._search.search(caller, space_id, task, scope="all", limit=SEARCH_HITS)
            hit_lines = [
                f"- [{h.doc.kind.value} `{h.doc.ref}`] {' '.join(h.snippet.split())}" for h in found.hits
            ]
        active_lines = active_lines or [
            f"- {active_name or 'no active file'}: nothing yet (no consolidation)."
        ]
        item_lines = item_lines or ["- none open, and you hold no claim."]
        if task.strip() and not hit_lines:
            hit_lines = ["- nothing in the notes, bank or archive matches the task's words."]
        parts: list[ContextPart] = []
        remaining, carry = budget, 0
        plan = [
            ("Rules", rule_lines, lambda n: f"- … {n} more files: space_rules gives the rules in full."),
            (
                str(active_name or "Active context"),
                active_lines,
                lambda n: f"- … {n} more lines: bank_read({space_id}, {active_name}) reads the whole file.",
            ),
            (
                "Open work items and your claims",
                item_lines,
                lambda n: f"- … {n} more: work_items lists them.",
            ),
            (
                "Relevant to the task" if task.strip() else "Relevant to the task (no task given)",
                hit_lines,
                lambda n: f"- … {n} more hits: memory_search(query=the task) ranks them.",
            ),
        ]
        for (title, lines, more), share in zip(plan, _SHARES, strict=True):
            allowed = min(remaining, int(share * budget) + carry)
            part = fit(title, lines, allowed, more)
            parts.append(part)
            remaining -= part.tokens
            carry = allowed - part.tokens
        return TaskContext(space.value, tuple(parts), budget)


def _first_sentence(role: str) -> str:
    flat = " ".join(role.split())
    end = flat.find(". ")
    sentence = flat[: end + 1] if end >= 0 else flat
    return sentence if len(sentence) <= 160 else sentence[:159] + "…"
