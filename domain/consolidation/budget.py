"""Token budgets of the hot memory bank: what ``bank_read_all`` hands an agent.

The space has a budget (``BANK_BUDGET_TOKENS``, 8,000 by default) shared among the files
its rules declare. The rules may set per-file budgets with a table in a section whose
title contains "budget"::

    ## Budgets
    | file | tokens |
    |---|---|
    | activeContext.md | 600 |

Files the table leaves out share what remains of the space budget: a file whose role
says "at most about N lines" gets ``N * TOKENS_PER_LINE`` tokens (capped by an equal
share), and the others split the rest equally. Tokens are estimated everywhere by
:func:`domain.consolidation.batching.estimate_tokens` (UTF-8 bytes / 4).

:func:`check_rules` validates the rules' tables when a space is created, so a table that
names an undeclared file is refused then, never discovered by a failing consolidation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from domain.consolidation.markdown import Document, normalize_heading, parse_tables
from domain.consolidation.router import RoutingTable
from domain.errors import InvalidInput
from domain.model import SpaceRules
from domain.values import BankFileName

__all__ = [
    "ARCHIVE_FOLDER",
    "DEFAULT_BANK_BUDGET_TOKENS",
    "MIN_FILE_BUDGET_TOKENS",
    "RULES_MAX_FILES",
    "TOKENS_PER_LINE",
    "check_rules",
    "file_budgets",
]

DEFAULT_BANK_BUDGET_TOKENS: Final = 8000
MIN_FILE_BUDGET_TOKENS: Final = 100
TOKENS_PER_LINE: Final = 16
"""A bank line is about 60 bytes: a dated one-line entry of the extractive mode."""
ARCHIVE_FOLDER: Final = "archive"
"""Bank files under ``archive/`` form the archive; rules may not declare files there."""

_LINES_RE: Final = re.compile(r"at most (?:about )?(\d{1,4}) lines", re.IGNORECASE)


def _explicit_budgets(rules: SpaceRules, files: tuple[BankFileName, ...]) -> dict[BankFileName, int]:
    found: dict[BankFileName, int] = {}
    for section in Document.parse(rules.text).sections:
        if "budget" not in section.key:
            continue
        for table in parse_tables(section.body):
            header = [normalize_heading(cell) for cell in table[0]] if table else []
            if not {"file", "tokens"} <= set(header):
                continue
            file_col, tokens_col = header.index("file"), header.index("tokens")
            for row in table[1:]:
                name = BankFileName(row[file_col].strip("`"))
                if name not in files:
                    raise InvalidInput(f"the budgets table names {name}, which the rules do not declare")
                cell = row[tokens_col].replace(",", "").replace("_", "").strip()
                if not cell.isdigit() or int(cell) < MIN_FILE_BUDGET_TOKENS:
                    raise InvalidInput(
                        f"the budget of {name} must be a whole number of tokens, at least "
                        f"{MIN_FILE_BUDGET_TOKENS} (got {row[tokens_col][:20]!r})"
                    )
                found[name] = int(cell)
    return found


def file_budgets(
    rules: SpaceRules, space_budget: int = DEFAULT_BANK_BUDGET_TOKENS
) -> dict[BankFileName, int]:
    """Each declared file's token budget (module docstring), in declaration order.

    A file never gets less than ``MIN_FILE_BUDGET_TOKENS``, so the sum may pass a very
    small space budget; explicit budgets are taken as written.

    Raises:
        InvalidInput: the budgets table names an undeclared file or a bad number.
    """
    files = rules.file_names()
    explicit = _explicit_budgets(rules, files)
    rest = [f for f in files if f not in explicit]
    budgets = dict(explicit)
    remaining = max(0, space_budget - sum(explicit.values()))
    if rest:
        share = remaining // len(rest)
        roles = rules.file_roles()
        lined: dict[BankFileName, int] = {}
        for name in rest:
            match = _LINES_RE.search(roles.get(name, ""))
            if match:
                lined[name] = min(share, int(match.group(1)) * TOKENS_PER_LINE)
        others = [f for f in rest if f not in lined]
        left = remaining - sum(lined.values())
        for name in rest:
            amount = lined[name] if name in lined else left // max(1, len(others))
            budgets[name] = max(MIN_FILE_BUDGET_TOKENS, amount)
    return {name: budgets[name] for name in files}


RULES_MAX_FILES: Final = 64
"""The most bank files a space's rules may declare (each consolidation plan writes them)."""


def check_rules(
    rules: SpaceRules, space_budget: int = DEFAULT_BANK_BUDGET_TOKENS
) -> Mapping[BankFileName, int]:
    """Validate the rules' declarations and tables; return the file budgets.

    Raises:
        InvalidInput: no declared file; more than ``RULES_MAX_FILES``; a file declared
            under ``archive/`` (reserved); a file whose name is also a folder of another
            (``notes.md`` and ``notes.md/detail.md``: no store holds both); a routing or
            budgets table that names an undeclared file or a bad value. Each message
            names the offending file.
    """
    files = rules.file_names()
    if not files:
        raise InvalidInput("the rules declare no bank file: add headings such as '## progress.md'")
    if len(files) > RULES_MAX_FILES:
        raise InvalidInput(
            f"the rules declare {len(files)} bank files; at most {RULES_MAX_FILES} are allowed"
        )
    values = {n.value for n in files}
    for value in sorted(values):
        parts = value.split("/")
        clash = sorted({"/".join(parts[:i]) for i in range(1, len(parts))} & values)
        if clash:
            raise InvalidInput(
                f"the rules declare {clash[0]} as a file and as the folder of {value}; rename one"
            )
    for name in files:
        if name.value.split("/", 1)[0] == ARCHIVE_FOLDER:
            raise InvalidInput(
                f"the rules declare {name}: the folder {ARCHIVE_FOLDER}/ is reserved for the archive"
            )
    RoutingTable.from_rules(rules)
    return file_budgets(rules, space_budget)
