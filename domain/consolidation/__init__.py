"""Consolidation policy: edit plans and their guards, Markdown sections, the extractive
router and views, budgets, the archive and batch packing. Pure: no I/O."""

from domain.consolidation.archive import Archive, archive_stem, is_archive_name, render_note_entry
from domain.consolidation.batching import BYTES_PER_TOKEN, Budget, estimate_tokens, pack_batches
from domain.consolidation.budget import (
    ARCHIVE_FOLDER,
    DEFAULT_BANK_BUDGET_TOKENS,
    check_rules,
    file_budgets,
)
from domain.consolidation.fitting import fit_bank
from domain.consolidation.journal import ConsumedNote, Journal, JournalState
from domain.consolidation.markdown import Document, Section, normalize_heading
from domain.consolidation.plan import EDIT_PLAN_SCHEMA, EditOp, EditPlan, OpKind, apply_plan
from domain.consolidation.policy import enforce_budget
from domain.consolidation.router import Route, RoutingTable, extractive_plan, render_bullet
from domain.consolidation.views import Topic, ViewInputs, extractive_views

__all__ = [
    "ARCHIVE_FOLDER",
    "BYTES_PER_TOKEN",
    "DEFAULT_BANK_BUDGET_TOKENS",
    "EDIT_PLAN_SCHEMA",
    "Archive",
    "Budget",
    "ConsumedNote",
    "Document",
    "EditOp",
    "EditPlan",
    "Journal",
    "JournalState",
    "OpKind",
    "Route",
    "RoutingTable",
    "Section",
    "Topic",
    "ViewInputs",
    "apply_plan",
    "archive_stem",
    "check_rules",
    "enforce_budget",
    "estimate_tokens",
    "extractive_plan",
    "extractive_views",
    "file_budgets",
    "fit_bank",
    "is_archive_name",
    "normalize_heading",
    "pack_batches",
    "render_bullet",
    "render_note_entry",
]
