"""Consolidation policy: edit plans and their guards, Markdown sections, the extractive
router and batch packing. Pure: no I/O."""

from domain.consolidation.batching import BYTES_PER_TOKEN, Budget, estimate_tokens, pack_batches
from domain.consolidation.journal import ConsumedNote, Journal, JournalState
from domain.consolidation.markdown import Document, Section, normalize_heading
from domain.consolidation.plan import EDIT_PLAN_SCHEMA, EditOp, EditPlan, OpKind, apply_plan
from domain.consolidation.router import Route, RoutingTable, extractive_plan, render_bullet

__all__ = [
    "BYTES_PER_TOKEN",
    "EDIT_PLAN_SCHEMA",
    "Budget",
    "ConsumedNote",
    "Journal",
    "JournalState",
    "Document",
    "EditOp",
    "EditPlan",
    "OpKind",
    "Route",
    "RoutingTable",
    "Section",
    "apply_plan",
    "estimate_tokens",
    "extractive_plan",
    "normalize_heading",
    "pack_batches",
    "render_bullet",
]
